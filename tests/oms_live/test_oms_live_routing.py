"""Best-price routing against the venue simulator: the OMS is given each venue's real top of
book (a market-data snapshot over FIX from each venue), and an intent with venue 0 lands at the
venue whose price is better once the last-look LP's hold and reject rate are priced in."""
from __future__ import annotations

import pytest
from oms_live_harness import ECN, LP, Oms, venue
from venue_harness import FixClient, levels, md_request

from fxpipe.model import events as ev

ROUTING = {"stale_ms": 60_000, "adverse_pips_per_s": "0.16",
           "venues": [{"venue_id": ECN}, {"venue_id": LP, "hold_ms": 30, "reject_rate_bp": 500}]}


def top_of_book(tmp, port, target, symbol):
    """(best bid, best ask) e8 of one venue, from a snapshot (35=W) over its own FIX session."""
    c = FixClient(tmp / f"md-{target}", port, "FXPIPE-MD", target)
    try:
        c.send("V", md_request("TOP", [symbol], depth=1, sub="0"))
        bids, asks = levels(c.wait_for("W")[0])
        return bids[0], asks[0]
    finally:
        c.close()


@pytest.mark.parametrize("ecn_markup, winner", [(0, ECN), (4, LP)])
def test_unrouted_order_lands_at_the_venue_with_the_better_price(tmp_path, ecn_markup, winner):
    # the LP quotes a tick wider than the market; an ECN 4 ticks wider makes the LP 3 ticks better,
    # more than a 5 % chance of a 30 ms last-look reject costs
    v = venue(tmp_path, clients=("FXPIPE", "FXPIPE-MD"), ecn_extra=f"markup_ticks = {ecn_markup}")
    oms = Oms(tmp_path, v, routing=ROUTING)
    try:
        oms.logged_on()
        tops = {ECN: top_of_book(tmp_path, v.ecn_port, "ECN1", "EUR/USD"),
                LP: top_of_book(tmp_path, v.lp_port, "LP1", "EURUSD")}
        for vid, ((bid, bid_qty), (ask, ask_qty)) in tops.items():
            oms.gw.quote(ev.make(ev.EventType.QUOTE, venue_id=vid, instrument_id=1, bid_px_e8=bid,
                                 bid_qty_e2=bid_qty, ask_px_e8=ask, ask_qty_e2=ask_qty,
                                 quote_cond=ev.QuoteCondition.FIRM))
        better = ECN if tops[ECN][1][0] <= tops[LP][1][0] else LP
        assert better == winner
        cl = oms.order(0, "1000000", side="1", ord_type="1", tif="3")
        assert cl
        assert oms.stage.book.order(cl).venue_id == winner
        oms.wait(lambda: oms.done(cl), "routed order done")
        view = oms.stage.book.order(cl)
        # the venue's own answer: a fill (or, at the LP, possibly a last-look reject)
        assert view.status == ev.OrdStatus.FILLED or (winner == LP and view.status == ev.OrdStatus.REJECTED)
        # the OrderID is the venue's own (its comp id leads it): the order reached that venue
        assert view.order_id.startswith({ECN: "ECN1", LP: "LP1"}[winner]), view.order_id
    finally:
        oms.close()
        v.stop()
