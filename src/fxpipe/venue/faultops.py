"""The venue's faults in action: where each armed fault (faults.py) bends what the venue does.

Faults that act when they fire (drop, delay, seq_gap, garble, stop_reading, unknown_order,
price_jump, feed_loss, reject_logon, delay_logon) run in fire_due(). Faults that wait for an
event run where that event happens: on_report() for duplicate_exec, reorder, bust, correct and
overfill; ack_and_fills() for fill_before_ack; race_fill() for a fill that beats a cancel or
replace (fill_after_cancel, fill_in_flight). Without an armed fault each of these is the
venue's normal path.
"""
from __future__ import annotations

from fxpipe.fix.enums import ExecTransType, ExecType, OrdStatus, OrdType, Side
from fxpipe.venue import corrections, link
from fxpipe.venue.orders import CancelRequest, ExecReport, Order, ReplaceRequest

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
    elif k == "price_jump":  # armed once for the market (ANY_SESSION) unless scoped to a session
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


def race_fill(v, req: CancelRequest | ReplaceRequest, o: Order, now: int) -> None:
    """The fill_after_cancel and fill_in_flight faults: the order trades just before the venue
    applies the cancel or replace, at a price the market allows: against the ladder when it
    reaches the order's limit, else the market moves to the limit (at most max_pips) and the
    order fills there as a resting order does. When neither can be, the fault stays armed."""
    if not o.is_open or o.ord_type != OrdType.LIMIT or o.status == OrdStatus.PENDING_NEW:
        return
    key = o.session
    kind = "fill_after_cancel" if isinstance(req, CancelRequest) else None
    f = None
    for name in (kind, "fill_in_flight"):
        armed = [g for g in v.faults.pending(key) if g.kind == name] if name else []
        if armed:
            f, kind = armed[0], name
            break
    if f is None or not _reachable(v, o, f.params["max_pips"]) or not v.faults.take(key, kind, now):
        return
    qty = o.leaves_qty_e2
    if kind == "fill_in_flight" and f.params["qty"]:
        qty = min(qty, int(round(f.params["qty"] * 100)))
    book = v.fresh_book(o.pair_index, now)
    got = book.take(o.side, qty, o.price_e8, o.terms)
    if got:
        t = now + v.latency("fill")
        for px, q in got:
            v.report(v.orders.fill(o, q, px, now), t)
        v.publish_book(o.pair_index, now)
        return
    pair = v.pairs[o.pair_index]
    best = book.best(o.side)
    assert best is not None and o.price_e8 is not None  # _reachable said so
    pips = (o.price_e8 - best) / pair.pip_e8  # down to a buy's limit, up to a sell's
    changed = v.market.shift(pair.symbol, pips)
    if v.broadcast is not None:
        v.broadcast(changed, now)  # the resting order fills at its limit as the ladder crosses it


def _reachable(v, o: Order, max_pips: float) -> bool:
    """The market allows o to trade now (the ladder reaches its limit) or after a move of at
    most max_pips of a synthetic market."""
    book = v.books[o.pair_index]
    best = book.best(o.side)
    if best is None or o.price_e8 is None:
        return False
    gap = best - o.price_e8 if o.side == Side.BUY else o.price_e8 - best
    if gap <= 0:
        return True
    return not v.market.is_replay and gap <= max_pips * v.pairs[o.pair_index].pip_e8


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
    sent = v.send_report(r, due)
    f = v.faults.take(key, "duplicate_exec", due)
    if f is not None:
        mode = f.params["mode"]
        v.send_report(r, due, dup="" if mode == "plain" else mode, original=sent)
    if r.exec_type not in (ExecType.FILL, ExecType.PARTIAL_FILL) or r.exec_trans_type != ExecTransType.NEW:
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
    qty, px, _, _ = o.executions[exec_id]
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
