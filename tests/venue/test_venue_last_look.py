"""Last look on the wire: an LP fills at the requested price (the order's limit) or rejects;
it compares its price at the decision with the request, not with its own earlier price; it
passes a favourable move on only when its profile says "symmetric"; its hold time is drawn
from a distribution; and with ack_new it does not send New then Rejected unless its profile
says so. Market frozen: the LP (one tick of markup) offers 2M at 1.08502, 3M at 1.08503."""
import random
import time

from venue_harness import FixClient, VenueProcess, new_order
from wire import LP_KEYS, pick, reports, venue_table

from fxpipe.venue.profiles import LatencyDist

ACCT = [(1, "ACC1")]


def lp_venue(tmp, **last_look):
    keys = dict(LP_KEYS, ack_new=last_look.get("ack_new", "false"))
    ll = {k: v for k, v in last_look.items() if k != "ack_new"}
    keys["last_look"] = "{ " + ", ".join(f"{k} = {v}" for k, v in ll.items()) + " }"
    table, port = venue_table("lp2", "LP2", **keys)
    v = VenueProcess(tmp, market_extra="step_updates = 0", ecn_extra=table, with_lp=False)
    c = FixClient(tmp / "c", port, "C1", "LP2")
    return v, c


def order(cl, price, tif="4", qty="1000000"):
    return new_order(cl, symbol="EURUSD", qty=qty, price=price, tif=tif, extra=ACCT)


def test_a_limit_that_still_covers_the_new_price_is_filled_at_the_limit(tmp_path):
    v, c = lp_venue(tmp_path, hold_ms=20, tolerance_pips=0.2)
    try:
        v.fault("price_jump symbol=EUR/USD pips=0.5 venue=lp2 session=C1 after_orders=1")
        c.send("D", order("A1", "1.08510"))
        (fill,) = reports(c, "A1", 1)
        # the LP's offer went 1.08502 -> 1.08507: still inside the limit, so no reject
        assert pick(fill, 150, 39, 31, 32) == ("2", "2", "1.08510", "1000000")
    finally:
        c.close()
        v.stop()


def test_a_favourable_move_is_kept_by_an_asymmetric_lp(tmp_path):
    v, c = lp_venue(tmp_path, hold_ms=20, tolerance_pips=0.2, price_improvement='"none"')
    try:
        v.fault("price_jump symbol=EUR/USD pips=-5 venue=lp2 session=C1 after_orders=1")
        c.send("D", order("B1", "1.08502"))
        (fill,) = reports(c, "B1", 1)
        assert pick(fill, 39, 31) == ("2", "1.08502")  # the requested price, not the 1.08452 offered now
    finally:
        c.close()
        v.stop()


def test_a_favourable_move_is_passed_on_by_a_symmetric_lp(tmp_path):
    v, c = lp_venue(tmp_path, hold_ms=20, tolerance_pips=0.2, price_improvement='"symmetric"')
    try:
        v.fault("price_jump symbol=EUR/USD pips=-5 venue=lp2 session=C1 after_orders=1")
        c.send("D", order("C1", "1.08502"))
        (fill,) = reports(c, "C1", 1)
        assert pick(fill, 39, 31) == ("2", "1.08452")
    finally:
        c.close()
        v.stop()


def test_an_adverse_move_beyond_the_tolerance_is_rejected_with_the_reason(tmp_path):
    v, c = lp_venue(tmp_path, hold_ms=20, tolerance_pips=0.2)
    try:
        v.fault("price_jump symbol=EUR/USD pips=0.5 venue=lp2 session=C1 after_orders=1")
        c.send("D", order("D1", "1.08502"))
        (rej,) = reports(c, "D1", 1)
        assert pick(rej, 150, 39, 103) == ("8", "8", "0")
        assert rej[58] == "last look: price moved 0.5 pips against the requested 1.08502 during the hold " \
                          "(tolerance 0.2 pips)"
    finally:
        c.close()
        v.stop()


def test_the_hold_time_is_drawn_from_its_distribution(tmp_path):
    v, c = lp_venue(tmp_path, hold_ms='{ dist = "uniform", min_ms = 40, max_ms = 120 }', tolerance_pips=0.2)
    try:
        for k in range(4):
            t0 = time.monotonic()
            c.send("D", order(f"H{k}", "1.08510", tif="3", qty="100000"))
            reports(c, f"H{k}", 1)
            assert time.monotonic() - t0 >= 0.04  # never shorter than the distribution's minimum
        # the draws themselves: seeded, within bounds, not all equal
        d = LatencyDist.parse("hold_ms", {"dist": "uniform", "min_ms": 40, "max_ms": 120}, unit="ms")
        rng = random.Random(1)
        draws = [d.sample_ns(rng) for _ in range(50)]
        assert all(40_000_000 <= x <= 120_000_000 for x in draws) and len(set(draws)) > 40
    finally:
        c.close()
        v.stop()


def test_ack_new_with_last_look_sends_no_new_before_a_reject(tmp_path):
    v, c = lp_venue(tmp_path, ack_new="true", hold_ms=20, tolerance_pips=0.0)
    try:
        v.fault("price_jump symbol=EUR/USD pips=1 venue=lp2 session=C1 after_orders=1")
        c.send("D", order("E1", "1.08502"))
        (rej,) = reports(c, "E1", 1)
        c.poll(0.2)
        assert [m.get_str(150) for m in c.of_type("8", t11="E1")] == ["8"]
        c.send("D", order("E2", "1.08512"))
        new, fill = reports(c, "E2", 2)
        assert (new[150], fill[150]) == ("0", "2")  # New right before the fill
    finally:
        c.close()
        v.stop()


def test_an_lp_that_acknowledges_on_arrival_cancels_what_it_then_refuses(tmp_path):
    v, c = lp_venue(tmp_path, ack_new="true", hold_ms=20, tolerance_pips=0.0, ack='"hold"')
    try:
        v.fault("price_jump symbol=EUR/USD pips=1 venue=lp2 session=C1 after_orders=1")
        c.send("D", order("F1", "1.08502"))
        new, done = reports(c, "F1", 2)
        assert new[150] == "0"
        assert pick(done, 150, 39) == ("4", "4") and done[58].startswith("last look")  # no Rejected after New
    finally:
        c.close()
        v.stop()
