"""Orders over FIX against a running simulator, observed by an fxpipe client session: market,
limit, IOC, FOK, GTC/day, partial fills across levels, cancel, cancel/replace, status, the
LP's last look, symbol formats, required tags, settlement tags and every kind of refusal.

The market is frozen (step pace, 0 updates per message) so prices are known: EUR/USD quotes
1.08499 / 1.08501 at the ECN (levels 1, 2, 3, 5, 10 million, one tick apart) and one tick
wider at the LP (2, 3, 5 million); `price_jump` moves it when a test needs a move.
"""
import datetime as dt
import time

import pytest
from venue_harness import FixClient, VenueProcess, cancel, new_order, replace

from fxpipe.venue.settlement import fix_date, trade_date, value_date


@pytest.fixture(params=["block", "backoff"])
def venue(tmp_path, request):
    v = VenueProcess(tmp_path, clients=("C1",), market_extra="step_updates = 0", args=("--wait", request.param))
    clients = []

    def client(which="ecn"):
        port, comp = (v.ecn_port, "ECN1") if which == "ecn" else (v.lp_port, "LP1")
        c = FixClient(tmp_path / which, port, "C1", comp)
        clients.append(c)
        return c

    v.client = client
    yield v
    for c in clients:
        c.close()
    v.stop()


def f(m) -> dict[int, str]:
    out = {}
    for tag, value in m.fields():
        out.setdefault(tag, value.decode())
    return out


def reports(c, cl_ord_id, n):
    return [f(m) for m in c.wait_for("8", n, t11=cl_ord_id)]


def pick(r, *tags):
    return tuple(r.get(t) for t in tags)


LIFE = (150, 39, 32, 31, 151, 14, 6)


def test_market_order_fills_across_levels_with_exact_avg_px(venue):
    c = venue.client()
    c.send("D", new_order("M1", qty="2500000", ord_type="1"))
    ack, part, fill = reports(c, "M1", 3)
    assert pick(ack, *LIFE) == ("0", "0", "0", "0", "2500000", "0", "0")
    assert pick(part, *LIFE) == ("1", "1", "1000000", "1.08501", "1500000", "1000000", "1.08501")
    assert pick(fill, *LIFE) == ("2", "2", "1500000", "1.08502", "0", "2500000", "1.085016")
    assert ack[37] == part[37] == fill[37] and len({ack[17], part[17], fill[17]}) == 3
    assert fill[55] == "EUR/USD" and fill[15] == "EUR" and 64 not in fill  # the ECN sends no value date


def test_limit_rests_then_fills_at_its_limit_when_the_market_comes_to_it(venue):
    c = venue.client()
    c.send("D", new_order("L1", price="1.08490", tif="1"))
    (ack,) = reports(c, "L1", 1)
    assert pick(ack, 150, 39, 151, 59) == ("0", "0", "1000000", "1")
    c.poll(0.2)
    assert len(c.of_type("8", t11="L1")) == 1
    venue.fault("price_jump symbol=EUR/USD pips=-2")
    ack, fill = reports(c, "L1", 2)
    assert pick(fill, *LIFE) == ("2", "2", "1000000", "1.08490", "0", "1000000", "1.08490")


def test_ioc_remainder_is_cancelled_with_an_unsolicited_report(venue):
    c = venue.client()
    c.send("D", new_order("I1", qty="2000000", price="1.08501", tif="3"))
    ack, fill, cxl = reports(c, "I1", 3)
    assert pick(fill, *LIFE) == ("1", "1", "1000000", "1.08501", "1000000", "1000000", "1.08501")
    assert pick(cxl, 150, 39, 151, 14, 20) == ("4", "4", "0", "1000000", "0")
    assert "IOC remainder" in cxl[58] and 41 not in cxl  # nobody asked for this cancel


def test_fok_fills_in_full_or_is_cancelled_whole(venue):
    c = venue.client()
    c.send("D", new_order("F1", qty="30000000", price="1.08505", tif="4"))
    ack, kill = reports(c, "F1", 2)
    assert pick(kill, 150, 39, 14, 151) == ("4", "4", "0", "0") and "FOK" in kill[58]
    c.send("D", new_order("F2", qty="3000000", price="1.08502", tif="4"))
    ack, p1, p2 = reports(c, "F2", 3)
    assert [p1[31], p2[31], p2[39], p2[6]] == ["1.08501", "1.08502", "2", "1.08501667"]  # 3.2550500 / 3, half-even at 1e-8


def test_cancel_then_too_late_then_unknown(venue):
    c = venue.client()
    c.send("D", new_order("D1", price="1.08400"))
    reports(c, "D1", 1)
    c.send("F", cancel("D1-C", "D1"))
    (done,) = reports(c, "D1-C", 1)
    assert pick(done, 150, 39, 41, 151, 14) == ("4", "4", "D1", "0", "0")
    c.send("F", cancel("D1-C2", "D1"))
    (late,) = [f(m) for m in c.wait_for("9", 1, t11="D1-C2")]
    assert pick(late, 102, 434, 39, 41) == ("0", "1", "4", "D1") and "too late" in late[58]
    c.send("F", cancel("X-C", "NEVER"))
    (unknown,) = [f(m) for m in c.wait_for("9", 1, t11="X-C")]
    assert pick(unknown, 102, 37) == ("1", "NONE") and "unknown order" in unknown[58]


def test_replace_after_a_partial_fill_never_lets_the_venue_overfill(venue):
    c = venue.client()
    c.send("D", new_order("R1", qty="3000000", price="1.08501", tif="1"))
    ack, part = reports(c, "R1", 2)
    assert pick(part, 14, 151) == ("1000000", "2000000")
    c.send("G", replace("R2", "R1", qty="2000000", price="1.08495", tif="1"))
    (rep,) = reports(c, "R2", 1)
    assert pick(rep, 150, 39, 38, 14, 151, 41, 44) == ("5", "1", "2000000", "1000000", "1000000", "R1", "1.08495")
    venue.fault("price_jump symbol=EUR/USD pips=-5")  # the whole ladder moves through the limit
    rep, fill = reports(c, "R2", 2)
    assert pick(fill, 150, 39, 32, 14, 151) == ("2", "2", "1000000", "2000000", "0")
    c.poll(0.2)
    assert len(c.of_type("8", t11="R2")) == 2  # nothing beyond the new quantity


def test_replace_below_the_filled_quantity_fills_the_order_as_appendix_d_says(venue):
    c = venue.client()
    c.send("D", new_order("R1", qty="3000000", price="1.08501", tif="1"))
    reports(c, "R1", 2)
    c.send("G", replace("R2", "R1", qty="500000", price="1.08495", tif="1"))
    (rep,) = reports(c, "R2", 1)
    assert pick(rep, 150, 39, 38, 14, 151, 41) == ("5", "2", "500000", "1000000", "0", "R1")
    assert "filled" in rep[58]
    assert not c.of_type("9", t11="R2")


def test_order_status_known_and_unknown(venue):
    c = venue.client()
    c.send("D", new_order("S1", qty="3000000", price="1.08501"))
    reports(c, "S1", 2)
    c.send("H", [(11, "S1"), (55, "EUR/USD"), (54, "1")])
    st = reports(c, "S1", 3)[2]
    assert pick(st, 20, 150, 39, 14, 151) == ("3", "1", "1", "1000000", "2000000")
    c.send("H", [(11, "NOPE"), (55, "EUR/USD"), (54, "1")])
    (unk,) = reports(c, "NOPE", 1)
    assert pick(unk, 20, 39, 103) == ("3", "8", "5")
    assert 40 not in unk and 59 not in unk and 38 not in unk  # nothing the request did not say


@pytest.mark.parametrize("change,where,reason,text", [
    ({55: "EURUSD"}, "ecn", "1", "symbols are written like EUR/USD"),
    ({55: "EUR/USD"}, "lp", "1", "symbols are written like EURUSD"),
    ({44: "1.085015"}, "ecn", "0", "tick"),
    ({38: "60000000"}, "ecn", "3", "exceeds this venue's maximum"),
    ({59: "0"}, "lp", "0", "TimeInForce '0' is not accepted"),
    ({1: None}, "lp", "0", "required tag 1 (Account) missing"),
])
def test_refusals_say_what_is_wrong(venue, change, where, reason, text):
    c = venue.client(where)
    extra = [] if where == "ecn" else [(1, "ACC1"), (15, "EUR")]
    body = new_order("X1", symbol="EURUSD" if where == "lp" else "EUR/USD", price="1.08501", tif="3", extra=extra)
    body = [(t, change.get(t, v)) for t, v in body if not (t in change and change[t] is None)]
    c.send("D", body)
    (rej,) = reports(c, "X1", 1)
    assert pick(rej, 150, 39, 103) == ("8", "8", reason)
    assert text in rej[58]
    assert rej[55] == dict(body)[55]  # the client's own symbol, even one the venue does not know
    assert 64 not in rej  # no order, no value date
    sent = dict(body)
    assert pick(rej, 40, 59, 38) == (sent[40], sent[59], sent[38])  # what the client asked, echoed
    assert rej.get(15) == sent.get(15)


def test_duplicate_clordid_and_unsupported_message_type(venue):
    c = venue.client()
    c.send("D", new_order("DUP", price="1.08400"))
    c.send("D", new_order("DUP", price="1.08400"))
    first, second = reports(c, "DUP", 2)
    assert first[150] == "0" and pick(second, 150, 103) == ("8", "6")
    seq = c.send("R", [(131, "Q1"), (146, 1), (55, "EUR/USD")])
    (bmr,) = [f(m) for m in c.wait_for("j", 1)]
    assert pick(bmr, 45, 372, 380) == (str(seq), "R", "3")


def test_lp_last_look_fill_with_settlement_dates_and_ioc_folded_into_the_last_fill(venue):
    c = venue.client("lp")
    t0 = time.time_ns()
    c.send("D", new_order("LP1", symbol="EURUSD", qty="12000000", price="1.08504", tif="3",
                          extra=[(1, "ACC1"), (15, "EUR")]))
    (last,) = reports(c, "LP1", 1)
    took = (time.time_ns() - t0) / 1e6
    assert took >= 30  # held for last look before anything came back
    assert last[150] == "1"  # no New ack from this LP
    # an LP without price improvement fills at the requested price, however the ladder lies
    assert (last[31], last[32], last[6]) == ("1.08504", "10000000", "1.08504")
    assert pick(last, 39, 151, 14) == ("4", "0", "10000000") and "IOC remainder" in last[58]
    assert last[55] == "EURUSD" and last[1] == "ACC1"
    assert last[63] == "0" and last[64] == fix_date(value_date(t0, 2)) and last[75] == fix_date(trade_date(t0))
    assert dt.datetime.strptime(last[64], "%Y%m%d").weekday() < 5


def test_lp_last_look_rejects_when_the_price_moves_during_the_hold(venue):
    c = venue.client("lp")
    venue.fault("price_jump symbol=EUR/USD pips=1 venue=lp session=C1 after_orders=1")
    c.send("D", new_order("LL1", symbol="EURUSD", qty="1000000", price="1.08502", tif="4",
                          extra=[(1, "ACC1"), (15, "EUR")]))
    (rej,) = reports(c, "LL1", 1)
    assert pick(rej, 150, 39, 14) == ("8", "8", "0")
    assert "last look: price moved 1.0 pips against the requested 1.08502" in rej[58] and "tolerance 0.2" in rej[58]
    assert venue.status()["venues"]["lp"]["last_look_rejects"] == 1
    c.send("D", new_order("LL2", symbol="EURUSD", qty="1000000", price="1.08512", tif="4",
                          extra=[(1, "ACC1"), (15, "EUR")]))
    (fill,) = reports(c, "LL2", 1)
    assert pick(fill, 150, 39, 31) == ("2", "2", "1.08512")  # no move this time: filled after the hold
