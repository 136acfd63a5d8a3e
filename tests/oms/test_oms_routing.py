"""Best-price routing in the oms stage: an intent with venue_id 0 goes to the venue with the best
expected price among those streaming the pair with a fresh firm quote and an order session up
and reconciled; a last-look venue's hold and reject rate are priced in; ties break in the
documented order; no venue able to take it is the book's synthetic reject NO_ROUTE."""
from __future__ import annotations

from pathlib import Path

import pytest
from oms_venue import T0_NS, intent

from fxpipe.model import events as ev
from fxpipe.oms import Refusal
from fxpipe.oms.routing import RoutingConfig, RoutingConfigError
from fxpipe.oms.stage import OmsStage

ROOT = Path(__file__).resolve().parents[2]
REFDATA = (ROOT / "config" / "refdata.toml").read_text()
T = ev.EventType
ECN, LP1, LP2 = 1, 2, 3
PX = 108_500_000
# a 100 ms hold at 10 pips/s of adverse drift: a reject costs 1 pip (10_000 e8) on the retry;
# at 5 % rejects a last-look price must beat the firm one by more than 10_000 / 19 = 526 e8
ROUTING = {"stale_ms": 2000, "adverse_pips_per_s": "10",
           "venues": [{"venue_id": ECN}, {"venue_id": LP1, "hold_ms": 100, "reject_rate_bp": 500},
                      {"venue_id": LP2, "hold_ms": 100, "reject_rate_bp": 500}]}


def stage(routing=ROUTING, limits=""):
    return OmsStage(REFDATA, limits, prefix=4, routing=routing)


def quote(venue, bid=PX - 2000, ask=PX, t=T0_NS, qty=100_000_000, cond=ev.QuoteCondition.FIRM, level=0):
    return ev.make(T.QUOTE, instrument_id=1, venue_id=venue, bid_px_e8=bid, ask_px_e8=ask, bid_qty_e2=qty,
                   ask_qty_e2=qty, quote_cond=cond, level=level, ts_receive_ns=t)


def routed(s, side="1", t=T0_NS + 1000, **kw):
    """(venue of the request sent or 0, the outputs) of a venue-0 new order."""
    out = s.on_event(intent(venue_id=0, side=side, t=t, **kw))
    sends = [o for o in out if int(o["type"]) == T.ORDER_INTENT]
    return (int(sends[0]["venue_id"]) if sends else 0), out


def test_unrouted_buy_goes_to_the_lowest_ask_and_sell_to_the_highest_bid():
    s = stage()
    s.on_event(quote(ECN, bid=PX - 3000, ask=PX))
    s.on_event(quote(LP1, bid=PX - 1000, ask=PX + 2000))
    assert routed(s, "1")[0] == ECN
    assert routed(s, "2")[0] == LP1


def test_routed_venue_is_written_into_the_request_and_the_orders_view():
    s = stage()
    s.on_event(quote(ECN, ask=PX + 5000))
    s.on_event(quote(LP2, ask=PX - 5000))
    venue, out = routed(s)
    assert venue == LP2
    view = [o for o in out if int(o["type"]) == T.ORDER_UPDATE][0]
    assert int(view["venue_id"]) == LP2 and int(view["ord_status"]) == ev.OrdStatus.PENDING_NEW
    assert s.book.order(int(view["cl_ord_id"])).venue_id == LP2


def test_last_look_price_better_by_less_than_a_reject_and_retry_costs_loses_to_the_firm_price():
    s = stage()
    s.on_event(quote(ECN, ask=PX))
    s.on_event(quote(LP1, ask=PX - 500))        # 500 e8 better: a reject costs more on average
    assert routed(s, "1")[0] == ECN


def test_last_look_price_better_by_more_than_a_reject_and_retry_costs_wins():
    s = stage()
    s.on_event(quote(ECN, ask=PX))
    s.on_event(quote(LP1, ask=PX - 600))
    assert routed(s, "1")[0] == LP1


def test_last_look_cost_applies_to_sells_too():
    s = stage()
    s.on_event(quote(ECN, bid=PX))
    s.on_event(quote(LP1, bid=PX + 500))
    assert routed(s, "2")[0] == ECN
    s.on_event(quote(LP1, bid=PX + 600, t=T0_NS + 2000))
    assert routed(s, "2", t=T0_NS + 3000)[0] == LP1


def test_without_hold_drift_any_better_last_look_price_wins():
    s = stage({**ROUTING, "adverse_pips_per_s": "0"})
    s.on_event(quote(ECN, ask=PX))
    s.on_event(quote(LP1, ask=PX - 1))
    assert routed(s)[0] == LP1


def test_stale_quote_is_not_a_route_and_a_fresh_one_is():
    s = stage()
    s.on_event(quote(LP1, ask=PX - 50_000, t=T0_NS))
    s.on_event(quote(ECN, ask=PX, t=T0_NS + 1_500_000_000))
    # at T0 + 2.5 s the LP's quote is 2.5 s old (limit 2 s), the ECN's 1 s
    assert routed(s, t=T0_NS + 2_500_000_000)[0] == ECN
    s.on_event(quote(LP1, ask=PX - 50_000, t=T0_NS + 2_600_000_000))
    assert routed(s, t=T0_NS + 2_700_000_000)[0] == LP1


def test_indicative_quote_is_not_a_route():
    s = stage()
    s.on_event(quote(ECN, ask=PX))
    s.on_event(quote(LP1, ask=PX - 50_000, cond=ev.QuoteCondition.INDICATIVE))
    assert routed(s)[0] == ECN


def test_deeper_level_is_not_top_of_book():
    s = stage()
    s.on_event(quote(ECN, ask=PX))
    s.on_event(quote(LP1, ask=PX - 50_000, level=1))
    assert routed(s)[0] == ECN


def test_market_data_drop_takes_the_venues_prices_out_of_routing():
    s = stage()
    s.on_event(quote(ECN, ask=PX))
    s.on_event(quote(LP1, ask=PX - 50_000))
    s.on_event(ev.make(T.SESSION, venue_id=LP1, session_kind=ev.SessionKind.MARKET_DATA,
                       state=ev.SessionState.DISCONNECTED, ts_receive_ns=T0_NS + 10))
    assert routed(s)[0] == ECN


def session(venue, state, t):
    return ev.make(T.SESSION, venue_id=venue, session_kind=ev.SessionKind.ORDERS, state=state,
                   ts_receive_ns=t)


def test_venue_with_its_order_session_down_is_not_a_route():
    s = stage()
    s.on_event(quote(ECN, ask=PX))
    s.on_event(quote(LP1, ask=PX - 50_000))
    s.on_event(session(LP1, ev.SessionState.DISCONNECTED, T0_NS + 10))
    assert routed(s)[0] == ECN
    s.on_event(session(LP1, ev.SessionState.ACTIVE, T0_NS + 20))
    assert routed(s, t=T0_NS + 2000)[0] == LP1


def test_venue_back_up_but_not_reconciled_is_not_a_route():
    s = stage()
    s.on_event(quote(ECN, ask=PX))
    s.on_event(quote(LP1, ask=PX - 50_000))
    assert routed(s)[0] == LP1                       # in flight at LP1 ...
    s.on_event(session(LP1, ev.SessionState.DISCONNECTED, T0_NS + 2000))   # ... now UNKNOWN
    s.on_event(session(LP1, ev.SessionState.ACTIVE, T0_NS + 3000))
    assert s.book.unknown_orders(LP1)
    assert routed(s, t=T0_NS + 4000)[0] == ECN


def test_no_venue_able_to_take_it_is_the_books_synthetic_reject_no_route():
    s = stage()
    s.on_event(quote(LP1, ask=PX))
    s.on_event(session(LP1, ev.SessionState.DISCONNECTED, T0_NS + 10))
    before = s.risk.open_orders()
    venue, out = routed(s)
    assert venue == 0 and len(out) == 1
    rej = out[0]
    assert int(rej["type"]) == T.ORDER_UPDATE and int(rej["ord_status"]) == ev.OrdStatus.REJECTED
    assert int(rej["reject_reason"]) == Refusal.NO_ROUTE
    assert int(rej["flags"]) & ev.EventFlag.SYNTHETIC
    assert int(rej["venue_id"]) == 0 and int(rej["cl_ord_id"]) != 0
    assert s.risk.open_orders() == before and len(s.book) == 0


def test_no_quote_for_the_pair_is_no_route():
    s = stage()
    s.on_event(quote(ECN, ask=PX))
    out = s.on_event(ev.make(T.ORDER_INTENT, venue_id=0, instrument_id=3, qty_e2=100_000_000, price_e8=15_000_000_000,
                             action=ev.IntentAction.NEW, side=ev.Side.BUY, ord_type=ev.OrdType.LIMIT,
                             time_in_force=ev.TimeInForce.DAY, strategy_id=7, ts_decide_ns=T0_NS + 1000))
    assert [int(o["reject_reason"]) for o in out] == [Refusal.NO_ROUTE]


def test_stage_without_a_routing_table_refuses_venue_zero_as_no_route():
    s = stage(routing=None)
    s.on_event(quote(ECN, ask=PX))
    venue, out = routed(s)
    assert venue == 0 and int(out[0]["reject_reason"]) == Refusal.NO_ROUTE


def test_venue_outside_the_routing_table_is_not_a_route():
    s = stage({**ROUTING, "venues": [{"venue_id": ECN}]})
    s.on_event(quote(ECN, ask=PX))
    s.on_event(quote(LP1, ask=PX - 50_000))
    assert routed(s)[0] == ECN


def test_equal_expected_price_prefers_the_firm_venue():
    s = stage({**ROUTING, "adverse_pips_per_s": "0"})
    s.on_event(quote(LP1, ask=PX))
    s.on_event(quote(ECN, ask=PX))
    assert routed(s)[0] == ECN


def test_equal_terms_prefer_the_larger_quoted_size_then_the_lower_venue_id():
    s = stage()
    s.on_event(quote(LP2, ask=PX - 50_000, qty=300_000_000))
    s.on_event(quote(LP1, ask=PX - 50_000, qty=200_000_000))
    assert routed(s)[0] == LP2
    s.on_event(quote(LP2, ask=PX - 50_000, qty=200_000_000, t=T0_NS + 2000))
    assert routed(s, t=T0_NS + 3000)[0] == LP1


def test_cancel_with_venue_zero_goes_to_the_orders_venue():
    s = stage()
    s.on_event(quote(LP1, ask=PX - 50_000))
    venue, out = routed(s)
    cl = int([o for o in out if int(o["type"]) == T.ORDER_INTENT][0]["cl_ord_id"])
    out = s.on_event(intent("F", venue_id=0, orig=cl, t=T0_NS + 5000))
    sends = [o for o in out if int(o["type"]) == T.ORDER_INTENT]
    assert venue == LP1 and len(sends) == 1 and int(sends[0]["venue_id"]) == LP1


def test_risk_checks_the_routed_order():
    limits = '[global]\nmax_order_qty = "500000"\n'
    s = stage(limits=limits)
    s.on_event(quote(ECN, ask=PX))
    out = s.on_event(intent(venue_id=0, qty=100_000_000, t=T0_NS + 1000))
    assert [int(o["type"]) for o in out] == [T.RISK]
    assert int(out[0]["venue_id"]) == ECN


def test_routing_is_replayed_to_the_same_state_hash_and_outputs():
    events = [quote(ECN, ask=PX), quote(LP1, ask=PX - 600), intent(venue_id=0, t=T0_NS + 1000),
              quote(LP1, ask=PX + 100, t=T0_NS + 2000), intent(venue_id=0, side="2", t=T0_NS + 3000)]
    a = stage()
    out_a = [o.tobytes() for e in events for o in a.on_event(e)]
    b = OmsStage.from_config(a.config())
    out_b = [o.tobytes() for e in events for o in b.on_event(e)]
    assert out_a == out_b and a.state_hash() == b.state_hash()
    assert stage().state_hash() != a.state_hash()


@pytest.mark.parametrize("bad, says", [
    ({"stale_ms": 0}, "stale_ms"),
    ({"stale_ms": True}, "stale_ms"),
    ({"adverse_pips_per_s": 0.2}, "quoted decimal"),
    ({"adverse_pips_per_s": "-1"}, "adverse_pips_per_s"),
    ({"venues": [{"venue_id": 0}]}, "venue_id"),
    ({"venues": [{"venue_id": 1, "hold_ms": -1}]}, "hold_ms"),
    ({"venues": [{"venue_id": 1, "reject_rate_bp": 10_000}]}, "reject_rate_bp"),
    ({"venues": [{"venue_id": 1}, {"venue_id": 1}]}, "twice"),
    ({"venues": [{"venue_id": 1, "speed": 3}]}, "unknown key"),
    ({"colour": 1}, "unknown key"),
])
def test_bad_routing_table_is_refused_with_the_field_named(bad, says):
    with pytest.raises(RoutingConfigError, match=says):
        RoutingConfig.from_dict(bad)


def test_routing_venue_missing_from_reference_data_is_refused():
    with pytest.raises(RoutingConfigError, match="venue id 9"):
        stage({"venues": [{"venue_id": 9}]})
