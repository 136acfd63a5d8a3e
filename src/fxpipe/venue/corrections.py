"""What a venue does to trades after the fact, for the fault injector: trade busts and
corrections (ExecTransType 1 and 2, with ExecRefID), overfills, and reports for orders that
never existed. Each updates the order as the venue now sees it and returns the report.

A bust takes the busted quantity back out of CumQty and AvgPx; a resting DAY/GTC limit order
works that quantity again (same-day bust), any other order stays done. A correction replaces
a fill's quantity and price with new ones under a new ExecID. An overfill is a normal-looking
fill beyond OrderQty: CumQty ends above OrderQty, which the OMS must record and alarm on.
"""
from __future__ import annotations

from fxpipe.fix.enums import ExecTransType, ExecType, OrdStatus, OrdType, TimeInForce
from fxpipe.venue.orders import ExecReport, Order, OrderManager


def _works_again(o: Order) -> bool:
    return o.ord_type == OrdType.LIMIT and o.tif in (TimeInForce.DAY, TimeInForce.GOOD_TILL_CANCEL) and o.status in (
        OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED, OrdStatus.FILLED)


def bust(om: OrderManager, o: Order, exec_id: str, now: int) -> ExecReport | None:
    if exec_id not in o.executions:
        return None
    qty, px, kind = o.executions.pop(exec_id)
    o.cum_qty_e2 -= qty
    o.notional_e10 -= qty * px
    if _works_again(o) and o.cum_qty_e2 < o.order_qty_e2:
        was_resting = o.status != OrdStatus.FILLED
        o.leaves_qty_e2 = o.order_qty_e2 - o.cum_qty_e2
        o.status = OrdStatus.PARTIALLY_FILLED if o.cum_qty_e2 else OrdStatus.NEW
        if not was_resting:
            om.books[o.pair_index].rest(o)
    elif o.status == OrdStatus.FILLED:
        o.status = OrdStatus.CANCELED  # done with less than its quantity
    return om.report(o, kind, now, qty, px, trans=ExecTransType.CANCEL, exec_ref_id=exec_id,
                     text="trade busted by the venue")


def correct(om: OrderManager, o: Order, exec_id: str, new_qty: int, new_px: int, now: int) -> ExecReport | None:
    if exec_id not in o.executions:
        return None
    qty, px, kind = o.executions.pop(exec_id)
    o.cum_qty_e2 += new_qty - qty
    o.notional_e10 += new_qty * new_px - qty * px
    if o.is_open or o.status == OrdStatus.FILLED:
        o.leaves_qty_e2 = max(0, o.order_qty_e2 - o.cum_qty_e2) if o.is_open else 0
    r = om.report(o, kind, now, new_qty, new_px, trans=ExecTransType.CORRECT, exec_ref_id=exec_id,
                  text="trade corrected by the venue")
    o.executions[r.exec_id] = (new_qty, new_px, kind)
    return r


def overfill(om: OrderManager, o: Order, qty: int, px: int, now: int) -> ExecReport:
    o.cum_qty_e2 += qty
    o.notional_e10 += qty * px
    o.leaves_qty_e2 = 0
    o.status = OrdStatus.FILLED
    r = om.report(o, ExecType.FILL, now, qty, px)
    o.executions[r.exec_id] = (qty, px, ExecType.FILL)
    return r


def phantom(om: OrderManager, session: str, pair_index: int, side: str, qty: int, px: int, now: int) -> ExecReport:
    """A fill report for an order nobody entered (a venue mixing up sessions or ids)."""
    om.phantoms += 1
    o = Order(0, session, f"{om.venue_id}-OX{om.phantoms}", f"UNKNOWN-{om.phantoms}", pair_index, side,
              OrdType.LIMIT, TimeInForce.IMMEDIATE_OR_CANCEL, qty, px, None, now, cum_qty_e2=qty, notional_e10=qty * px,
              status=OrdStatus.FILLED)
    return om.report(o, ExecType.FILL, now, qty, px)
