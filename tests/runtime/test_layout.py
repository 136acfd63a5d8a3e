"""Layouts: the shipped ones parse, and every way a layout can be wrong for this host is
refused with where and what to do."""
from __future__ import annotations

from pathlib import Path

import pytest

from fxpipe.cli import main as cli_main
from fxpipe.runtime.layout import HostCores, LayoutError, load, parse, shipped, suited

TWO = HostCores(frozenset({0, 1}), frozenset({0, 1}), frozenset())
EIGHT = HostCores(frozenset(range(8)), frozenset(range(8)), frozenset({4, 5, 6}))

RINGS = {"md": {"slots": 1024, "wait": "block"}, "intent": {"slots": 1024}, "exec": {"slots": 1024}}


def layout(**processes) -> dict:
    return {"name": "t", "rings": RINGS, "processes": processes}


FUSED = {"trader": {"stages": ["feed", "decision", "oms"], "core": -1, "wait": "spin"},
         "journal": {"stages": ["journal"], "core": -2, "wait": "block"}}


def refused(raw: dict, host: HostCores = TWO) -> str:
    with pytest.raises(LayoutError) as exc:
        parse(raw, Path("x.toml"), host)
    return str(exc.value)


def test_shipped_layouts_are_pinned_compact_fused_and_fit_their_hosts():
    assert shipped() == ["compact", "fused", "pinned"]
    for name in ("compact", "fused"):
        lay = load(name, TWO)
        assert set(lay.cores()) <= {0, 1}
    fused = load("fused", TWO)
    assert fused.process_of("oms").stages == ("feed", "decision", "oms") and fused.process_of("oms").fused
    pinned = load("pinned", EIGHT)
    assert [pinned.process_of(s).core for s in ("feed", "decision", "oms", "journal")] == [4, 5, 6, 7]
    assert suited(TWO) == "fused" and suited(EIGHT) == "pinned"


def test_pinned_on_two_cores_says_it_needs_more():
    with pytest.raises(LayoutError, match="may use only 2 cores"):
        load("pinned", TWO)


def test_core_that_does_not_exist_or_is_not_allowed():
    assert "core 7 does not exist on this host" in refused(layout(**{**FUSED, "trader": {**FUSED["trader"], "core": 7}}))
    host = HostCores(frozenset({0, 1, 2}), frozenset({0, 1}), frozenset())
    assert "core 2 is not allowed" in refused(layout(**{**FUSED, "trader": {**FUSED["trader"], "core": 2}}), host)


def test_isolated_core_required_but_not_isolated():
    raw = layout(**{**FUSED, "trader": {**FUSED["trader"], "core": 3, "isolated": True}})
    assert "core 3 is not isolated (isolated: 4,5,6" in refused(raw, EIGHT)
    raw["processes"]["trader"]["core"] = 4
    assert parse(raw, Path("x.toml"), EIGHT).process_of("feed").core == 4


def test_spinners_sharing_a_core_are_refused():
    raw = layout(**{**FUSED, "journal": {"stages": ["journal"], "core": -1, "wait": "block"}})
    assert "share core 1 but trader busy-spins" in refused(raw)


def test_stages_missing_twice_unknown_or_fused_out_of_order():
    raw = layout(a={"stages": ["feed", "oms"], "core": 0, "wait": "block"},
                 b={"stages": ["decision", "oms", "risk"], "core": 1, "wait": "block"})
    msg = refused(raw)
    assert "stage 'oms' is already in process 'a'" in msg
    assert "unknown stage 'risk'" in msg
    assert "fused stages must be neighbours in flow order" in msg
    assert "stage 'journal' is in no process" in msg
    raw = layout(**{**FUSED, "journal": {"stages": ["oms", "journal"], "core": 0}})
    assert "cannot be fused" in refused(raw)


def test_ring_sizes_and_waits_are_checked():
    raw = layout(**FUSED)
    raw["rings"] = {"md": {"slots": 1000}, "intent": {"slots": 64, "wait": "nap"}, "bogus": {}}
    msg = refused(raw)
    assert "[rings.md] slots = 1000: must be a power of two" in msg
    assert "[rings.intent] wait = 'nap'" in msg
    assert "[rings.exec] is missing" in msg and "[rings.bogus]: unknown ring" in msg


def test_bad_file_gives_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'x'\n[processes.trader\n")
    with pytest.raises(LayoutError, match="not valid TOML"):
        load(str(bad), TWO)
    with pytest.raises(LayoutError, match="shipped layouts: compact, fused, pinned"):
        load("nonesuch", TWO)
    assert cli_main(["layout", str(bad)]) == 2
    assert "not valid TOML" in capsys.readouterr().err
    assert cli_main(["layout", "fused"]) == 0
    assert "feed → decision → oms (fused)" in capsys.readouterr().out


def test_order_path_warming_defaults_to_spinning_oms_processes_and_is_checked():
    lay = parse(layout(**FUSED), Path("x.toml"), TWO)
    assert lay.processes["trader"].warm_order_path_us == 20 and lay.processes["journal"].warm_order_path_us == 0
    off = parse(layout(**{**FUSED, "trader": {**FUSED["trader"], "warm_order_path_us": 0}}), Path("x.toml"), TWO)
    assert off.processes["trader"].warm_order_path_us == 0
    blocking = {**FUSED, "trader": {**FUSED["trader"], "wait": "block"}}
    assert parse(layout(**blocking), Path("x.toml"), TWO).processes["trader"].warm_order_path_us == 0
    for bad, says in ((-1, "must be microseconds from 0"), (True, "must be microseconds from 0"),
                      ("20", "must be microseconds from 0"), (2_000_000, "must be microseconds from 0")):
        assert says in refused(layout(**{**FUSED, "trader": {**FUSED["trader"], "warm_order_path_us": bad}}))
    msg = refused(layout(**{**blocking, "trader": {**blocking["trader"], "warm_order_path_us": 20}}))
    assert "warmed while the process spins" in msg
    split = layout(a={"stages": ["feed", "decision"], "core": 0, "wait": "spin", "warm_order_path_us": 20},
                   b={"stages": ["oms"], "core": 1, "wait": "block"}, j={"stages": ["journal"], "core": 1})
    assert "only the process running the oms sends orders" in refused(split)


def test_send_path_warming_defaults_to_spinning_oms_processes_and_is_checked():
    lay = parse(layout(**FUSED), Path("x.toml"), TWO)
    assert lay.processes["trader"].warm_send_path_us == 100 and lay.processes["journal"].warm_send_path_us == 0
    off = parse(layout(**{**FUSED, "trader": {**FUSED["trader"], "warm_send_path_us": 0}}), Path("x.toml"), TWO)
    assert off.processes["trader"].warm_send_path_us == 0 and off.processes["trader"].warm_order_path_us == 20
    assert "warm_send_path_us = -5: must be microseconds" in refused(
        layout(**{**FUSED, "trader": {**FUSED["trader"], "warm_send_path_us": -5}}))
    blocking = {**FUSED, "trader": {**FUSED["trader"], "wait": "block", "warm_send_path_us": 100}}
    assert "warm_send_path_us = 100: the order path is warmed while the process spins" in refused(layout(**blocking))
