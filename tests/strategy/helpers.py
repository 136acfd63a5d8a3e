"""Event builders for strategy and decision-stage tests."""
from __future__ import annotations

import fxpipe.model.events as ev

PIP = 1_000          # EUR/USD pipette in e8


def quote(seq: int, bid: int, ask: int, *, venue: int = 1, instr: int = 1, t: int | None = None,
          bq: int = 100_000_000, aq: int = 100_000_000):
    q = ev.empty(ev.EventType.QUOTE, 1)[0]
    q["sequence"], q["venue_id"], q["instrument_id"] = seq, venue, instr
    q["ts_receive_ns"] = seq * 1_000_000 if t is None else t
    q["bid_px_e8"], q["ask_px_e8"], q["bid_qty_e2"], q["ask_qty_e2"] = bid, ask, bq, aq
    return q


def fill(cl: int, sid: int, side, qty: int, px: int, *, t: int = 0, trans=ev.ExecTransType.NEW, instr: int = 1):
    return ev.make(ev.EventType.FILL, cl_ord_id=cl, strategy_id=sid, side=side, last_qty_e2=qty, last_px_e8=px,
                   exec_trans_type=trans, instrument_id=instr, venue_id=1, exec_id=f"E{cl}-{qty}",
                   ts_receive_ns=t)


def update(cl: int, sid: int, status, exec_type, *, cum: int = 0, leaves: int = 0, orig: int = 0, t: int = 0):
    return ev.make(ev.EventType.ORDER_UPDATE, cl_ord_id=cl, orig_cl_ord_id=orig, strategy_id=sid,
                   ord_status=status, exec_type=exec_type, cum_qty_e2=cum, leaves_qty_e2=leaves,
                   report_kind=ev.ReportKind.EXECUTION, ts_receive_ns=t)
