"""`fxpipe metrics` scraped over loopback and parsed as Prometheus text."""
from __future__ import annotations

import urllib.request

import pytest
from opsdata import create_rings, stream
from prometheus_client.parser import text_string_to_metric_families

from fxpipe.model.refdata import load_refdata
from fxpipe.ops.host import OpsPublisher
from fxpipe.ops.metrics import serve
from fxpipe.ops.status_shm import StatusWriter


def scrape(prefix):
    server, thread = serve(prefix, port=0, addr="127.0.0.1")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/metrics", timeout=10) as resp:
            assert resp.status == 200
            text = resp.read().decode()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    samples = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


@pytest.fixture
def running(prefix):
    rings = create_rings(prefix)
    p = rings["md"].producer()
    for e in stream()[:5]:
        p.send(e.tobytes())
    ops = OpsPublisher(prefix, load_refdata(), raise_alarms=False)
    ops.on_batch(stream())
    ops.publish()
    sup = StatusWriter(prefix, "supervisor")
    sup.write({"workers": [{"name": "oms", "pid": 1, "alive": False, "restarts": 3}]})
    yield prefix
    ops.close()
    sup.close()
    for r in rings.values():
        r.close(unlink=True)


def test_scrape_has_rings_events_latency_sessions_positions_pnl_risk_and_workers(running):
    m = scrape(running)
    P = running
    assert m[("fxpipe_ring_consumer_lag", (("consumer", "decision"), ("ring", f"{P}.md")))] == 5
    assert m[("fxpipe_ring_cursor", (("ring", f"{P}.md"),))] == 4
    assert m[("fxpipe_ring_consumer_alive", (("consumer", "journal"), ("ring", f"{P}.md")))] == 0   # declared only
    assert m[("fxpipe_events_total", (("type", "FILL"),))] == 4
    assert m[("fxpipe_hop_latency_seconds_count", (("hop", "tick_to_trade"),))] == 1
    assert m[("fxpipe_hop_latency_seconds_sum", (("hop", "tick_to_trade"),))] == pytest.approx(20_800e-9)
    assert m[("fxpipe_hop_latency_seconds_bucket", (("hop", "tick_to_trade"), ("le", "2e-05")))] == 0
    assert m[("fxpipe_hop_latency_seconds_bucket", (("hop", "tick_to_trade"), ("le", "5e-05")))] == 1
    assert m[("fxpipe_hop_latency_quantile_seconds", (("hop", "decide_to_risk"), ("quantile", "0.5")))] \
        == pytest.approx(2e-6, rel=1e-3)
    assert m[("fxpipe_session_up", (("kind", "ORDERS"), ("state", "DISCONNECTED"), ("venue", "ECN1")))] == 0
    assert m[("fxpipe_position_net", (("instrument", "EUR/USD"), ("strategy", "7")))] == 1_000_000
    assert m[("fxpipe_pnl_realized", (("ccy", "USD"), ("strategy", "7")))] == 2.5
    assert m[("fxpipe_pnl_total_reporting", (("ccy", "USD"), ("strategy", "7")))] == pytest.approx(-1198.0)
    assert m[("fxpipe_kill_switch", (("strategy", "0"),))] == 1
    assert m[("fxpipe_kill_switch", (("strategy", "8"),))] == 1
    assert m[("fxpipe_strategy_paused", (("strategy", "9"),))] == 1
    assert m[("fxpipe_risk_rejects_total", (("check", "MAX_ORDER_QTY"),))] == 2
    assert m[("fxpipe_alarms_total", (("kind", "session_down"),))] == 1
    assert m[("fxpipe_orders_open", (("status", "PENDING_NEW"),))] == 1
    assert m[("fxpipe_worker_up", (("worker", "oms"),))] == 0
    assert m[("fxpipe_worker_restarts_total", (("worker", "oms"),))] == 3
    assert m[("fxpipe_status_section_up", (("section", "ops"), ("state", "ok")))] == 1


def test_scrape_with_nothing_running_says_so(prefix):
    m = scrape(prefix)
    assert m[("fxpipe_status_section_up", (("section", "ops"), ("state", "absent")))] == 0
    assert m[("fxpipe_ring_present", (("ring", f"{prefix}.control"),))] == 0
    assert not any(k[0].startswith("fxpipe_events") for k in m)


def test_busy_port_is_a_clear_error(prefix):
    import argparse

    from fxpipe.cli import CliError
    from fxpipe.ops import cli as ops_cli

    server, thread = serve(prefix, port=0)
    try:
        parser = argparse.ArgumentParser()
        ops_cli.register(parser.add_subparsers(dest="command"))
        args = parser.parse_args(["metrics", "--prefix", prefix, "--port", str(server.server_port)])
        with pytest.raises(CliError, match="cannot listen on 127.0.0.1"):
            args.func(args)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_the_fxpipe_metrics_process_serves_on_loopback(running):
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    p = subprocess.Popen([sys.executable, "-u", "-m", "fxpipe", "metrics", "--prefix", running, "--port", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, PYTHONPATH=str(root / "src")))
    try:
        line = p.stdout.readline()
        port = int(re.search(r"127\.0\.0\.1:(\d+)/metrics", line).group(1))
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as resp:
            fams = {f.name: f for f in text_string_to_metric_families(resp.read().decode())}
        (kill,) = [s for s in fams["fxpipe_kill_switch"].samples if s.labels == {"strategy": "0"}]
        assert kill.value == 1
    finally:
        p.terminate()
        p.wait(30)
