"""config/oms.toml: loaded into VenueLinks and the OmsStage's keyword arguments, matching the
venue simulator's config/venues.toml out of the box; every bad field is refused with the file,
the key and what to write instead."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from fxpipe.oms.config import OmsConfigError, load_oms_config, parse_oms_config
from fxpipe.oms.stage import OmsStage

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
GOOD = (CONFIG / "oms.toml").read_text()


def parse(text):
    return parse_oms_config(text, "oms.toml", base_dir=CONFIG)


def test_desk_config_builds_venue_links_and_a_stage():
    cfg = load_oms_config(CONFIG / "oms.toml")
    assert [(v.venue_id, v.kind, v.port, v.target_comp_id) for v in cfg.venues] == \
        [(1, "ecn", 9878, "ECN1"), (2, "lp", 9879, "LP1")]
    assert cfg.request_timeout_ms == 2000 and cfg.fsync == "every:64/10ms"
    stage = OmsStage(**cfg.stage_config)
    assert stage.router is not None
    assert [(r.venue_id, r.hold_ms, r.reject_rate_bp) for r in stage.router.config.venues] == \
        [(1, 0, 0), (2, 8, 500)]
    assert OmsStage.from_config(stage.config()).config() == stage.config()


def test_desk_config_matches_the_venue_simulators_ports_and_comp_ids():
    sim = tomllib.loads((CONFIG / "venues.toml").read_text())["venues"]
    cfg = load_oms_config(CONFIG / "oms.toml")
    by_comp = {t["comp_id"]: t for t in sim.values()}
    for link in cfg.venues:
        served = by_comp[link.target_comp_id]
        assert served["port"] == link.port
        assert link.sender_comp_id in served["clients"]


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(OmsConfigError, match="no such OMS configuration file"):
        load_oms_config(tmp_path / "nope.toml")


def test_broken_toml_is_refused():
    with pytest.raises(OmsConfigError, match="not valid TOML"):
        parse("[oms\nprefix = 1")


def replace(old, new):
    assert old in GOOD
    return GOOD.replace(old, new, 1)


@pytest.mark.parametrize("text, says", [
    (replace("prefix = 1 ", "prefix = 0 "), "oms.prefix: must be a whole number 1..9223370"),
    (replace("prefix = 1 ", "prefix = \"1\" "), "oms.prefix"),
    (replace("request_timeout_ms = 2000", "request_timeout_ms = -1"), "oms.request_timeout_ms"),
    (replace('fsync = "every:64/10ms"', 'fsync = "sometimes"'), "oms.fsync: unknown fsync policy"),
    (replace('session_fsync = "interval"', 'session_fsync = "often"'), "oms.session_fsync"),
    (replace('accounting = "average"', 'accounting = "lifo"'), "oms.accounting"),
    (replace('refdata = "refdata.toml"', 'refdata = "missing.toml"'), "oms.refdata: cannot read"),
    (replace('risk = "risk.toml"', 'risk = "refdata.toml"'), "oms.risk"),
    (replace("[oms]\n", "[oms]\ncolour = 1\n"), "oms.colour: unknown key"),
    (replace("stale_ms = 2000", "stale_ms = 0"), "routing.stale_ms"),
    (replace('adverse_pips_per_s = "0.16"', 'adverse_pips_per_s = "fast"'), "routing.adverse_pips_per_s"),
    (replace('adverse_pips_per_s = "0.16"', "adverse_pips_per_s = true"), "routing.adverse_pips_per_s"),
    (replace("[venues.ECN1]", "[venues.ECN9]"), "venues.ECN9: unknown venue"),
    (replace("id = 1\n", "id = 3\n"), "venues.ECN1.id: the reference data gives ECN1 id 1, not 3"),
    (replace('kind = "ecn"', 'kind = "lp"'), "venues.ECN1.kind: the reference data says"),
    (replace('kind = "ecn"', 'kind = "dark"'), "venues.ECN1.kind: must be one of"),
    (replace("port = 9878", "port = 70000"), "venues.ECN1.port"),
    (replace("port = 9878", "port = 9879"), "venues.LP1.port: 127.0.0.1:9879 is already"),
    (replace('target_comp_id = "ECN1"', 'target_comp_id = ""'), "venues.ECN1.target_comp_id"),
    (replace('target_comp_id = "ECN1"\n', ""), "venues.ECN1.target_comp_id: missing"),
    (replace("last_look_hold_ms = 8", "last_look_hold_ms = -8"), "venues.LP1.last_look_hold_ms"),
    (replace('reject_rate = "0.05"', 'reject_rate = "1"'), "venues.LP1.reject_rate: must be below 1"),
    (replace('reject_rate = "0.05"', 'reject_rate = 0.05'), "venues.LP1.reject_rate: must be a quoted"),
    (replace('reject_rate = "0.05"', 'reject_rate = "0.000001"'), "venues.LP1.reject_rate"),
    (replace("[venues.LP1]", "[venues.LP1]\nroute = \"yes\""), "venues.LP1.route"),
    (replace("[venues.LP1]", "[venues.LP1]\nspeed = 1"), "venues.LP1.speed: unknown key"),
    (GOOD + "\n[extra]\n", "extra: unknown table"),
])
def test_bad_field_is_refused_with_file_and_key(text, says):
    with pytest.raises(OmsConfigError, match="^oms.toml: " + says.replace(".", r"\.").replace("(", r"\(")):
        parse(text)


def test_no_venue_is_refused():
    text = GOOD.split("[venues.ECN1]")[0]
    with pytest.raises(OmsConfigError, match="venues: at least one venue"):
        parse(text)


def test_venue_left_out_of_routing_is_still_an_order_session():
    cfg = parse(replace("[venues.LP1]", "[venues.LP1]\nroute = false"))
    assert [v.venue_id for v in cfg.venues] == [1, 2]
    assert [r["venue_id"] for r in cfg.stage_config["routing"]["venues"]] == [1]
