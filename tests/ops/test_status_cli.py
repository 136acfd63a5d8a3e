"""`fxpipe status` against real rings and real status writers: the JSON document and the rich
tables show ring cursors and lags, both sections, latency, sessions, positions, risk, workers."""
from __future__ import annotations

import argparse
import json

import pytest
from opsdata import create_rings, stream
from rich.console import Console

import fxpipe.model.events as ev
from fxpipe.model.refdata import load_refdata
from fxpipe.ops import cli as ops_cli
from fxpipe.ops.host import OpsPublisher
from fxpipe.ops.status import collect, render
from fxpipe.ops.status_shm import StatusWriter

SUPERVISOR = {"workers": [{"name": "feed", "pid": 4242, "alive": True, "restarts": 0, "state": "alive"},
                          {"name": "oms", "pid": 4243, "alive": False, "restarts": 2, "state": "dead"}],
              "alarms": [{"kind": "worker_dead", "text": "oms died"}]}


@pytest.fixture
def running(prefix):
    rings = create_rings(prefix)
    p = rings["md"].producer()
    for e in stream()[:5]:
        p.send(e.tobytes())
    j = rings["md"].consumer("journal")
    for _ in range(3):
        j.recv()
    j.release()
    ops = OpsPublisher(prefix, load_refdata(), raise_alarms=False)
    ops.on_batch(stream())
    ops.publish()
    sup = StatusWriter(prefix, "supervisor")
    sup.write(SUPERVISOR)
    yield prefix
    ops.close()
    sup.close()
    for r in rings.values():
        r.close(unlink=True)


def status(prefix, *argv):
    parser = argparse.ArgumentParser(prog="fxpipe")
    ops_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["status", "--prefix", prefix, *argv])
    return args.func(args)


def test_json_shows_rings_lags_and_every_section(capsys, running):
    assert status(running, "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    rings = {r["name"]: r for r in doc["rings"]}
    md = rings[f"{running}.md"]
    assert md["state"] == "ok" and md["cursor"] == 4
    lags = {c["name"]: c["lag"] for c in md["consumers"]}
    assert lags == {"journal": 2, "decision": 5}
    assert rings[f"{running}.control"]["producer_mode"] == "multi"
    ops = doc["sections"]["ops"]
    assert ops["state"] == "ok" and ops["snapshot"]["events"]["total"] == len(stream())
    assert ops["snapshot"]["risk"]["kill_switch"]["global"] is True
    assert doc["sections"]["supervisor"]["snapshot"] == SUPERVISOR


def test_rich_tables_show_what_an_operator_looks_for(running):
    console = Console(record=True, width=220)
    console.print(render(collect(running)))
    text = console.export_text()
    for expected in (f"rings {running}.*", "intent", "control", "decision (declared)", "tick_to_trade", "receive_to_decode",
                     "DISCONNECTED", "HEARTBEAT_TIMEOUT", "EUR/USD", "USD/JPY", "1000000", "-1200.00",
                     "kill switch (global)", "strategy 8 stopped", "paused", "MAX_ORDER_QTY",
                     "session_down", "workers", "oms", "dead", "worker_dead", "status sections"):
        assert expected in text, expected


def test_once_renders_and_exits(capsys, running):
    assert status(running, "--once") == 0
    out = capsys.readouterr().out
    assert f"fxpipe {running}: {len(stream())} events" in out


def test_nothing_running_is_reported_absent_not_an_error(capsys, prefix):
    assert status(prefix, "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert {r["state"] for r in doc["rings"]} == {"absent"}
    assert doc["sections"]["ops"]["state"] == "absent" and doc["sections"]["supervisor"]["state"] == "absent"
    console = Console(record=True, width=200)
    console.print(render(collect(prefix)))
    assert "absent" in console.export_text()


def test_a_ring_that_is_not_a_ring_is_shown_with_its_error(capsys, prefix):
    from fxpipe.ring import segment

    path = segment.segment_path(f"{prefix}.exec")
    path.write_bytes(b"\0" * 4096)
    path.chmod(0o600)
    assert status(prefix, "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    bad = [r for r in doc["rings"] if r["name"] == f"{prefix}.exec"][0]
    assert bad["state"] == "error" and bad["detail"]


def test_bad_interval_is_refused(prefix):
    from fxpipe.cli import CliError

    with pytest.raises(CliError, match="--interval must be > 0"):
        status(prefix, "--interval", "0")


def test_status_reads_without_attaching_as_consumer_or_producer(running):
    before = {r["name"]: r for r in collect(running)["rings"]}
    after = {r["name"]: r for r in collect(running)["rings"]}
    for name, r in before.items():
        assert [c["name"] for c in r["consumers"]] == [c["name"] for c in after[name]["consumers"]]
        assert r["producer"]["pid"] == after[name]["producer"]["pid"]
    assert ev.SLOT_SIZE == 192


def test_the_fxpipe_command_line_prints_the_same_document(running):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    res = subprocess.run([sys.executable, "-m", "fxpipe", "status", "--prefix", running, "--json"],
                         capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(root / "src")),
                         timeout=120)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["sections"]["ops"]["snapshot"]["events"]["total"] == len(stream())
    assert doc["sections"]["supervisor"]["writer_alive"] is True     # the writer is this test process
