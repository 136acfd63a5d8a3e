"""Last look: how an LP holds an order, then fills it at the requested price or rejects it.

On arrival the order is held for a time drawn from the profile's hold distribution; its
requested price is its limit (a market order's: the price its quantity could deal at on
arrival). At the decision the LP looks at its own ladder as it is then:

- it fills what its ladder can deal within the requested price plus `tolerance_pips` (a move
  against the LP it absorbs), always at the requested price or better, never worse: with
  price_improvement "none" every fill is at the requested price (the LP keeps a favourable
  move); with "symmetric" each level deals at its own price when that is better than the
  request (FX Global Code principle 17: the LP says whether improvement is passed on);
- an order it cannot fill at all (FOK: in full) is rejected, and the text says why: how many
  pips the price moved against the request and the tolerance, or that the LP has no price;
- an IOC or market remainder is cancelled as the profile's ioc_remainder says.

With ack_new, a New is sent right before the fills and none before a reject (ack "decision"),
or on arrival (ack "hold"): a refusal after that New is a Canceled (150=4), since FIX 4.2 has
no Rejected after New, unless refused_after_ack = "rejected" says the LP sends one anyway.
"""
from __future__ import annotations

from fxpipe.fix.enums import ExecType, OrdRejReason, OrdStatus, OrdType, Side, TimeInForce
from fxpipe.venue.orders import ExecReport, Order


def hold(v, o: Order, now: int, t_ack: int) -> None:
    """Holds a new order for the drawn hold time (and acknowledges it now when the profile
    says so)."""
    ll = v.profile.last_look
    book = v.fresh_book(o.pair_index, now)
    requested = o.price_e8 if o.ord_type == OrdType.LIMIT else book.price_for(o.side, o.leaves_qty_e2, o.terms)
    if v.profile.ack_new and ll.ack == "hold":
        v.report(v.orders.ack(o, now), t_ack)
    v.hold_order(now + ll.hold.sample_ns(v.rng), o, requested)


def decide(v, o: Order, requested: int | None, now: int) -> None:
    if not o.is_open or o.status not in (OrdStatus.PENDING_NEW, OrdStatus.NEW):
        return  # cancelled during the hold (cancel on disconnect)
    ll = v.profile.last_look
    pair = v.pairs[o.pair_index]
    book = v.fresh_book(o.pair_index, now)
    t = now + v.latency("fill")
    acked = o.status == OrdStatus.NEW
    if requested is None:
        _refuse(v, o, now, t, acked, "last look: no price for this quantity when the order arrived")
        return
    tol = int(round(ll.tolerance_pips * pair.pip_e8))
    reach = requested + tol if o.side == Side.BUY else requested - tol
    can = book.available(o.side, reach, o.terms)
    if can == 0 or (o.tif == TimeInForce.FILL_OR_KILL and can < o.leaves_qty_e2) or (o.ord_type == OrdType.MARKET and can == 0):
        best = book.best(o.side)
        if best is None:
            why = "last look: no price: the LP has no liquidity on that side"
        else:
            against = (best - requested) if o.side == Side.BUY else (requested - best)
            if o.tif == TimeInForce.FILL_OR_KILL and against <= tol:
                why = (f"last look: not enough liquidity within {ll.tolerance_pips:g} pips of the requested "
                       f"{v.render.px(o.pair_index, requested)} to fill in full")
            else:
                why = (f"last look: price moved {against / pair.pip_e8:.1f} pips against the requested "
                       f"{v.render.px(o.pair_index, requested)} during the hold (tolerance "
                       f"{ll.tolerance_pips:g} pips)")
        _refuse(v, o, now, t, acked, why)
        return
    out: list[ExecReport] = []
    if v.profile.ack_new and not acked:
        out.append(v.orders.ack(o, now))
    fills: list[tuple[int, int]] = []
    for px, q in book.take(o.side, o.leaves_qty_e2, reach, o.terms):
        better = px < requested if o.side == Side.BUY else px > requested
        deal_px = px if ll.price_improvement == "symmetric" and better else requested
        if fills and fills[-1][0] == deal_px:
            fills[-1] = (deal_px, fills[-1][1] + q)
        else:
            fills.append((deal_px, q))
    dealt = [v.orders.fill(o, q, px, now) for px, q in fills]
    if o.leaves_qty_e2:
        killed = v.orders.finish_unfilled(o, now, f"{'market order' if o.ord_type == OrdType.MARKET else 'IOC'} "
                                          "remainder canceled: no more liquidity at the requested price", dealt)
        if killed is not None:
            dealt.append(killed)
    v.publish_book(o.pair_index, now)
    for r in out + dealt:
        v.report(r, t)


def _refuse(v, o: Order, now: int, t: int, acked: bool, why: str) -> None:
    v.counts["last_look_rejects"] += 1
    if acked and v.profile.last_look.refused_after_ack == "canceled":
        o.status = OrdStatus.CANCELED
        o.leaves_qty_e2 = 0
        v.report(v.orders.report(o, ExecType.CANCELED, now, text=why), t)
        return
    v.report(v.orders.reject(o, now, why, OrdRejReason.BROKER_OPTION), t)
