"""The venue's faults in action: where each armed fault (faults.py) bends what the venue does.

Faults that act when they fire (drop, delay, seq_gap, garble, stop_reading, unknown_order,
price_jump, feed_loss, reject_logon, delay_logon) run in fire_due(). Faults that wait for an
event run where that event happens: on_report() for duplicate_exec, reorder, bust, correct and
overfill; ack_and_fills() for fill_before_ack; fill_after_cancel() for a cancel that comes too
late. Without an armed fault each of these is the venue's normal path.
"""
from __future__ import annotations

from fxpipe.fix.enums import CxlRejResponseTo, ExecType, OrdStatus, OrdType
from fxpipe.venue import corrections, link
from fxpipe.venue.enums import CxlRejReason
from fxpipe.venue.orders import CancelReject, CancelRequest, ExecReport

REORDER_MAX_HOLD_NS = 1_000_000_000  # a reorder batch that never fills is released after this
NEEDS_SESSION = frozenset({"drop", "seq_gap", "garble", "stop_reading", "unknown_order"})


def fire_due(v, key: str, now: int) -> None:
    def can_fire(f) -> bool:
        return f.kind not in NEEDS_SESSION or key in v.sessions

    for f in v.faults.due(key, now, can_fire):
        _fire(v, key, f, now)


def _fire(v, key: str, f, now: int) -> None:
    p = f.params
    session = v.sessions.get(key)
    name = v.session_names.get(key, key)
    k = f.kind
    if k == "drop":
        link.drop(session, f"fault drop: {f.spec}")
    elif k == "delay":
        v.out.stall(key, now + int(p["ms"] * 1_000_000))
    elif k == "seq_gap":
        link.skip_seq(session, p["n"])
    elif k == "garble":
        link.send_garbled(session, p["kind"])
    elif k == "stop_reading":
        v.engine.pause_reading(session, p["s"])
    elif k == "reject_logon":
        v.logon_faults.reject[name] = p["text"]
    elif k == "delay_logon":
        v.logon_faults.delay[name] = p["ms"] / 1000.0
    elif k == "unknown_order":
        pi = 0
        bids, asks = v.ladders[pi]
        px = asks[0][0] if asks else v.pairs[pi].start_mid_e8 or 100_000_000
        v.send_report(corrections.phantom(v.orders, key, pi, "1", 100_000_000, px, now), now)
    elif k == "price_jump":
        changed = v.market.shift(p["symbol"], p["pips"])
        if v.broadcast is not None:
            v.broadcast(changed, now)
    elif k == "feed_loss":
        if v.feed is not None:
            v.feed.lose_next(p["count"])


def ack_and_fills(v, key: str, ack: ExecReport | None, fills: list[ExecReport], t_ack: int, now: int) -> None:
    """An ECN order's New acknowledgement and its fills, fills after the ack unless the
    fill_before_ack fault is armed."""
    real_fills = [r for r in fills if r.exec_type in (ExecType.FILL, ExecType.PARTIAL_FILL)]
    if ack is not None and real_fills and v.faults.take(key, "fill_before_ack", now):
        for r in fills:
            v.report(r, t_ack)
        v.report(ack, t_ack)
        return
    if ack is not None:
        v.report(ack, t_ack)
    t_fill = t_ack + v.latency("fill") if fills else t_ack
    for r in fills:
        v.report(r, t_fill)


def fill_after_cancel(v, key: str, req: CancelRequest, now: int) -> bool:
    """The fill_after_cancel fault: the order trades in full before the venue reads the
    cancel, which it then rejects as too late."""
    o = v.orders.by_cl_ord_id.get((key, req.orig_cl_ord_id))
    if o is None or not o.is_open or o.status == OrdStatus.PENDING_NEW or o.ord_type != OrdType.LIMIT:
        return False
    if not v.faults.take(key, "fill_after_cancel", now):
        return False
    t = now + v.latency("fill")
    v.books[o.pair_index].remove(o)
    v.report(v.orders.fill(o, o.leaves_qty_e2, o.price_e8, now), t)
    v.cancel_reject(CancelReject(key, o.order_id, req.cl_ord_id, req.orig_cl_ord_id, o.status,
                                 CxlRejResponseTo.ORDER_CANCEL_REQUEST, CxlRejReason.TOO_LATE_TO_CANCEL,
                                 "too late to cancel: the order is filled", now), t)
    return True


def on_report(v, r: ExecReport, due: int) -> None:
    key = r.session
    f = v.faults.take(key, "reorder", due)
    if f is not None:
        batch = v.reorder.setdefault(key, [])
        batch.append((r, due))
        if f.left <= 0:
            _flush_reorder(v, key)
        elif len(batch) == 1:
            v.after(due + REORDER_MAX_HOLD_NS, _flush_reorder, v, key)
        return
    _send_with_followups(v, r, due)


def _flush_reorder(v, key: str) -> None:
    batch = v.reorder.pop(key, [])
    if not batch:
        return
    last_due = max(d for _, d in batch)
    for r, _ in reversed(batch):
        _send_with_followups(v, r, last_due)


def _send_with_followups(v, r: ExecReport, due: int) -> None:
    key = r.session
    v.send_report(r, due)
    f = v.faults.take(key, "duplicate_exec", due)
    if f is not None:
        v.send_report(r, due, possdup=bool(f.params["possdup"]))
    if r.exec_type not in (ExecType.FILL, ExecType.PARTIAL_FILL) or r.exec_trans_type != "0":
        return
    f = v.faults.take(key, "bust", due)
    if f is not None:
        v.after(due + int(f.params["after_ms"] * 1_000_000), _bust, v, r.order_id, r.exec_id)
    f = v.faults.take(key, "correct", due)
    if f is not None:
        v.after(due + int(f.params["after_ms"] * 1_000_000), _correct, v, r.order_id, r.exec_id, f.params)
    if r.ord_status == OrdStatus.FILLED:
        f = v.faults.take(key, "overfill", due)
        if f is not None:
            o = v.orders.by_order_id[r.order_id]
            qty = int(round(f.params["qty"] * 100)) or max(1, o.order_qty_e2 // 10)
            v.after(due, _overfill, v, r.order_id, qty, r.last_px_e8)


def _bust(v, order_id: str, exec_id: str) -> None:
    o = v.orders.by_order_id.get(order_id)
    now = v.clock()
    r = corrections.bust(v.orders, o, exec_id, now) if o else None
    if r is not None:
        v.send_report(r, now)


def _correct(v, order_id: str, exec_id: str, params: dict) -> None:
    o = v.orders.by_order_id.get(order_id)
    if o is None or exec_id not in o.executions:
        return
    qty, px, _ = o.executions[exec_id]
    pair = v.pairs[o.pair_index]
    new_px = px + int(round(params["px_pips"] * pair.pip_e8))
    new_qty = int(round(params["qty"] * 100)) or qty
    now = v.clock()
    v.send_report(corrections.correct(v.orders, o, exec_id, new_qty, new_px, now), now)


def _overfill(v, order_id: str, qty: int, px: int) -> None:
    o = v.orders.by_order_id.get(order_id)
    if o is not None:
        now = v.clock()
        v.send_report(corrections.overfill(v.orders, o, qty, px, now), now)
