"""The decision stage's quote path in C (fxpipe.stages.quotes) against what it must do, written
out in Python here: the book each quote leaves, the Quote each strategy is handed, the context it
is called with, and which quotes are skipped."""
from __future__ import annotations

import random

import numpy as np
import pytest

import fxpipe.model.events as ev
from fxpipe.stages.decision import DecisionStage
from fxpipe.stages.market_state import MarketStateStage, VenueQuote
from fxpipe.stages.quotes import QuotePath, apply_quote, top_of
from fxpipe.strategy import Quote, Strategy

HERE = "tests.stages.test_quote_path"


class Witness(Strategy):
    """Writes down what it was handed and the context it was called in."""

    def __init__(self, fail_on: int = 0):
        self.calls: list[tuple] = []
        self.fail_on = fail_on

    def on_quote(self, q):
        ctx = self.ctx
        self.calls.append((q, type(q), ctx.now_ns, ctx.trigger_seq, ctx.hops))
        if q.seq == self.fail_on:
            raise RuntimeError("a defect in the strategy")
        if q.seq % 4 == 0:
            ctx.submit(q.instrument_id, ev.Side.BUY, 100_00, q.bid_px_e8)


def stage(*params: dict) -> DecisionStage:
    return DecisionStage([{"strategy": f"{HERE}:Witness", "strategy_id": i + 1, "params": p}
                          for i, p in enumerate(params)])


def random_quotes(n: int, seed: int) -> list[np.void]:
    rnd = random.Random(seed)
    out = []
    for seq in range(1, n + 1):
        q = ev.empty(ev.EventType.QUOTE, 1)[0]
        q["sequence"], q["venue_id"], q["instrument_id"] = seq, rnd.choice((1, 2, 3)), rnd.choice((1, 7))
        q["ts_venue_ns"] = rnd.choice((0, seq * 1_000 + 5))
        q["ts_receive_ns"] = rnd.choice((0, seq * 1_000_000))
        q["ts_decode_ns"] = seq * 1_000_000 + 17
        bid = 1_08_000_000 + rnd.randrange(-500, 500) * 1_000
        q["bid_px_e8"], q["ask_px_e8"] = bid, bid + rnd.randrange(1, 30) * 1_000
        q["bid_qty_e2"], q["ask_qty_e2"] = rnd.choice((0, 1_000_000_00)), rnd.choice((0, 2_000_000_00))
        q["quote_cond"] = rnd.choice((ev.QuoteCondition.FIRM, ev.QuoteCondition.INDICATIVE))
        q["level"] = 1 if rnd.random() < 0.1 else 0
        q["flags"] = ev.EventFlag.SYNTHETIC if rnd.random() < 0.1 else 0
        out.append(q)
    return out


def expected_run(quotes: list[np.void]):
    """The quote path's rules, in Python: skip synthetic quotes and deeper levels (they do not
    touch the book or the clock); the market clock is the latest event time (receive stamp, else
    venue stamp); the quote's venue book is replaced; each strategy gets a Quote with that time
    and the event's sequence, called with the event's hop stamps on its context."""
    books: dict[int, dict[int, VenueQuote]] = {}
    clock, calls = 0, []
    for q in quotes:
        if int(q["flags"]) & ev.EventFlag.SYNTHETIC or int(q["level"]):
            continue
        now = int(q["ts_receive_ns"]) or int(q["ts_venue_ns"])
        clock = max(clock, now)
        books.setdefault(int(q["instrument_id"]), {})[int(q["venue_id"])] = VenueQuote(
            int(q["bid_px_e8"]), int(q["bid_qty_e2"]), int(q["ask_px_e8"]), int(q["ask_qty_e2"]),
            int(q["quote_cond"]) != ev.QuoteCondition.INDICATIVE, now)
        quote = Quote(int(q["venue_id"]), int(q["instrument_id"]), int(q["bid_px_e8"]), int(q["bid_qty_e2"]),
                      int(q["ask_px_e8"]), int(q["ask_qty_e2"]), now, int(q["sequence"]))
        hops = (int(q["ts_venue_ns"]), int(q["ts_receive_ns"]), int(q["ts_decode_ns"]))
        calls.append((quote, Quote, now, int(q["sequence"]), hops))
    return books, clock, calls


@pytest.mark.parametrize("form", ["record", "bytes", "bytearray", "memoryview"])
def test_every_quote_leaves_the_book_and_reaches_strategies_as_the_rules_say(form):
    quotes = random_quotes(400, seed=len(form))
    st = stage({}, {})
    made = 0
    for q in quotes:
        given = {"record": q, "bytes": q.tobytes(), "bytearray": bytearray(q.tobytes()),
                 "memoryview": memoryview(q.tobytes())}[form]
        out = st.on_event(given) if form == "record" else st.on_quote_bytes(given)
        made += len(out)
        assert all(int(o["type"]) == ev.EventType.ORDER_INTENT for o in out)
    books, clock, calls = expected_run(quotes)
    assert st.market.books == books
    assert st.market.now_ns == clock
    for sid in (1, 2):
        assert st.strategy(sid).calls == calls
        assert st.context(sid).hops is None            # cleared after each call
    assert made == 2 * sum(1 for c in calls if c[0].seq % 4 == 0) > 0


def test_the_market_state_takes_a_quote_the_same_way_as_the_decision_stage():
    quotes = random_quotes(300, seed=11)
    ms = MarketStateStage()
    for q in quotes:
        if not int(q["flags"]) & ev.EventFlag.SYNTHETIC:
            ms.apply(q)
    ref = MarketStateStage()
    for q in quotes:
        if not int(q["flags"]) & ev.EventFlag.SYNTHETIC and not int(q["level"]):
            apply_quote(ref, q.tobytes())
    assert ms.books == ref.books == expected_run(quotes)[0]


def test_a_strategy_that_raises_is_stopped_and_the_others_go_on():
    quotes = [q for q in random_quotes(60, seed=3) if not int(q["level"]) and not int(q["flags"])]
    fail_seq = int(quotes[len(quotes) // 2]["sequence"])
    st = stage({"fail_on": fail_seq}, {})
    stop_events = []
    for q in quotes:
        stop_events += [o for o in st.on_quote_bytes(q.tobytes()) if int(o["type"]) == ev.EventType.RISK]
    (stop,) = stop_events
    assert int(stop["action"]) == ev.RiskAction.STRATEGY_STOPPED and int(stop["strategy_id"]) == 1
    assert int(stop["cause_seq"]) == fail_seq
    assert "on_quote: RuntimeError: a defect in the strategy" == st.stopped[1]
    assert [c[0].seq for c in st.strategy(1).calls][-1] == fail_seq     # called no more
    assert len(st.strategy(2).calls) == len(quotes)
    assert st.context(1).hops is None


def test_a_paused_strategy_gets_no_quotes_but_the_book_moves():
    quotes = [q for q in random_quotes(40, seed=5) if not int(q["level"]) and not int(q["flags"])]
    st = stage({}, {})
    st.paused.add(2)
    for q in quotes:
        st.on_quote_bytes(q.tobytes())
    assert len(st.strategy(1).calls) == len(quotes) and st.strategy(2).calls == []
    assert st.market.books == expected_run(quotes)[0]


def test_what_is_not_one_quote_event_is_refused_with_a_clear_error():
    st = stage({})
    q = random_quotes(1, seed=1)[0]
    with pytest.raises(ValueError, match="a Quote event is 192 bytes, got 100"):
        st.on_quote_bytes(q.tobytes()[:100])
    fill = ev.make(ev.EventType.FILL, sequence=9, cl_ord_id=1, strategy_id=1)
    with pytest.raises(ValueError, match="event 9 is of type 4, not a Quote"):
        st.on_quote_bytes(fill.tobytes())
    with pytest.raises(ValueError, match="not a Quote"):
        top_of(fill.tobytes())
    with pytest.raises(TypeError):
        st.on_quote_bytes("a string")
    assert st.market.books == {} and st.strategy(1).calls == []


def test_top_of_reads_what_a_simulated_venue_needs():
    q = random_quotes(1, seed=2)[0]
    q["level"], q["flags"], q["ts_receive_ns"], q["ts_venue_ns"] = 0, 0, 0, 42
    assert top_of(q.tobytes()) == (int(q["sequence"]), 42, int(q["venue_id"]), int(q["instrument_id"]),
                                   int(q["bid_px_e8"]), int(q["bid_qty_e2"]), int(q["ask_px_e8"]),
                                   int(q["ask_qty_e2"]))


def test_a_venue_quote_is_a_value():
    a = VenueQuote(1, 2, 3, 4, False, 5)
    assert a == VenueQuote(bid_px_e8=1, bid_qty_e2=2, ask_px_e8=3, ask_qty_e2=4, firm=False, ts_ns=5)
    assert a != VenueQuote(1, 2, 3, 4, True, 5) and hash(a) == hash(VenueQuote(1, 2, 3, 4, False, 5))
    assert repr(a) == "VenueQuote(bid_px_e8=1, bid_qty_e2=2, ask_px_e8=3, ask_qty_e2=4, firm=False, ts_ns=5)"
    assert VenueQuote() == VenueQuote(0, 0, 0, 0, True, 0)
    with pytest.raises(AttributeError):
        a.bid_px_e8 = 9     # type: ignore[misc]
    import pickle
    assert pickle.loads(pickle.dumps(a)) == a


def test_the_path_keeps_the_stage_containers_it_was_given():
    """The stage changes hosted, paused and stopped in place; a path built on them sees that."""
    st = stage({})
    path = QuotePath(st, Quote)
    q = random_quotes(5, seed=9)[0]
    q["level"], q["flags"], q["sequence"] = 0, 0, 1
    st.stopped[1] = "stopped by hand"
    assert path.on_quote(q.tobytes()) == [] and st.strategy(1).calls == []
    del st.stopped[1]
    path.on_quote(q.tobytes())
    assert len(st.strategy(1).calls) == 1



class Keeper(Strategy):
    """Keeps every quote it is handed, as a strategy that remembers its last quotes would."""

    def __init__(self):
        self.kept: list = []

    def on_quote(self, q):
        self.kept.append(q)


def test_the_quote_a_strategy_is_handed_is_a_quote_of_its_own():
    """Each Quote is made in C as tuple.__new__ makes it: a Quote, equal to the one Python would
    build, each its own object, holding its own values after later quotes came and went."""
    st = DecisionStage([{"strategy": f"{HERE}:Keeper", "strategy_id": 1}])
    quotes = random_quotes(300, seed=5)
    for q in quotes:
        q["level"], q["flags"] = 0, 0
        st.on_quote_bytes(q.tobytes())
    kept = st.strategy(1).kept
    assert len(kept) == len(quotes) and len({id(k) for k in kept}) == len(kept)
    for k, q in zip(kept, quotes, strict=True):
        now = int(q["ts_receive_ns"]) or int(q["ts_venue_ns"])
        want = Quote(int(q["venue_id"]), int(q["instrument_id"]), int(q["bid_px_e8"]), int(q["bid_qty_e2"]),
                     int(q["ask_px_e8"]), int(q["ask_qty_e2"]), now, int(q["sequence"]))
        assert type(k) is Quote and k == want and k.mid_e8 == want.mid_e8
        assert k._replace(seq=0).seq == 0 and k.seq == want.seq


def test_a_quote_type_that_is_not_a_namedtuple_of_the_quote_fields_is_refused():
    st = stage({})
    for bad in (tuple, list, Quote._make, type("Narrow", (tuple,), {"_fields": ("a", "b")})):
        with pytest.raises(TypeError, match="NamedTuple of 8 fields"):
            QuotePath(st, bad)


def test_intents_taken_as_bytes_are_the_records_bytes():
    """The trading worker takes the strategies' intents as bytes (bytes_out): each is its own
    writable buffer, and the events are exactly those a record-taking host gets, on quotes and on
    order events alike."""
    quotes = [q for q in random_quotes(80, seed=21) if not int(q["level"]) and not int(q["flags"])]
    as_records, as_bytes = (DecisionStage([{"strategy": "examples.market_maker:MarketMaker", "strategy_id": 3}])
                            for _ in range(2))
    as_bytes.bytes_out = True
    made = 0
    for q in quotes:
        a, b = as_records.on_quote_bytes(q.tobytes()), as_bytes.on_quote_bytes(q.tobytes())
        assert all(type(x) is bytearray for x in b) and len({id(x) for x in b}) == len(b)
        assert [x.tobytes() for x in a] == [bytes(x) for x in b]
        made += len(a)
        for rec in a[:1]:           # an ack of the first intent: the strategy may act on it
            ack = ev.make(ev.EventType.ORDER_UPDATE, cl_ord_id=int(rec["cl_ord_id"]), strategy_id=3,
                          ord_status=ev.OrdStatus.CANCELED, exec_type=ev.ExecType.CANCELED,
                          report_kind=ev.ReportKind.EXECUTION, ts_receive_ns=int(q["ts_receive_ns"]) + 1)
            a2, b2 = as_records.on_event(ack), as_bytes.on_event(ack.tobytes())
            assert [x.tobytes() for x in a2] == [bytes(x) for x in b2]
    assert made > 0
    assert as_records.state_hash() == as_bytes.state_hash()


def reference_side(ms: MarketStateStage, instrument_id: int, side: str) -> tuple:
    """The composite's rules for one side, written out in Python over the venues in id order:
    (price, total qty at it, venue with most qty there (first in id order of equals), its age,
    all firm)."""
    best_px, total, top_venue, top_qty, age, firm = 0, 0, 0, 0, 0, True
    for venue, q in sorted(ms.books.get(instrument_id, {}).items()):
        px, qty = (q.bid_px_e8, q.bid_qty_e2) if side == "bid" else (q.ask_px_e8, q.ask_qty_e2)
        if qty <= 0 or ms.now_ns - q.ts_ns > ms.stale_after_ns:
            continue
        better = px > best_px if side == "bid" else px < best_px
        if total == 0 or better:
            best_px, total, top_venue, top_qty, age, firm = px, qty, venue, qty, ms.now_ns - q.ts_ns, q.firm
        elif px == best_px:
            total += qty
            firm = firm and q.firm
            if qty > top_qty:
                top_venue, top_qty, age = venue, qty, ms.now_ns - q.ts_ns
    return best_px, total, top_venue, age, firm


def test_the_composite_follows_its_rules_over_random_books():
    from fxpipe.stages.quotes import TopOfBook

    rnd = random.Random(17)
    for trial in range(400):
        ms = MarketStateStage(stale_after_ns=rnd.choice((50, 1_000, 10**9)))
        ms.now_ns = 10_000
        venues = rnd.sample(range(1, 40), rnd.randrange(0, 9))
        rnd.shuffle(venues)                              # dict order is not venue order
        ms.books[5] = {v: VenueQuote(rnd.choice((100, 101, 102)), rnd.choice((0, 1, 5, 5, 9)),
                                     rnd.choice((103, 104, 105)), rnd.choice((0, 2, 7, 7)),
                                     rnd.random() < 0.8, 10_000 - rnd.choice((0, 10, 60, 2_000)))
                       for v in venues}
        bid, ask = reference_side(ms, 5, "bid"), reference_side(ms, 5, "ask")
        want = TopOfBook(5, *bid[:4], *ask[:4], bid[4] and ask[4])
        assert ms.composite(5) == want, (trial, ms.books[5])
    assert MarketStateStage().composite(9) == TopOfBook(9, 0, 0, 0, 0, 0, 0, 0, 0, True)


def test_a_top_of_book_is_a_value():
    from fxpipe.stages.quotes import TopOfBook

    t = TopOfBook(1, 101, 5, 2, 0, 100, 3, 4, 7, False)
    assert t.crossed and not TopOfBook(1, 99, 5, 2, 0, 100, 3, 4, 7, True).crossed
    assert not TopOfBook(1, 101, 0, 0, 0, 100, 3, 4, 7, True).crossed      # no bid: not crossed
    assert t == TopOfBook(1, 101, 5, 2, 0, 100, 3, 4, 7, False) and hash(t) == hash(TopOfBook(*t._key()))
    assert repr(t).startswith("TopOfBook(instrument_id=1, bid_px_e8=101,")
    with pytest.raises(AttributeError):
        t.bid_px_e8 = 1     # type: ignore[misc]
    import pickle
    assert pickle.loads(pickle.dumps(t)) == t


def test_quantities_that_add_up_past_int64_are_an_error_not_a_wrapped_number():
    ms = MarketStateStage()
    ms.books[1] = {1: VenueQuote(100, 2**62, 0, 0, True, 0), 2: VenueQuote(100, 2**62, 0, 0, True, 0)}
    with pytest.raises(OverflowError, match="adds up past int64"):
        ms.composite(1)


def test_a_quote_stamped_absurdly_far_in_the_past_is_stale_not_a_wrapped_age():
    ms = MarketStateStage()
    ms.now_ns = 2**62
    ms.books[1] = {1: VenueQuote(100, 5, 101, 5, True, -(2**63)), 2: VenueQuote(99, 7, 102, 7, True, 2**62)}
    top = ms.composite(1)
    assert (top.bid_px_e8, top.bid_venue_id, top.ask_px_e8, top.ask_venue_id) == (99, 2, 102, 2)
