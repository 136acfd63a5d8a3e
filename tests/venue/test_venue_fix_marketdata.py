"""Market data over FIX: MarketDataRequest answered with a snapshot (W) and incrementals (X),
several levels per side, depth limits, rejects (Y) for unknown symbols and duplicate ids,
unsubscribe, and a live (wall-paced) stream."""
import pytest
from venue_harness import FixClient, VenueProcess, levels, md_request

from fxpipe.venue.pairs import load

BY_SYMBOL = {p.symbol: p for p in load()}


@pytest.fixture
def stepping(tmp_path):
    # every inbound message moves the market 50 updates: plenty of incrementals, all deterministic
    v = VenueProcess(tmp_path, market_extra="step_updates = 50")
    c = FixClient(tmp_path, v.ecn_port, "C1", "ECN1")
    yield v, c
    c.close()
    v.stop()


def apply_x(book, msg):
    """Applies one X to {symbol: (bids, asks)} by MDEntryPositionNo, as a client would."""
    for g in msg.groups(268):
        bids, asks = book[g.get_str(55)]
        side = bids if g.get_str(269) == "0" else asks
        pos = g.get_int(290) - 1
        action = g.get_str(279)
        if action == "2":
            del side[pos]
        else:
            entry = (g.get_scaled(270, 8), g.get_scaled(271, 2))
            if action == "0":
                side.insert(pos, entry)
            else:
                side[pos] = entry


def test_snapshot_has_every_level_on_both_sides(stepping):
    v, c = stepping
    c.send("V", md_request("MD1", ["EUR/USD", "USD/JPY"], sub="0"))
    w1, w2 = c.wait_for("W", 2, t262="MD1")
    assert (w1.get_str(55), w2.get_str(55)) == ("EUR/USD", "USD/JPY")
    for w in (w1, w2):
        pair = BY_SYMBOL[w.get_str(55)]
        bids, asks = levels(w)
        assert [q for _, q in bids] == [q for _, q in asks] == [100_000_000, 200_000_000, 300_000_000,
                                                                500_000_000, 1_000_000_000]
        assert all(px % pair.tick_e8 == 0 for px, _ in bids + asks)
        assert [px for px, _ in bids] == sorted((px for px, _ in bids), reverse=True)
        assert [px for px, _ in asks] == sorted(px for px, _ in asks)
        assert bids[0][0] < asks[0][0]
        assert [g.get_int(290) for g in w.groups(268)] == [1, 2, 3, 4, 5] * 2
    c.poll(0.2)
    assert not c.of_type("X")  # a snapshot request (263=0) does not subscribe


def test_incrementals_keep_a_subscribers_book_equal_to_the_venues(stepping):
    v, c = stepping
    c.send("V", md_request("SUB", ["EUR/USD", "EUR/JPY"]))
    first = c.wait_for("W", 2, t262="SUB")
    book = {w.get_str(55): tuple(list(x) for x in levels(w)) for w in first}
    done = 0
    for k in range(6):
        c.send("V", md_request(f"SNAP{k}", ["EUR/USD", "EUR/JPY"], sub="0"))
        snaps = c.wait_for("W", 2, t262=f"SNAP{k}")
        # the market moved before this snapshot was taken, so every X for SUB came before it
        upto = c.app.messages.index(snaps[0])
        for m in c.app.messages[done:upto]:
            if m.msg_type == "X" and m.get_str(262) == "SUB":
                apply_x(book, m)
        done = upto
        for w in snaps:
            assert book[w.get_str(55)] == tuple(list(x) for x in levels(w)), (k, w.get_str(55))
    assert v.status()["venues"]["ecn"]["md_messages"] > 20


def test_depth_and_entry_types_are_honoured(stepping):
    v, c = stepping
    c.send("V", md_request("TOP", ["GBP/USD"], depth=1, sub="0"))
    (w,) = c.wait_for("W", 1, t262="TOP")
    assert [len(side) for side in levels(w)] == [1, 1]
    bids_only = [(262, "B"), (263, "0"), (264, 2), (267, 1), (269, "0"), (146, 1), (55, "GBP/USD")]
    c.send("V", bids_only)
    (w,) = c.wait_for("W", 1, t262="B")
    assert [len(side) for side in levels(w)] == [2, 0]


def test_rejects_unknown_symbols_duplicate_ids_and_unsupported_types(stepping):
    v, c = stepping
    c.send("V", md_request("U1", ["EUR/USD", "EURUSD"]))
    (y,) = c.wait_for("Y", 1, t262="U1")
    assert y.get_str(281) == "0" and "EURUSD" in y.get_str(58)
    assert not c.of_type("W", t262="U1")  # nothing of a rejected request
    c.send("V", md_request("D1", ["EUR/USD"]))
    c.wait_for("W", 1, t262="D1")
    c.send("V", md_request("D1", ["USD/JPY"]))
    (y,) = c.wait_for("Y", 1, t262="D1")
    assert y.get_str(281) == "1"
    trades = [(262, "T1"), (263, "1"), (264, 0), (267, 1), (269, "2"), (146, 1), (55, "EUR/USD")]
    c.send("V", trades)
    (y,) = c.wait_for("Y", 1, t262="T1")
    assert y.get_str(281) == "8"


def test_unsubscribe_stops_the_stream(stepping):
    v, c = stepping
    c.send("V", md_request("S1", ["EUR/USD"]))
    c.wait_for("W", 1, t262="S1")
    c.send("V", md_request("S1", ["EUR/USD"], sub="2"))
    c.poll(0.1)
    before = len(c.of_type("X", t262="S1"))
    for k in range(3):
        c.send("V", md_request(f"P{k}", ["EUR/USD"], sub="0"))
    c.wait_for("W", 1, t262="P2")
    assert len(c.of_type("X", t262="S1")) == before


def test_lp_quotes_its_own_symbols_and_depth(stepping, tmp_path):
    v, _ = stepping
    c = FixClient(tmp_path / "lp", v.lp_port, "C1", "LP1")
    try:
        c.send("V", md_request("L1", ["EURUSD"], sub="0"))
        (w,) = c.wait_for("W", 1, t262="L1")
        bids, asks = levels(w)
        assert w.get_str(55) == "EURUSD" and len(bids) == len(asks) == 3
        assert asks[0][0] - bids[0][0] >= 4 * BY_SYMBOL["EUR/USD"].tick_e8  # the LP's markup
        c.send("V", md_request("L2", ["EUR/USD"], sub="0"))
        (y,) = c.wait_for("Y", 1, t262="L2")
        assert "written like EURUSD" in y.get_str(58)
    finally:
        c.close()


def test_a_wall_paced_market_streams_incrementals(tmp_path):
    v = VenueProcess(tmp_path, pace="wall", rate=300)
    c = FixClient(tmp_path, v.ecn_port, "C1", "ECN1")
    try:
        c.send("V", md_request("LIVE", ["EUR/USD", "USD/JPY", "EUR/JPY"]))
        c.wait_for("W", 3, t262="LIVE")
        xs = c.wait_for("X", 10, t262="LIVE")
        syms = {g.get_str(55) for x in xs for g in x.groups(268)}
        assert syms <= {"EUR/USD", "USD/JPY", "EUR/JPY"} and syms
    finally:
        c.close()
        v.stop()


def test_a_replayed_csv_is_what_subscribers_see(tmp_path):
    rows = [("1.08501", "1.08503", "1500000"), ("1.08502", "1.08504", "2500000"), ("1.08499", "1.08502", "500000")]
    csv = tmp_path / "quotes.csv"
    csv.write_text("time,symbol,bid,ask,bid_size,ask_size\n" + "".join(
        f"{1_700_000_000_000_000_000 + k * 20_000_000},EUR/USD,{b},{a},{q},{q}\n" for k, (b, a, q) in enumerate(rows)))
    v = VenueProcess(tmp_path, pace="wall", market_extra=f'replay = "{csv}"\nreplay_loop = true', with_lp=False)
    c = FixClient(tmp_path, v.ecn_port, "C1", "ECN1")
    try:
        c.send("V", md_request("R", ["EUR/USD"], depth=2))
        (w,) = c.wait_for("W", 1, t262="R")
        c.wait_for("X", 6, t262="R")
        book = {"EUR/USD": tuple(list(x) for x in levels(w))}
        seen = {(book["EUR/USD"][0][0], book["EUR/USD"][1][0])}
        for x in c.of_type("X", t262="R"):
            apply_x(book, x)
            bids, asks = book["EUR/USD"]
            seen.add((bids[0], asks[0]))
            assert bids[1] == (bids[0][0] - 1_000, 200_000_000)  # deeper levels from the profile
        want = {((int(b.replace(".", "")) * 1000, int(q) * 100), (int(a.replace(".", "")) * 1000, int(q) * 100))
                for b, a, q in rows}
        assert seen == want  # every recorded quote, exactly, and nothing else
    finally:
        c.close()
        v.stop()
