"""What a venue does to trades after the fact, for the fault injector: trade busts and
corrections (ExecTransType 1 and 2, with ExecRefID), overfills, and reports for orders that
never existed. Each updates the order as the venue now sees it and returns the report.

A bust or a correction recomputes the order as a venue's books would: CumQty, AvgPx, LeavesQty,
OrdStatus and the order's place in the book all follow. An order that may still work (a DAY or
GTC limit) works again for what it now leaves, back in the book by price then time; one that
may not (market, IOC, FOK, or any order already canceled or expired) is done: Filled when its
fills now cover OrderQty, else Canceled for the rest. A correction up to the full quantity (or
beyond it: an overfill) fills the order and takes it out of the book. The report's ExecType is
the one the execution now is (Fill when it completes the order, else Partial fill). An overfill
is a normal-looking fill beyond OrderQty: CumQty ends above OrderQty, which the OMS must record
and alarm on.
"""
from __future__ import annotations

from fxpipe.fix.enums import ExecTransType, ExecType, OrdStatus, OrdType, TimeInForce
from fxpipe.venue.orders import ExecReport, Order, OrderManager


def _may_work(o: Order) -> bool:
    """A DAY/GTC limit that nothing but its fills ended (not canceled, expired or rejected)."""
    return o.ord_type == OrdType.LIMIT and o.tif in (TimeInForce.DAY, TimeInForce.GOOD_TILL_CANCEL) and o.status in (
        OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED, OrdStatus.FILLED)


def _recompute(om: OrderManager, o: Order) -> None:
    """OrdStatus, LeavesQty and the book after CumQty changed under a bust or correction."""
    book = om.books[o.pair_index]
    if o.cum_qty_e2 >= o.order_qty_e2:
        o.leaves_qty_e2 = 0
        if o.status in (OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED, OrdStatus.FILLED, OrdStatus.CANCELED,
                        OrdStatus.EXPIRED):
            o.status = OrdStatus.FILLED
        book.remove(o)
        return
    if _may_work(o):
        resting = o.status != OrdStatus.FILLED
        o.leaves_qty_e2 = o.order_qty_e2 - o.cum_qty_e2
        o.status = OrdStatus.PARTIALLY_FILLED if o.cum_qty_e2 else OrdStatus.NEW
        if not resting:
            book.rest(o)
        return
    o.leaves_qty_e2 = 0
    if o.status == OrdStatus.FILLED:
        o.status = OrdStatus.CANCELED  # done with less than its quantity: the rest was never dealt


def bust(om: OrderManager, o: Order, exec_id: str, now: int) -> ExecReport | None:
    if exec_id not in o.executions:
        return None
    qty, px, kind, traded = o.executions.pop(exec_id)
    o.cum_qty_e2 -= qty
    o.notional_e10 -= qty * px
    _recompute(om, o)
    return om.report(o, kind, now, qty, px, trans=ExecTransType.CANCEL, exec_ref_id=exec_id,
                     text="trade busted by the venue", trade_ns=traded)


def correct(om: OrderManager, o: Order, exec_id: str, new_qty: int, new_px: int, now: int) -> ExecReport | None:
    if exec_id not in o.executions:
        return None
    qty, px, _, traded = o.executions.pop(exec_id)
    o.cum_qty_e2 += new_qty - qty
    o.notional_e10 += new_qty * new_px - qty * px
    _recompute(om, o)
    kind = ExecType.FILL if o.cum_qty_e2 >= o.order_qty_e2 else ExecType.PARTIAL_FILL
    r = om.report(o, kind, now, new_qty, new_px, trans=ExecTransType.CORRECT, exec_ref_id=exec_id,
                  text="trade corrected by the venue", trade_ns=traded)
    o.executions[r.exec_id] = (new_qty, new_px, kind, traded)
    return r


def overfill(om: OrderManager, o: Order, qty: int, px: int, now: int) -> ExecReport:
    o.cum_qty_e2 += qty
    o.notional_e10 += qty * px
    o.leaves_qty_e2 = 0
    o.status = OrdStatus.FILLED
    o.last_trade_ns = now
    r = om.report(o, ExecType.FILL, now, qty, px)
    o.executions[r.exec_id] = (qty, px, ExecType.FILL, now)
    return r


def phantom(om: OrderManager, session: str, pair_index: int, side: str, qty: int, px: int, now: int) -> ExecReport:
    """A fill report for an order nobody entered (a venue mixing up sessions or ids)."""
    om.phantoms += 1
    o = Order(0, session, f"{om.id_prefix}-OX{om.phantoms}", f"UNKNOWN-{om.phantoms}", pair_index, side,
              OrdType.LIMIT, TimeInForce.IMMEDIATE_OR_CANCEL, qty, px, None, now, cum_qty_e2=qty, notional_e10=qty * px,
              status=OrdStatus.FILLED)
    return om.report(o, ExecType.FILL, now, qty, px)
