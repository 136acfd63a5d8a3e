"""The whole flow under the supervisor against the real venue simulator: a quote on the ECN's
binary feed socket becomes an order on the ECN's FIX socket and its fill comes back into
positions, in the fused and compact layouts; everything is in the journal; the oms's own
journal replays to the same state; nothing is sent twice."""
from __future__ import annotations

import time

import pytest
from test_oms_kill9_recovery import venue_record

import fxpipe.model.events as ev
from fxpipe.replay.replayer import replay_journal
from fxpipe.runtime.run import run_desk
from tests.runtime.desk_harness import (
    ECN,
    DeskVenue,
    desk,
    layout,
    prefix,
)

TAKER = {"strategy": "bench._t2t_strategy:EveryNthQuote", "strategy_id": 1, "venue_id": ECN,
         "params": {"every": 5, "max_orders": 12}}


def orders_done(journal_dir, n):
    """until(): the journal shows n orders answered (each IOC ends FILLED, CANCELED or REJECTED)."""
    from fxpipe.journal import JournalReader

    def check() -> bool:
        if not journal_dir.exists():
            return False
        done = set()
        try:
            with JournalReader(journal_dir) as r:
                for rec in r.records():
                    if rec.type == ev.EventType.ORDER_UPDATE:
                        e = ev.read(bytearray(rec.payload))
                        if int(e["ord_status"]) in (ev.OrdStatus.FILLED, ev.OrdStatus.CANCELED, ev.OrdStatus.REJECTED):
                            done.add(int(e["cl_ord_id"]))
        except Exception:        # noqa: BLE001 - a record being written: look again later
            return False
        return len(done) >= n
    last = [0.0]

    def throttled() -> bool:
        now = time.monotonic()
        if now - last[0] < 0.5:
            return False
        last[0] = now
        return check()
    return throttled


@pytest.mark.parametrize("kind", ["fused", "compact"])
def test_quote_on_the_feed_becomes_an_order_at_the_venue_and_a_position(tmp_path, kind):
    v = DeskVenue(tmp_path / "venue")
    d = desk(tmp_path, v, [TAKER])
    alarms: list[str] = []
    try:
        summary = run_desk(layout(kind), d, prefix=prefix(), duration_s=60,
                           until=orders_done(d.journal_dir, 12), alarm=alarms.append)
    finally:
        v.stop()
    news, fills, _ = venue_record(tmp_path / "venue" / "venue-log" / "ecn-FXPIPE.messages.log")
    # every order the oms sent reached the venue once; the others it refused itself (the venue's
    # session was not up yet when the strategy first traded) and said so
    assert len(news) == len(set(news)) == summary.requests > 0, (news, summary.text())
    refused = sum(v for k, v in summary.rejects.items() if k.startswith("oms refused"))
    assert summary.orders == 12 == summary.requests + refused, summary.text()
    # positions equal what the venue filled
    net = sum(q if side == "1" else -q for side, q in fills.values())
    pos = sum(int(p["net_qty_e2"]) for p in summary.positions.values())
    assert pos == net, (pos, net, summary.text())
    assert summary.fills == len(fills)
    # the per-hop stamps are all there, from the feed socket to the order socket
    assert summary.hop_percentiles()["receive→send"]["count"] == summary.requests
    # the oms's write-ahead journal replays to the same outputs and state hash
    rep = replay_journal(d.oms_dir)
    assert rep.ok, rep.divergence
    assert not [a for a in alarms if "exited" in a], alarms


@pytest.mark.parametrize("idle_marks_ms", [1.0, 0])
def test_a_quiet_trader_hands_the_oms_its_marks_without_an_intent_or_a_timer(tmp_path, idle_marks_ms):
    """A trader that idles hands the oms the marks it has not had yet (at most every
    millisecond), so the oms's risk sees current marks while no strategy trades and no timer
    fires: with a strategy that never trades and a timer an hour away, the oms's write-ahead
    journal still takes the quotes' marks, and no more of them than quotes came. Turned off
    (oms_idle_marks_ms = 0), the same quiet desk hands the oms no marks over time."""
    from tests.runtime.desk_harness import journal_events

    v = DeskVenue(tmp_path / "venue")
    d = desk(tmp_path, v, [{"strategy": "bench._t2t_strategy:CountQuotes", "strategy_id": 1, "venue_id": ECN}],
             timer_period_ms=3_600_000, oms_idle_marks_ms=idle_marks_ms)

    def span_ns(marks) -> int:
        stamps = [int(m["ts_receive_ns"]) for m in marks]
        return max(stamps) - min(stamps) if stamps else 0

    def marks_over_a_second() -> bool:
        """The oms's journal holds marks received over a second: handed over as they came, not
        once (at the start or the stop)."""
        if not d.oms_dir.exists():
            return False
        try:
            return span_ns(journal_events(d.oms_dir, ev.EventType.QUOTE)) >= 1_000_000_000
        except Exception:        # noqa: BLE001 - a record being written: look again later
            return False

    try:
        summary = run_desk(layout("fused"), d, prefix=prefix(), duration_s=30 if idle_marks_ms else 4,
                           until=marks_over_a_second)
    finally:
        v.stop()
    marks = journal_events(d.oms_dir, ev.EventType.QUOTE)
    assert not journal_events(d.oms_dir, ev.EventType.ORDER_INTENT) and summary.quotes > 100
    if not idle_marks_ms:
        assert span_ns(marks) < 1_000_000_000, span_ns(marks)
        return
    assert span_ns(marks) >= 1_000_000_000
    assert len(marks) <= summary.quotes, (len(marks), summary.quotes)
    assert summary.intents == 0
