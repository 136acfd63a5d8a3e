"""Replay from an fxpipe journal: Quote events written with the journal's own writer, selected by
venue and instrument, mapped to the market's pairs through the reference data, paced by event
time; and every way the input can be wrong, each with a message naming the fix."""
import os
import subprocess
import sys

import numpy as np
import pytest
from test_venue_fix_marketdata import apply_x
from venue_harness import ROOT, FixClient, VenueProcess, free_port, levels, md_request

from fxpipe.journal import Journal
from fxpipe.model import events as ev
from fxpipe.model.refdata import load_refdata
from fxpipe.venue.config import parse
from fxpipe.venue.journal_replay import load_journal, open_journal
from fxpipe.venue.pairs import load
from fxpipe.venue.profiles import ConfigError
from fxpipe.venue.replay import ReplayError

REF = load_refdata()
PAIRS = load(REF)
POS = {p.symbol: i for i, p in enumerate(PAIRS)}
ECN1, LP1 = REF.venue("ECN1").id, REF.venue("LP1").id
EURUSD, USDJPY = REF.instrument("EUR/USD").id, REF.instrument("USD/JPY").id
T0 = 1_700_000_000_000_000_000


def quotes(rows) -> np.ndarray:
    """rows: (ts_receive_ns, venue_id, instrument_id, bid_e8, ask_e8, bid_qty_e2, ask_qty_e2[, level, ts_venue_ns])"""
    q = ev.empty(ev.EventType.QUOTE, len(rows))
    for k, row in enumerate(rows):
        ts, venue, inst, bid, ask, bq, aq, *rest = row
        level, ts_venue = (rest + [0, 0])[:2] if rest else (0, 0)
        q[k]["ts_receive_ns"], q[k]["venue_id"], q[k]["instrument_id"] = ts, venue, inst
        q[k]["bid_px_e8"], q[k]["ask_px_e8"], q[k]["bid_qty_e2"], q[k]["ask_qty_e2"] = bid, ask, bq, aq
        q[k]["level"], q[k]["ts_venue_ns"], q[k]["md_seq"] = level, ts_venue, k + 1
    return q


def journal(path, rows):
    with Journal.open(path, fsync="never", segment_size=1 << 20) as j:
        j.append_events(quotes(rows))
    return path


MIXED = [
    (T0, ECN1, EURUSD, 108_501_000, 108_503_000, 150_000_000, 160_000_000),
    (T0 + 5, LP1, EURUSD, 108_400_000, 108_600_000, 100_000_000, 100_000_000),     # another venue
    (T0 + 6, ECN1, EURUSD, 108_500_000, 108_502_000, 100_000_000, 100_000_000, 1),  # a deeper level
    (T0 + 10, ECN1, USDJPY, 14_950_100_000, 14_950_300_000, 200_000_000, 200_000_000),
    (T0 + 20, ECN1, EURUSD, 108_502_000, 108_504_000, 250_000_000, 250_000_000),
]


def test_selected_quotes_play_exactly(tmp_path):
    path = journal(tmp_path / "md", MIXED)
    rows = load_journal(path, PAIRS, REF, venue="ECN1", instruments=("EUR/USD",))
    assert rows.ts_ns.tolist() == [T0, T0 + 20]
    assert rows.pair.tolist() == [POS["EUR/USD"]] * 2
    assert rows.bid_e8.tolist() == [108_501_000, 108_502_000] and rows.ask_e8.tolist() == [108_503_000, 108_504_000]
    assert rows.bid_qty_e2.tolist() == [150_000_000, 250_000_000] and rows.ask_qty_e2.tolist() == [160_000_000,
                                                                                                 250_000_000]
    src = open_journal(path, PAIRS, REF, venue=ECN1)  # by id; every instrument
    assert [src.next_ts_ns, src.advance()] == [T0, [POS["EUR/USD"]]]
    assert src.ask_qty_e2[POS["EUR/USD"]] == 160_000_000
    assert src.advance() == [POS["USD/JPY"]] and src.bid_e8[POS["USD/JPY"]] == 14_950_100_000
    assert src.advance() == [POS["EUR/USD"]] and src.bid_e8[POS["EUR/USD"]] == 108_502_000
    assert src.exhausted and src.advance() == []


def test_event_time_falls_back_and_never_goes_back(tmp_path):
    path = journal(tmp_path / "md", [
        (T0 + 100, ECN1, EURUSD, 108_501_000, 108_503_000, 1, 1),
        (0, ECN1, EURUSD, 108_502_000, 108_504_000, 1, 1, 0, T0 + 200),  # no receive time: the venue's
        (T0 + 150, ECN1, EURUSD, 108_503_000, 108_505_000, 1, 1),         # earlier than the one before
        (T0 + 300, ECN1, EURUSD, 108_504_000, 108_506_000, 1, 1),
    ])
    assert load_journal(path, PAIRS, REF).ts_ns.tolist() == [T0 + 100, T0 + 200, T0 + 200, T0 + 300]


def test_a_long_journal_loops_across_chunks(tmp_path):
    n = 10_000
    ts = T0 + np.arange(n, dtype=np.int64) * 1_000
    bids = 108_000_000 + (np.arange(n) % 50) * 1_000
    path = journal(tmp_path / "md", [(int(t), ECN1, EURUSD, int(b), int(b) + 2_000, 100, 100)
                                     for t, b in zip(ts, bids, strict=True)])
    src = open_journal(path, PAIRS, REF, loop=True)
    seen = []
    for _ in range(n + 10):
        seen.append((src.next_ts_ns, src.advance()))
    assert [t for t, _ in seen] == sorted(t for t, _ in seen) and len({t for t, _ in seen}) == n + 10
    assert src.bid_e8[POS["EUR/USD"]] == int(bids[9])


def test_missing_or_empty_journals(tmp_path):
    with pytest.raises(ReplayError, match="no such directory; give the directory an fxpipe journal writes"):
        load_journal(tmp_path / "nowhere", PAIRS, REF)
    (tmp_path / "quotes.csv").write_text("time,symbol,bid,ask\n")
    with pytest.raises(ReplayError, match="is a file; .* market.replay instead"):
        load_journal(tmp_path / "quotes.csv", PAIRS, REF)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReplayError, match=r"holds no journal segments \(\*\.fxj\)"):
        load_journal(tmp_path / "empty", PAIRS, REF)
    with Journal.open(tmp_path / "timers", fsync="never", segment_size=1 << 20) as j:
        j.append_events(ev.empty(ev.EventType.TIMER, 3))
    with pytest.raises(ReplayError, match="no quotes to replay: the journal holds no Quote events"):
        load_journal(tmp_path / "timers", PAIRS, REF)


def test_no_quotes_left_after_the_selection_says_what_there_is(tmp_path):
    path = journal(tmp_path / "md", MIXED)
    with pytest.raises(ReplayError, match=r"none of its 5 Quote events is a top-of-book quote \(level 0\) of venue "
                                          r"LP2 for USD/JPY; it has those of venues ECN1 \(id 1\), LP1 \(id 2\) "
                                          r"for EUR/USD \(id 1\), USD/JPY \(id 3\)"):
        load_journal(path, PAIRS, REF, venue="LP2", instruments=("USD/JPY",))
    deep = journal(tmp_path / "deep", [MIXED[2]])
    with pytest.raises(ReplayError, match=r"none of its 1 Quote events is a top-of-book quote \(level 0\)$"):
        load_journal(deep, PAIRS, REF)


def test_unknown_instruments_and_venues(tmp_path):
    path = journal(tmp_path / "md", MIXED)
    with pytest.raises(ReplayError, match="replay_venue: unknown venue 'XCHG'"):
        load_journal(path, PAIRS, REF, venue="XCHG")
    with pytest.raises(ReplayError, match="replay_instruments: unknown instrument 'EUR/XYZ'"):
        load_journal(path, PAIRS, REF, instruments=("EUR/XYZ",))
    small = load(REF, ["EUR/USD"])
    with pytest.raises(ReplayError, match="USD/JPY is not a pair of this market .*add it to market.pairs"):
        load_journal(path, small, REF, instruments=("USD/JPY",))
    with pytest.raises(ReplayError, match=r"record 4 quotes USD/JPY \(instrument id 3\), which this market does "
                                          r"not quote \(EUR/USD\); choose the instruments"):
        load_journal(path, small, REF)
    alien = journal(tmp_path / "alien", [(T0, ECN1, 999, 100_000_000, 100_002_000, 1, 1)])
    with pytest.raises(ReplayError, match="record 1 quotes instrument id 999, which .*refdata.toml does not list: "
                                          "the journal was written with other reference data"):
        load_journal(alien, PAIRS, REF)


@pytest.mark.parametrize("bid,ask,bq,aq,what", [
    (108_501_000, 108_503_000, 0, 100, "is one-sided"),
    (108_503_000, 108_501_000, 100, 100, "is crossed or locked"),
    (108_501_000, 108_501_000, 100, 100, "is crossed or locked"),
    (108_501_500, 108_503_000, 100, 100, "has a price off the pair's tick"),
    (-108_501_000, 108_503_000, 100, 100, "has a price that is not positive"),
])
def test_bad_quotes_name_the_record(tmp_path, bid, ask, bq, aq, what):
    path = journal(tmp_path / "md", [MIXED[0], (T0 + 1, ECN1, EURUSD, bid, ask, bq, aq)])
    with pytest.raises(ReplayError, match=f"record 2 \\(EUR/USD, .*\\) {what}.*fxpipe journal show {path} "
                                          f"--from-seq 2 -n 1"):
        load_journal(path, PAIRS, REF)


def base(**market):
    return {"market": market, "venues": {"v": {"port": 9000, "clients": ["C"]}}}


@pytest.mark.parametrize("market,msg", [
    ({"replay": "q.csv", "replay_journal": "md"}, "choose one source"),
    ({"replay_venue": "ECN1"}, "market.replay_venue selects quotes of market.replay_journal"),
    ({"replay": "q.csv", "replay_instruments": ["EUR/USD"]}, "market.replay_instruments selects quotes of"),
    ({"replay_journal": 5}, "market.replay_journal: a path"),
    ({"replay_journal": "md", "replay_venue": True}, "market.replay_venue: a venue of the reference data"),
    ({"replay_journal": "md", "replay_instruments": []}, "market.replay_instruments: a non-empty list"),
    ({"replay_journal": "md", "replay_venue": "NOPE"}, "market.replay_venue: unknown venue 'NOPE'"),
    ({"replay_journal": "md", "replay_instruments": ["XAU/USD"]}, "market.replay_instruments: unknown instrument"),
    ({"replay_journal": "md", "pairs": ["EUR/USD"], "replay_instruments": ["USD/JPY"]}, "not a pair of this market"),
    ({"replay_journal": "md", "replay_loop": "yes"}, "market.replay_loop: true or false"),
])
def test_config_errors(market, msg):
    with pytest.raises(ConfigError, match=msg):
        parse(base(**market))


def test_config_takes_a_journal_source():
    m = parse(base(replay_journal="var/journal/md", replay_venue=1, replay_instruments=["USD/JPY"])).market
    assert (m.replay_journal, m.replay_venue, m.replay_instruments) == ("var/journal/md", 1, ("USD/JPY",))


def venue_cli(tmp_path, *args):
    cfg = tmp_path / "venues.toml"
    cfg.write_text(f'[session]\nstore_dir = "{tmp_path / "s"}"\nlog_dir = "{tmp_path / "l"}"\n'
                   f'[venues.v]\nport = {free_port()}\nclients = ["C"]\n')
    env = dict(os.environ, PYTHONPATH=f"{ROOT / 'src'}:{ROOT}")
    return subprocess.run([sys.executable, "-m", "fxpipe", "venue", "--config", str(cfg), "--duration", "0", *args],
                          capture_output=True, text=True, env=env, timeout=60)


def test_cli_errors_are_one_clear_line(tmp_path):
    r = venue_cli(tmp_path, "--replay-journal", str(tmp_path / "nowhere"))
    assert r.returncode == 2 and "no such directory; give the directory an fxpipe journal writes" in r.stderr
    path = journal(tmp_path / "md", MIXED)
    r = venue_cli(tmp_path, "--replay-journal", str(path), "--replay-venue", "NOPE")
    assert r.returncode == 2 and "market.replay_venue: unknown venue 'NOPE'" in r.stderr
    r = venue_cli(tmp_path, "--replay-venue", "ECN1")
    assert r.returncode == 2 and "selects quotes of market.replay_journal" in r.stderr
    r = venue_cli(tmp_path, "--replay-journal", str(path), "--replay-speed", "-2")
    assert r.returncode == 2 and "a number >= 0" in r.stderr


def test_cli_replays_a_journal(tmp_path):
    path = journal(tmp_path / "md", MIXED)
    r = venue_cli(tmp_path, "--replay-journal", str(path), "--replay-venue", "ECN1", "--replay-instrument", "EUR/USD")
    assert r.returncode == 0, r.stderr
    stopped = [line for line in r.stdout.splitlines() if '"stopped"' in line][0]
    assert f'"replay": {{"source": "{path}", "quotes": 2' in stopped


def test_a_fix_subscriber_sees_exactly_the_journaled_quotes(tmp_path):
    wanted = [(108_501_000, 108_503_000, 150_000_000, 160_000_000), (108_502_000, 108_504_000, 250_000_000, 250_000_000),
              (108_499_000, 108_502_000, 50_000_000, 70_000_000)]
    rows = []
    for k, (b, a, bq, aq) in enumerate(wanted):
        t = T0 + k * 20_000_000
        rows += [(t, ECN1, EURUSD, b, a, bq, aq),
                 (t + 1, LP1, EURUSD, b - 9_000, a + 9_000, bq, aq),          # another venue's quote
                 (t + 2, ECN1, EURUSD, b - 5_000, a + 5_000, bq, aq, 1),      # a deeper level
                 (t + 3, ECN1, USDJPY, 14_950_100_000 + k * 1_000, 14_950_300_000 + k * 1_000, bq, aq)]
    path = journal(tmp_path / "md", rows)
    extra = (f'replay_journal = "{path}"\nreplay_venue = "ECN1"\nreplay_instruments = ["EUR/USD"]\n'
             f'replay_loop = true\nreplay_speed = 1.0')
    v = VenueProcess(tmp_path, pace="wall", market_extra=extra, with_lp=False)
    c = FixClient(tmp_path, v.ecn_port, "C1", "ECN1")
    try:
        c.send("V", md_request("J", ["EUR/USD", "USD/JPY"], depth=2))
        snaps = c.wait_for("W", 2, t262="J")
        c.wait_for("X", 6, t262="J")
        w = {m.get_str(55): m for m in snaps}
        assert levels(w["USD/JPY"]) == ([], [])  # USD/JPY was not selected: never quoted
        w = w["EUR/USD"]
        book = {"EUR/USD": tuple(list(x) for x in levels(w))}
        seen = {(book["EUR/USD"][0][0], book["EUR/USD"][1][0])}
        for x in c.of_type("X", t262="J"):
            assert {g.get_str(55) for g in x.groups(268)} == {"EUR/USD"}  # USD/JPY was not selected
            apply_x(book, x)
            bids, asks = book["EUR/USD"]
            seen.add((bids[0], asks[0]))
            assert bids[1] == (bids[0][0] - 1_000, 200_000_000)  # deeper levels from the profile
        assert seen == {((b, bq), (a, aq)) for b, a, bq, aq in wanted}  # every journaled quote, exactly
        status = v.status()["market"]["replay"]
        assert status["source"] == str(path) and status["quotes"] == 3
    finally:
        c.close()
        v.stop()
