"""Trade corrections and busts on the wire recompute the order: OrdStatus, LeavesQty and the
book follow each one. Market frozen: the ECN offers 1M at 1.08501, 2M at 1.08502."""
import pytest
from venue_harness import FixClient, VenueProcess, new_order
from wire import fields, pick, reports


@pytest.fixture
def venue(tmp_path):
    v = VenueProcess(tmp_path, market_extra="step_updates = 0", with_lp=False)
    c = FixClient(tmp_path / "c", v.ecn_port, "C1", "ECN1")
    v.c = c
    yield v
    c.close()
    v.stop()


def test_a_filled_ioc_corrected_down_is_done_for_less_not_filled(venue):
    c = venue.c
    venue.fault("correct qty=400000 px_pips=0 after_ms=20 session=C1")
    c.send("D", new_order("I1", qty="1000000", price="1.08501", tif="3"))
    ack, fill, corr = reports(c, "I1", 3)
    assert pick(fill, 39, 14) == ("2", "1000000")
    assert pick(corr, 20, 19, 32, 14, 151, 38) == ("2", fill[17], "400000", "400000", "0", "1000000")
    assert pick(corr, 150, 39) == ("1", "4")  # a partial fill of an order whose rest was never dealt


def test_a_resting_order_corrected_up_to_its_quantity_is_filled_and_leaves_the_book(venue):
    c = venue.c
    venue.fault("correct qty=3000000 px_pips=0 after_ms=100 session=C1")
    c.send("D", new_order("G1", qty="3000000", price="1.08501", tif="1"))
    ack, part = reports(c, "G1", 2)
    assert pick(part, 39, 14, 151) == ("1", "1000000", "2000000")
    c.send("D", new_order("G2", qty="1000000", price="1.08501", tif="1"))  # rests behind G1
    reports(c, "G2", 1)
    corr = c.wait(lambda: [r for r in reports_now(c, "G1") if r.get(20) == "2"], "the correction")[0]
    assert pick(corr, 150, 39, 14, 151) == ("2", "2", "3000000", "0")
    # G1 no longer blocks the book: G2 fills when the market comes to it
    venue.fault("price_jump symbol=EUR/USD pips=-1 session=C1")
    got = c.wait(lambda: [r for r in reports_now(c, "G2") if r.get(150) == "2"], "G2 filled")
    assert pick(got[0], 39, 14) == ("2", "1000000")


def test_a_bust_puts_a_day_order_back_to_work_for_what_it_leaves(venue):
    c = venue.c
    venue.fault("bust after_ms=20 session=C1")
    c.send("D", new_order("B1", qty="1000000", price="1.08501", tif="0"))
    ack, fill, bust = reports(c, "B1", 3)
    assert pick(bust, 20, 19, 39, 14, 151) == ("1", fill[17], "0", "0", "1000000")
    venue.fault("price_jump symbol=EUR/USD pips=-0.2 session=C1")
    again = c.wait(lambda: [r for r in reports_now(c, "B1") if r.get(150) == "2" and r.get(20) == "0"][1:],
                   "the order filled again")
    assert pick(again[0], 39, 14, 151) == ("2", "1000000", "0")


def reports_now(c, cl_ord_id):
    return [fields(m) for m in c.of_type("8", t11=cl_ord_id)]
