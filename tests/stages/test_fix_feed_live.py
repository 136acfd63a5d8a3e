"""The feed's FIX source against the venue simulator on loopback (a real process, step-paced so
the market moves only when a venue receives an application message): quotes equal the venue's
book to the unit on both symbol formats; a dropped session, a sequence gap, a refused request
and a message that does not decode each say what happened with a market-data SessionEvent, and
prices come back only from fresh snapshots; the same inputs give the same event stream."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for _p in (HERE.parent, HERE.parent / "venue"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from venue_harness import FixClient, VenueProcess, levels, md_request  # noqa: E402

import fxpipe.model.events as ev  # noqa: E402
from fxpipe.fix import codec  # noqa: E402
from fxpipe.stages.fix_feed import FixFeedSource, MarketDataLink  # noqa: E402
from fxpipe.stages.market_state import MarketStateStage  # noqa: E402

ECN, LP = 1, 2                 # refdata venue ids (config/refdata.toml)
EURUSD, USDJPY = 1, 3
WAIT_S = 20.0
_S, _R = ev.SessionState, ev.SessionReason


class Run:
    """A venue process, the source subscribed to both venues, and a checker client per venue
    whose snapshot requests (263=0) both move the market and show the venue's book."""

    def __init__(self, tmp: Path, run_id: str = "", lp: bool = True, ecn_link: dict | None = None):
        args = ("--run-id", run_id) if run_id else ()
        self.venue = VenueProcess(tmp, clients=("FXPIPE-MD", "C1"), market_extra="step_updates = 20", args=args)
        links = [MarketDataLink(ECN, self.venue.ecn_port, "ECN1", **(ecn_link or
                                dict(instruments=["EUR/USD", "USD/JPY"], depth=5)))]
        if lp:
            links.append(MarketDataLink(LP, self.venue.lp_port, "LP1", instruments=["EUR/USD"], depth=3))
        self.src = FixFeedSource(links, tmp / "feed", reconnect_min_s=0.1, reconnect_max_s=0.5)
        self.events: list = []
        self.tmp = tmp
        self.checkers: dict[int, FixClient] = {}
        self.n_checks = 0

    def poll_until(self, pred, what: str, seconds: float = WAIT_S):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.events += self.src.poll(0.02)
            for c in self.checkers.values():
                c.engine.poll(0)
            if pred(self.events):
                return self.events
        raise AssertionError(f"no {what} within {seconds} s; events: {describe(self.events[-12:])}; "
                             f"stats: {self.src.stats()}")

    def checker(self, venue: int) -> FixClient:
        if venue not in self.checkers:
            port, comp = (self.venue.ecn_port, "ECN1") if venue == ECN else (self.venue.lp_port, "LP1")
            self.checkers[venue] = FixClient(self.tmp / f"checker{venue}", port, "C1", comp)
        return self.checkers[venue]

    def venue_book(self, venue: int, symbol: str) -> tuple[list, list]:
        """The venue's book now (the request moves the market first, as every inbound message does)."""
        self.n_checks += 1
        c = self.checker(venue)
        req = f"CHK{self.n_checks}"
        c.send("V", md_request(req, [symbol], sub="0"))
        w, = c.wait_for("W", 1, t262=req)
        return levels(w)

    def close(self) -> None:
        for c in self.checkers.values():
            c.close()
        self.src.close()
        self.venue.stop()


@pytest.fixture
def run(tmp_path):
    r = Run(tmp_path)
    yield r
    r.close()


def describe(events) -> list:
    out = []
    for e in events:
        if int(e["type"]) == ev.EventType.SESSION:
            out.append(("S", int(e["venue_id"]), _S(int(e["state"])).name, _R(int(e["reason"])).name))
        else:
            out.append(("Q", int(e["venue_id"]), int(e["instrument_id"]), int(e["level"]),
                        int(e["bid_px_e8"]), int(e["ask_px_e8"])))
    return out


def sessions(events, venue: int) -> list[tuple[int, int]]:
    return [(int(e["state"]), int(e["reason"])) for e in events
            if int(e["type"]) == ev.EventType.SESSION and int(e["venue_id"]) == venue]


def active(venue: int, count: int = 1):
    return lambda evs: sum(1 for s, _ in sessions(evs, venue) if s == _S.ACTIVE) >= count


def shown(events, venue: int, instrument: int) -> tuple[list, list]:
    """The book the source's quotes show now: the last quote per level since the last snapshot
    or session event of the venue, levels past the deepest last quoted dropped."""
    by_level: dict[int, tuple] = {}
    for e in events:
        if int(e["venue_id"]) != venue:
            continue
        if int(e["type"]) == ev.EventType.SESSION:
            by_level = {}
        elif int(e["instrument_id"]) == instrument:
            if int(e["level"]) == 0:
                by_level = {}
            by_level[int(e["level"])] = (int(e["bid_px_e8"]), int(e["bid_qty_e2"]),
                                         int(e["ask_px_e8"]), int(e["ask_qty_e2"]))
    bids = [(b, bq) for _, (b, bq, _a, _aq) in sorted(by_level.items()) if bq]
    asks = [(a, aq) for _, (_b, _bq, a, aq) in sorted(by_level.items()) if aq]
    return bids, asks


def wait_equal(run: Run, venue: int, instrument: int, symbol: str):
    want = run.venue_book(venue, symbol)
    depth = run.src.venues[venue].link.depth
    want = (want[0][:depth], want[1][:depth])
    run.poll_until(lambda evs: shown(evs, venue, instrument) == want,
                   f"quotes of venue {venue} instrument {instrument} equal to the venue's {want}")
    return want


def test_quotes_equal_the_venues_book_on_both_symbol_formats(run):
    run.poll_until(lambda evs: active(ECN)(evs) and active(LP)(evs), "ACTIVE on both venues")
    for venue in (ECN, LP):
        assert sessions(run.events, venue)[0] == (_S.ACTIVE, _R.LOGON)
    ecn_eur = wait_equal(run, ECN, EURUSD, "EUR/USD")       # slash symbols, 5 levels
    assert len(ecn_eur[0]) == len(ecn_eur[1]) == 5
    wait_equal(run, ECN, USDJPY, "USD/JPY")
    lp_eur = wait_equal(run, LP, EURUSD, "EURUSD")          # concat symbols, 3 levels
    assert len(lp_eur[0]) == 3
    quotes = [e for e in run.events if int(e["type"]) == ev.EventType.QUOTE]
    assert all(0 < int(q["ts_receive_ns"]) <= int(q["ts_decode_ns"]) for q in quotes)
    assert all(int(q["ts_venue_ns"]) > 0 and int(q["md_seq"]) > 0 for q in quotes)
    seqs = [int(e["sequence"]) for e in run.events]
    assert seqs == list(range(1, len(seqs) + 1))
    assert any(not int(q["flags"]) & ev.EventFlag.SNAPSHOT for q in quotes)     # incrementals came


def test_dropped_session_says_disconnected_then_active_with_fresh_quotes(run):
    ms = MarketStateStage()
    run.poll_until(active(ECN), "ACTIVE")
    wait_equal(run, ECN, EURUSD, "EUR/USD")
    for e in run.events:
        ms.on_event(e)
    assert ms.venue_quote(ECN, EURUSD) is not None
    mark = len(run.events)
    run.venue.fault("drop session=FXPIPE-MD venue=ecn")
    run.venue_book(ECN, "EUR/USD")                          # any inbound message fires the fault
    run.poll_until(lambda evs: (_S.DISCONNECTED, _R.DISCONNECTED) in sessions(evs[mark:], ECN), "DISCONNECTED")
    after = run.events[mark:]
    gone = [i for i, e in enumerate(after) if int(e["type"]) == ev.EventType.SESSION and int(e["venue_id"]) == ECN][0]
    for e in after[:gone + 1]:
        ms.on_event(e)
    assert ms.venue_quote(ECN, EURUSD) is None              # the venue's prices are withdrawn
    run.poll_until(lambda evs: active(ECN)(evs[mark:]), "ACTIVE after the reconnect")
    assert [s for s in sessions(run.events[mark:], ECN)] == [(_S.DISCONNECTED, _R.DISCONNECTED), (_S.ACTIVE, _R.LOGON)]
    back = [i for i, e in enumerate(run.events) if i >= mark and int(e["type"]) == ev.EventType.SESSION
            and int(e["state"]) == _S.ACTIVE][0]
    fresh = [e for e in run.events[back:] if int(e["type"]) == ev.EventType.QUOTE and int(e["venue_id"]) == ECN]
    assert fresh and int(fresh[0]["flags"]) & ev.EventFlag.SNAPSHOT
    assert not any(int(e["type"]) == ev.EventType.QUOTE and int(e["venue_id"]) == ECN
                   for e in run.events[mark + gone:back])       # nothing quoted while down
    want = wait_equal(run, ECN, EURUSD, "EUR/USD")
    for e in run.events[mark + gone + 1:]:
        ms.on_event(e)
    vq = ms.venue_quote(ECN, EURUSD)
    assert vq is not None and (vq.bid_px_e8, vq.ask_px_e8) == (want[0][0][0], want[1][0][0])
    assert run.src.stats()["venues"][ECN]["logons"] == 2


def test_sequence_gap_re_requests_snapshots_and_quotes_nothing_stale(run):
    run.poll_until(active(ECN), "ACTIVE")
    wait_equal(run, ECN, EURUSD, "EUR/USD")
    mark = len(run.events)
    run.venue.fault("seq_gap n=3 session=FXPIPE-MD venue=ecn")
    for _ in range(10):                 # the fault fires on the venue's timer; the next X shows it
        run.venue_book(ECN, "EUR/USD")
        run.events += run.src.poll(0.1)
        if sessions(run.events[mark:], ECN):
            break
    run.poll_until(lambda evs: (_S.ACTIVE, _R.RESEND_COMPLETE) in sessions(evs[mark:], ECN),
                   "ACTIVE (RESEND_COMPLETE) after the gap")
    said = sessions(run.events[mark:], ECN)
    assert said == [(_S.RESENDING, _R.SEQUENCE_GAP), (_S.ACTIVE, _R.RESEND_COMPLETE)]
    kinds = [(int(e["type"]), int(e["venue_id"])) for e in run.events[mark:]]
    gap = kinds.index((int(ev.EventType.SESSION), ECN))
    back = kinds.index((int(ev.EventType.SESSION), ECN), gap + 1)
    assert (int(ev.EventType.QUOTE), ECN) not in kinds[gap:back]
    first = run.events[mark + back + 1]
    assert int(first["type"]) == ev.EventType.QUOTE and int(first["flags"]) & ev.EventFlag.SNAPSHOT
    wait_equal(run, ECN, EURUSD, "EUR/USD")
    wait_equal(run, ECN, USDJPY, "USD/JPY")
    st = run.src.stats()["venues"][ECN]
    assert st["resubscribes"] == 1 and st["md_req_id"] == "MD-1-2" and "gap" in st["last_error"]


def test_request_reject_for_unknown_symbols_says_disconnected_with_the_reason(tmp_path):
    # EURUSD is how the LP writes it; the ECN writes EUR/USD and refuses the other form
    r = Run(tmp_path, lp=False, ecn_link=dict(instruments=["EUR/USD"], symbol_format="concat"))
    try:
        r.poll_until(lambda evs: bool(sessions(evs, ECN)), "a session event")
        r.events += r.src.poll(0.3)
        assert sessions(r.events, ECN) == [(_S.DISCONNECTED, _R.REJECT_RECEIVED)]
        e = [e for e in r.events if int(e["type"]) == ev.EventType.SESSION][0]
        assert int(e["reject_code"]) == 0 and int(e["ref_seq"]) > 0      # 281=0: unknown symbol
        assert not [e for e in r.events if int(e["type"]) == ev.EventType.QUOTE]
        st = r.src.stats()["venues"][ECN]
        assert st["rejects"] == 1 and st["state"] == "DISCONNECTED"
        assert "EURUSD" in st["last_error"] and "MDReqRejReason 0" in st["last_error"]
    finally:
        r.close()


def test_undecodable_market_data_re_requests_snapshots_without_crashing(run):
    run.poll_until(active(ECN), "ACTIVE")
    mark = len(run.events)
    v = run.src.venues[ECN]
    # an X whose NoMDEntries promises two entries and carries one: passes framing, not the decoder
    raw = codec.encode("X", "ECN1", "FXPIPE-MD", 999, time.time_ns(),
                       [(262, v.req_id), (268, 2), (279, "2"), (269, "0"), (55, "EUR/USD"), (290, 5)])
    run.src.on_message(v.session, codec.parse(raw, validate=False))
    run.poll_until(lambda evs: (_S.ACTIVE, _R.RESEND_COMPLETE) in sessions(evs[mark:], ECN), "recovery")
    assert sessions(run.events[mark:], ECN) == [(_S.RESENDING, _R.SEQUENCE_GAP), (_S.ACTIVE, _R.RESEND_COMPLETE)]
    assert run.src.stats()["venues"][ECN]["undecodable"] == 1
    wait_equal(run, ECN, EURUSD, "EUR/USD")


def test_garbled_frame_on_the_wire_is_dropped_and_quotes_go_on(run):
    run.poll_until(active(ECN), "ACTIVE")
    mark = len(run.events)
    run.venue.fault("garble kind=checksum session=FXPIPE-MD venue=ecn")
    session = run.src.venues[ECN].session
    events_log = run.tmp / "feed" / "fix-log" / f"{session.cfg.name}.events.log"

    def dropped(_evs) -> bool:
        session.log.flush()
        return events_log.exists() and "garbled" in events_log.read_text()

    run.poll_until(dropped, "the garbled frame dropped by the session")
    wait_equal(run, ECN, EURUSD, "EUR/USD")
    assert sessions(run.events[mark:], ECN) == []
    assert run.src.venues[ECN].session.is_logged_on


def stream(tmp: Path) -> list[tuple]:
    r = Run(tmp, run_id="DETERMIN", lp=False)
    try:
        r.poll_until(active(ECN), "ACTIVE")
        for _ in range(4):
            wait_equal(r, ECN, EURUSD, "EUR/USD")
        wait_equal(r, ECN, USDJPY, "USD/JPY")
        keep = ("type", "venue_id", "instrument_id", "sequence", "flags")
        out = []
        for e in r.events:
            t = int(e["type"])
            extra = ("state", "reason") if t == ev.EventType.SESSION else \
                ("level", "bid_px_e8", "bid_qty_e2", "ask_px_e8", "ask_qty_e2", "md_seq")
            out.append(tuple(int(e[k]) for k in keep + extra))
        return out
    finally:
        r.close()


def test_same_venue_seed_and_requests_give_the_same_event_stream(tmp_path):
    a = stream(tmp_path / "a")
    b = stream(tmp_path / "b")
    assert len(a) > 20 and a == b
