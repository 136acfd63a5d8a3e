"""Deterministic trading events for the QuestDB sink tests: every value follows from the event's
position, so a test can check any row QuestDB holds against the event it came from."""
from __future__ import annotations

import fxpipe.model.events as ev
from fxpipe.journal import Journal

T0 = 1_764_745_200_000_000_000          # 2025-12-03T07:00:00Z
E = ev.EventType


def event(i: int):
    """The i-th event (from 0): mostly quotes, with intents, updates, fills, positions, PnL and
    latency samples among them, as a trading session journals them."""
    ts = T0 + i * 1_000_003
    hdr = {"venue_id": 1 + i % 3, "instrument_id": 1 + i % 8, "sequence": i + 1, "ts_receive_ns": ts}
    kind = i % 10
    if kind == 1:
        return ev.make(E.ORDER_INTENT, **hdr, ts_decide_ns=ts + 500, cl_ord_id=1000 + i, price_e8=108_505_000 + i,
                       qty_e2=100_000_00, strategy_id=7, action=ev.IntentAction.NEW, side=ev.Side.BUY,
                       ord_type=ev.OrdType.LIMIT, time_in_force=ev.TimeInForce.IOC, trigger_seq=i)
    if kind == 2:
        return ev.make(E.ORDER_UPDATE, **hdr, ts_venue_ns=ts - 7, cl_ord_id=1000 + i, order_qty_e2=100_000_00,
                       price_e8=108_505_000, cum_qty_e2=40_000_00, leaves_qty_e2=60_000_00, avg_px_e8=108_504_000,
                       strategy_id=7, ord_status=ev.OrdStatus.PARTIALLY_FILLED,
                       exec_type=ev.ExecType.PARTIAL_FILL, report_kind=ev.ReportKind.EXECUTION,
                       side=ev.Side.SELL, order_id=f"ORD-{i}-\"q\",= x".encode())
    if kind == 3:
        return ev.make(E.FILL, **hdr, ts_venue_ns=ts - 9, cl_ord_id=1000 + i, last_qty_e2=40_000_00,
                       last_px_e8=15_125_300_000, commission_e4=-12_3456, strategy_id=7, settl_date=20251205,
                       side=ev.Side.BUY, exec_trans_type=ev.ExecTransType.NEW, liquidity=ev.Liquidity.ADDED,
                       commission_ccy=b"USD", exec_id=f"EXEC-{i:08d}".encode())
    if kind == 4:
        return ev.make(E.POSITION_UPDATE, **hdr, net_qty_e2=-(2**62) + i, avg_px_e8=108_504_000,
                       mark_px_e8=108_506_000, realized_pnl_e4=-123_456_789_0123, unrealized_pnl_e4=5,
                       rpt_rate_e8=100_000_000, cause_seq=i, strategy_id=7,
                       reason=ev.PositionReason.FILL, rpt_ccy=b"USD")
    if kind == 5:
        return ev.make(E.PNL, **hdr, realized_e4=2**62 + i, unrealized_e4=-1, strategy_id=7,
                       pnl_kind=ev.PnlKind.TOTAL,
                       ccy=b"USD", rpt_ccy=b"USD")
    if kind == 6:
        return ev.make(E.LATENCY_SAMPLE, **hdr, latency_ns=1234 + i, ref_seq=i,
                       hop=list(ev.LatencyHop)[i % len(ev.LatencyHop)], ref_type=E.QUOTE)
    return ev.make(E.QUOTE, **hdr, ts_venue_ns=ts - 3 if i % 2 else 0, bid_px_e8=108_505_000 + i,
                   ask_px_e8=108_507_000 + i, bid_qty_e2=1_000_000_00, ask_qty_e2=2_000_000_00 + i, md_seq=i,
                   quote_cond=ev.QuoteCondition.FIRM)


def write(journal: Journal, first: int, count: int) -> None:
    for i in range(first, first + count):
        rec = event(i)
        journal.append(int(rec["type"]), rec.tobytes(), int(rec["ts_receive_ns"]))


def make_journal(path, count: int, **kw) -> None:
    with Journal.open(path, fsync="never", **kw) as j:
        write(j, 0, count)
