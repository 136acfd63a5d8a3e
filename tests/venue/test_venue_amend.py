"""Cancels and replaces as FX venues answer them, on the wire: Pending Cancel / Pending
Replace first where the profile acknowledges requests (ack_requests), a fill racing a replace
in flight, working orders cancelled when the session drops (cancel_on_disconnect), and a
stale OrigClOrdID of a replace chain answered "unknown order" where the profile says so.
Market frozen: the ECN offers 1M at 1.08501, 2M at 1.08502; bids 1M at 1.08499."""
import pytest
from venue_harness import FixClient, VenueProcess, cancel, new_order, replace
from wire import fields, pick, reports

ECN = "ack_requests = true\ncancel_on_disconnect = true\nstale_orig_cl_ord_id = \"unknown\""


@pytest.fixture
def venue(tmp_path):
    v = VenueProcess(tmp_path, market_extra="step_updates = 0", ecn_extra=ECN, with_lp=False)
    c = FixClient(tmp_path / "c", v.ecn_port, "C1", "ECN1")
    v.c = c
    yield v
    c.close()
    v.stop()


def all_reports(c, cl_ord_id):
    return [fields(m) for m in c.of_type("8", t11=cl_ord_id)]


def test_cancel_and_replace_are_acknowledged_pending_first(venue):
    c = venue.c
    c.send("D", new_order("P1", price="1.08400", tif="1"))
    reports(c, "P1", 1)
    c.send("G", replace("P2", "P1", qty="2000000", price="1.08410", tif="1"))
    pending, done = reports(c, "P2", 2)
    assert pick(pending, 150, 39, 41, 38, 44) == ("E", "E", "P1", "1000000", "1.08400")  # the order as it still is
    assert pick(done, 150, 39, 41, 38, 44, 151) == ("5", "0", "P1", "2000000", "1.08410", "2000000")
    c.send("F", cancel("P3", "P2"))
    pending, done = reports(c, "P3", 2)
    assert pick(pending, 150, 39, 41) == ("6", "6", "P2")
    assert pick(done, 150, 39, 41, 151) == ("4", "4", "P2", "0")


def test_a_fill_racing_a_replace_in_flight_is_counted_by_the_replace(venue):
    c = venue.c
    c.send("D", new_order("F1", qty="3000000", price="1.08497", tif="1"))
    reports(c, "F1", 1)
    venue.fault("fill_in_flight qty=1000000 session=C1")
    c.send("G", replace("F2", "F1", qty="2500000", price="1.08497", tif="1"))
    pending, rep = reports(c, "F2", 2)
    fill = c.wait(lambda: [r for r in all_reports(c, "F1") if r.get(150) == "1"], "the racing fill")[0]
    assert pick(fill, 39, 32, 31, 14, 151) == ("E", "1000000", "1.08497", "1000000", "2000000")  # still pending
    # the replace meets the order as it is: 2.5M ordered, 1M done, 1.5M left (never 2.5M more)
    assert pick(rep, 150, 39, 38, 14, 151) == ("5", "1", "2500000", "1000000", "1500000")


def test_a_replace_racing_a_fill_below_what_is_filled_fills_the_order(venue):
    c = venue.c
    c.send("D", new_order("Q1", qty="3000000", price="1.08497", tif="1"))
    reports(c, "Q1", 1)
    venue.fault("fill_in_flight qty=1000000 session=C1")
    c.send("G", replace("Q2", "Q1", qty="500000", price="1.08497", tif="1"))
    pending, rep = reports(c, "Q2", 2)
    assert pick(rep, 150, 39, 38, 14, 151) == ("5", "2", "500000", "1000000", "0")


def test_working_orders_are_cancelled_when_the_session_drops(venue):
    c = venue.c
    c.send("D", new_order("W1", price="1.08400", tif="1"))
    reports(c, "W1", 1)
    venue.fault("drop session=C1")
    c.wait(lambda: c.app.logouts, "the drop")
    c.wait(lambda: c.app.logons == 2, "back on")
    ack, cxl = reports(c, "W1", 2)
    assert pick(cxl, 150, 39, 151, 20) == ("4", "4", "0", "0") and "cancel on disconnect" in cxl[58]
    assert venue.status()["venues"]["ecn"]["open_orders"] == 0


def test_a_stale_orig_cl_ord_id_of_a_replace_chain_is_an_unknown_order(venue):
    c = venue.c
    c.send("D", new_order("S1", price="1.08400", tif="1"))
    reports(c, "S1", 1)
    c.send("G", replace("S2", "S1", qty="1000000", price="1.08401", tif="1"))
    reports(c, "S2", 2)
    c.send("F", cancel("S3", "S1"))
    (rej,) = [fields(m) for m in c.wait_for("9", 1, t11="S3")]
    assert pick(rej, 102, 434, 41) == ("1", "1", "S1") and "unknown order" in rej[58] and "S2" in rej[58]
    c.send("F", cancel("S4", "S2"))
    pending, done = reports(c, "S4", 2)
    assert done[150] == "4"


def test_without_those_habits_the_venue_answers_at_once_and_keeps_orders(tmp_path):
    v = VenueProcess(tmp_path, market_extra="step_updates = 0", with_lp=False)
    c = FixClient(tmp_path / "c", v.ecn_port, "C1", "ECN1")
    try:
        c.send("D", new_order("K1", price="1.08400", tif="1"))
        reports(c, "K1", 1)
        c.send("G", replace("K2", "K1", qty="1000000", price="1.08401", tif="1"))
        (rep,) = reports(c, "K2", 1)
        assert rep[150] == "5"
        v.fault("drop session=C1")
        c.wait(lambda: c.app.logons == 2, "back on")
        c.poll(0.3)
        assert v.status()["venues"]["ecn"]["open_orders"] == 1
        c.send("F", cancel("K3", "K1"))  # the original ClOrdID still names the order here
        (done,) = reports(c, "K3", 1)
        assert pick(done, 150, 41) == ("4", "K2")
    finally:
        c.close()
        v.stop()
