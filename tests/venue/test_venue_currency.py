"""Currency (15) on the wire: an order dealt in the pair's terms currency (15=USD on EUR/USD)
counts OrderQty in USD and is filled and reported in USD at the venue that deals it, exactly
(the base it takes from the book is the USD amount over the fill price, to the cent); a venue
that deals in the base currency only refuses it and says why; a currency that is neither side
of the pair is always refused. Market frozen: the ECN offers 1M EUR at 1.08501, 2M at 1.08502."""
import pytest
from venue_harness import FixClient, VenueProcess, md_request, new_order
from wire import fields, pick, reports


@pytest.fixture
def venue(tmp_path):
    v = VenueProcess(tmp_path, market_extra="step_updates = 0", ecn_extra='terms_currency = "deal"')
    made = []

    def client(which="ecn"):
        port, comp = (v.ecn_port, "ECN1") if which == "ecn" else (v.lp_port, "LP1")
        c = FixClient(tmp_path / which, port, "C1", comp)
        made.append(c)
        return c

    v.client = client
    yield v
    for c in made:
        c.close()
    v.stop()


def test_a_terms_currency_order_is_dealt_and_reported_in_the_currency_asked(venue):
    c = venue.client()
    c.send("V", md_request("MD", ["EUR/USD"], depth=2))
    c.wait_for("W", 1)
    c.send("D", new_order("T1", qty="1000000", ord_type="1", extra=[(15, "USD")]))
    ack, fill = reports(c, "T1", 2)
    assert pick(ack, 15, 38) == ("USD", "1000000")
    assert pick(fill, 150, 39, 15, 38, 32, 31, 14, 151, 6) == (
        "2", "2", "USD", "1000000", "1000000", "1.08501", "1000000", "0", "1.08501")
    # USD 1,000,000 at 1.08501 took EUR 921,650.49 (1000000 / 1.08501, half to even on the cent)
    # of the 1M offered: the book shows what is left
    x = c.wait(lambda: [m for m in c.of_type("X") if b"78349.51" in m.raw], "the book after the trade")
    assert b"|270=1.08501|271=78349.51|" in x[0].raw.replace(b"\x01", b"|")


def test_a_terms_currency_limit_fok_counts_the_levels_in_usd(venue):
    c = venue.client()
    # 1M EUR at 1.08501 + 2M at 1.08502 can deal USD 1,085,010 + 2,170,040 = 3,255,050
    c.send("D", new_order("T2", qty="3255051", price="1.08502", tif="4", extra=[(15, "USD")]))
    ack, kill = reports(c, "T2", 2)
    assert pick(kill, 150, 39, 14, 15) == ("4", "4", "0", "USD")
    c.send("D", new_order("T3", qty="3255050", price="1.08502", tif="4", extra=[(15, "USD")]))
    ack, p1, p2 = reports(c, "T3", 3)
    assert [(r[32], r[31]) for r in (p1, p2)] == [("1085010", "1.08501"), ("2170040", "1.08502")]
    assert pick(p2, 39, 14, 15) == ("2", "3255050", "USD")


def test_the_base_currency_order_is_unchanged(venue):
    c = venue.client()
    c.send("D", new_order("B1", qty="1000000", ord_type="1", extra=[(15, "EUR")]))
    ack, fill = reports(c, "B1", 2)
    assert pick(fill, 15, 32, 31) == ("EUR", "1000000", "1.08501")


def test_a_base_only_venue_refuses_a_terms_currency_order_and_says_why(venue):
    c = venue.client("lp")
    c.send("D", new_order("L1", symbol="EURUSD", qty="1000000", price="1.08502", tif="3",
                          extra=[(1, "ACC1"), (15, "USD")]))
    (rej,) = reports(c, "L1", 1)
    assert pick(rej, 150, 39, 15, 38) == ("8", "8", "USD", "1000000")
    assert "terms currency" in rej[58] and "EUR" in rej[58]


def test_a_currency_of_neither_side_is_refused(venue):
    c = venue.client()
    c.send("D", new_order("J1", qty="1000000", ord_type="1", extra=[(15, "JPY")]))
    (rej,) = [fields(m) for m in c.wait_for("8", 1, t11="J1")]
    assert pick(rej, 150, 39) == ("8", "8") and "neither side of EUR/USD" in rej[58]
