"""Traded liquidity on the wire: what a client takes leaves the book short, subscribers see the
book as it is after the trade (no level that is gone is still shown), the next order meets
that same book, and a level refills at the profile's rate (`refill_ms`). Market frozen: the
ECN offers 1M at 1.08501 and 2M at 1.08502; the LP offers 2M, 3M and 5M from 1.08502."""
from venue_harness import FixClient, VenueProcess, md_request, new_order
from wire import last_asks, pick, reports


def test_the_book_after_a_sweep_shows_what_is_left_and_the_next_order_meets_it(tmp_path):
    v = VenueProcess(tmp_path, market_extra="step_updates = 0", with_lp=False)
    c = FixClient(tmp_path / "c", v.ecn_port, "C1", "ECN1")
    try:
        c.send("V", md_request("MD", ["EUR/USD"], depth=3))
        c.wait_for("W", 1)
        assert last_asks(c)[0] == (108_501_000, 100_000_000)
        c.send("D", new_order("S1", qty="1500000", price="1.08502", tif="3"))
        reports(c, "S1", 3)  # New, 1M at 1.08501, 0.5M at 1.08502
        c.wait(lambda: last_asks(c)[:1] == [(108_502_000, 150_000_000)], "the book after the sweep")
        # the displayed best offer is firm: an IOC at it gets filled
        c.send("D", new_order("S2", qty="1500000", price="1.08502", tif="3"))
        ack, fill = reports(c, "S2", 2)
        assert pick(fill, 150, 31, 32) == ("2", "1.08502", "1500000")
        # and one at the level that is gone gets nothing
        c.send("D", new_order("S3", qty="1000000", price="1.08501", tif="3"))
        ack, done = reports(c, "S3", 2)
        assert pick(done, 150, 14) == ("4", "0")
    finally:
        c.close()
        v.stop()


def test_a_taken_level_refills_at_the_configured_rate(tmp_path):
    v = VenueProcess(tmp_path, market_extra="step_updates = 0", ecn_extra="refill_ms = 300", with_lp=False)
    c = FixClient(tmp_path / "c", v.ecn_port, "C1", "ECN1")
    try:
        c.send("V", md_request("MD", ["EUR/USD"], depth=2))
        c.wait_for("W", 1)
        c.send("D", new_order("R1", qty="1000000", price="1.08501", tif="3"))
        reports(c, "R1", 2)
        c.wait(lambda: last_asks(c)[:1] == [(108_502_000, 200_000_000)], "the taken level gone")
        c.wait(lambda: last_asks(c)[:1] == [(108_501_000, 100_000_000)], "the level back, whole", timeout=10)
        c.send("D", new_order("R2", qty="1000000", price="1.08501", tif="3"))
        ack, fill = reports(c, "R2", 2)
        assert pick(fill, 150, 31) == ("2", "1.08501")
    finally:
        c.close()
        v.stop()


def test_the_lp_quotes_what_it_can_fill_and_says_no_price_when_it_has_none(tmp_path):
    v = VenueProcess(tmp_path, market_extra="step_updates = 0", hold_ms=5)
    c = FixClient(tmp_path / "c", v.lp_port, "C1", "LP1")
    acct = [(1, "ACC1"), (15, "EUR")]
    try:
        c.send("V", md_request("MD", ["EURUSD"], depth=3))
        c.wait_for("W", 1)
        c.send("D", new_order("L1", symbol="EURUSD", qty="10000000", price="1.08504", tif="3", extra=acct))
        (fill,) = reports(c, "L1", 1)
        assert pick(fill, 150, 39, 14) == ("2", "2", "10000000")
        c.wait(lambda: last_asks(c) == [], "the LP's offers, all taken")
        c.send("D", new_order("L2", symbol="EURUSD", qty="1000000", price="1.08504", tif="3", extra=acct))
        (rej,) = reports(c, "L2", 1)
        assert pick(rej, 150, 39) == ("8", "8") and "no price" in rej[58]
    finally:
        c.close()
        v.stop()
