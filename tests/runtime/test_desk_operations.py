"""Operations against a running desk, as an operator runs them: `fxpipe status --json`, `fxpipe
ctl` (kill switch on: answered, journaled, and no order leaves afterwards) and `fxpipe metrics`
scraped over loopback, while the desk trades against the venue simulator."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families
from session_doubles import free_port

import fxpipe.model.events as ev
from fxpipe.journal import JournalReader
from fxpipe.runtime.run import run_desk
from tests.runtime.desk_harness import ECN, DeskVenue, desk, layout, prefix


def fxpipe(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "fxpipe", *args], capture_output=True, text=True, timeout=timeout)


def new_orders_after_control(oms_dir) -> tuple[bool, int]:
    """In the oms's own journal (the order it applied things in): was a kill switch Control
    applied, and how many new orders went out after it."""
    from fxpipe.journal import layout as L

    seen, n = False, 0
    with JournalReader(oms_dir) as r:
        for rec in r.records():
            if rec.type == ev.EventType.CONTROL and rec.flags & L.FLAG_INPUT:
                seen = int(ev.read(bytearray(rec.payload))["command"]) == ev.ControlCommand.KILL_SWITCH_ON
            elif seen and rec.type == ev.EventType.ORDER_INTENT and rec.flags & L.FLAG_OUTPUT:
                if int(ev.read(bytearray(rec.payload))["action"]) == ev.IntentAction.NEW:
                    n += 1
    return seen, n


def test_status_ctl_and_metrics_against_a_running_desk(tmp_path):
    v = DeskVenue(tmp_path / "venue")
    d = desk(tmp_path, v, [{"strategy": "bench._t2t_strategy:EveryNthQuote", "strategy_id": 1,
                            "venue_id": ECN, "params": {"every": 3, "max_orders": 10_000}}])
    p = prefix()
    got: dict = {}

    def operator(sup):
        def go():
            try:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:        # trading has begun: orders in the status
                    r = fxpipe("status", "--prefix", p, "--json")
                    doc = json.loads(r.stdout) if r.returncode == 0 else {}
                    ops = doc.get("sections", {}).get("ops", {}).get("snapshot") or {}
                    if ops and json.dumps(ops).count("FILLED") + json.dumps(ops).count("CANCELED"):
                        got["status"] = doc
                        break
                    time.sleep(0.3)
                port = free_port()
                m = subprocess.Popen([sys.executable, "-m", "fxpipe", "metrics", "--prefix", p, "--port", str(port)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                try:
                    for _ in range(100):
                        try:
                            got["metrics"] = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
                            break
                        except OSError:
                            time.sleep(0.1)
                finally:
                    m.terminate()
                    m.wait(10)
                r = fxpipe("ctl", "--prefix", p, "kill-switch", "on")
                got["ctl"] = r
                got["ctl_at"] = time.monotonic()
                time.sleep(2.0)                             # quotes keep coming; nothing may leave
            finally:
                got["done"] = True
        threading.Thread(target=go, daemon=True).start()

    try:
        run_desk(layout("fused"), d, prefix=p, duration_s=120, on_started=operator,
                 until=lambda: got.get("done", False), alarm=lambda t: None)
    finally:
        v.stop()
    doc = got["status"]
    assert {r["name"].split(".")[-1] for r in doc["rings"]} >= {"md", "intent", "exec", "control"}
    sup = doc["sections"]["supervisor"]["snapshot"]
    assert {w["name"] for w in sup["workers"]} == {"trader", "journal"}
    families = {f.name for f in text_string_to_metric_families(got["metrics"])}
    assert any("ring" in n for n in families) and any("order" in n or "event" in n for n in families), families
    r = got["ctl"]
    assert r.returncode == 0, r.stdout + r.stderr
    assert "KILL_SWITCH_ON" in r.stdout and "done" in r.stdout
    # the Control is in the journal (the system of record) and in the oms's, and after it no new
    # order left the oms
    with JournalReader(d.journal_dir) as rd:
        controls = [ev.read(bytearray(rec.payload)) for rec in rd.records() if rec.type == ev.EventType.CONTROL]
    assert [int(c["command"]) for c in controls] == [ev.ControlCommand.KILL_SWITCH_ON]
    applied, after = new_orders_after_control(d.oms_dir)
    assert applied and after == 0
