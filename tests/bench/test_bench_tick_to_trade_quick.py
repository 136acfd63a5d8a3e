"""Smoke test of `./scripts/bench tick-to-trade`: its smallest configuration (the fused layout,
one paced rate for a second, a short burst, no peer) against a real desk under the supervisor.
No timing is asserted (timing belongs in bench/); what is checked is that orders came back to
the harness's venue mapped to the quotes that caused them, that the journal's hop stamps joined
them, that every row the benchmark promises is in its JSON, and that nothing is left behind."""
import json
import os
import socket
import time
from pathlib import Path

from bench import tick_to_trade
from bench._t2t_venue import recv_stamped, stamp_arrivals

ROWS = ("t2t_fused_1k_orders", "t2t_fused_1k_p50", "t2t_fused_1k_p99", "t2t_fused_1k_p99.9",
        "t2t_fused_1k_corrected_p50", "t2t_fused_1k_corrected_p99", "t2t_fused_1k_hop_receive_send_p50",
        "t2t_fused_1k_hop_wire_in_p50", "t2t_fused_1k_hop_wire_out_p50", "burst_fused_quote_events_per_s",
        "burst_fused_lost_at_socket", "burst_fused_updates_absorbed_per_s", "t2t_fused_1k_trader_page_faults",
        "t2t_fused_1k_trader_preempted", "t2t_fused_1k_trader_blocked")


def _rings():
    return {p.name for p in Path("/dev/shm").glob("fxpipe*t2t*")}


def test_smallest_run_reports_every_row_with_orders_mapped_to_their_quotes(tmp_path):
    before, affinity = _rings(), os.sched_getaffinity(0)
    out = tmp_path / "t2t.json"
    rc = tick_to_trade.main(["--quick", "--layouts", "fused,pinned", "--rates", "1000", "--seconds", "1",
                             "--burst-seconds", "0.5", "--every", "2", "--no-peer", "--json", str(out),
                             "--plot", str(tmp_path / "t2t.png")])
    assert rc == 0
    record = json.loads(out.read_text())
    rows = {r["metric"]: r for r in record["results"]}
    missing = [m for m in ROWS if m not in rows]
    assert not missing, (missing, sorted(rows))
    assert rows["t2t_fused_1k_orders"]["value"] > 0
    assert "t2t_fused_1k_orders_unmatched" not in rows
    assert rows["t2t_fused_1k_p50"]["unit"] == "us" and rows["t2t_fused_1k_p50"]["value"] > 0
    # the corrected figure counts from the schedule, never after the actual send
    assert rows["t2t_fused_1k_corrected_p99"]["value"] >= rows["t2t_fused_1k_p50"]["value"] or \
        rows["t2t_fused_1k_corrected_max"]["value"] >= rows["t2t_fused_1k_max"]["value"]
    if len(affinity) < 4:
        assert rows["t2t_pinned"]["value"].startswith("not run: needs 4 cores")
    assert record["hop_percentiles"]["fused"]["receive→send"]["count"] > 0
    assert Path(record["plots"]["fused"]).exists()
    assert os.sched_getaffinity(0) == affinity
    assert _rings() == before, "the desk left ring segments behind"
    # orders are stamped by the kernel on arrival (only the logon's read, before the socket was
    # asked to stamp, may carry the harness's clock)
    assert rows["fused_reads_stamped_by_the_harness_clock"]["value"] <= 1


def test_an_order_is_stamped_when_it_arrives_not_when_the_harness_reads_it():
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        with socket.create_connection(srv.getsockname()) as tx:
            rx, _ = srv.accept()
            with rx:
                assert stamp_arrivals(rx)
                sent = time.time_ns()
                tx.sendall(b"8=FIX.4.2|35=D|")
                time.sleep(0.05)                 # the harness busy elsewhere for 50 ms
                data, arrived, by_kernel = recv_stamped(rx)
                read = time.time_ns()
    assert data == b"8=FIX.4.2|35=D|" and by_kernel
    assert sent <= arrived < sent + 40_000_000 <= read
