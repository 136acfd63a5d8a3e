"""The market-state stage: best bid/ask per venue and instrument, the composite across venues,
quote ages in event time, staleness, feed drops, and an output only when the composite top of
book changes. Deterministic: no wall clock, same inputs -> same outputs and state hash."""
import time

import jtestdata as d
import pytest

from fxpipe.model import events as ev
from fxpipe.model.eventtext import problems
from fxpipe.replay import Stage, make_stage
from fxpipe.replay.market_state import MarketStateStage

S = 1_000_000_000
STALE = 2 * S


def quote(venue, instr, bid, ask, bq=100, aq=100, t=0, level=0, cond=ev.QuoteCondition.FIRM):
    e = ev.empty(ev.EventType.QUOTE, 1)[0]
    e["venue_id"], e["instrument_id"] = venue, instr
    e["bid_px_e8"], e["ask_px_e8"], e["bid_qty_e2"], e["ask_qty_e2"] = bid, ask, bq, aq
    e["level"], e["quote_cond"] = level, int(cond)
    e["ts_receive_ns"] = d.T0 + t
    e["ts_venue_ns"] = d.T0 + t - 5
    e["ts_decode_ns"] = d.T0 + t + 7
    return e


def timer(t):
    e = ev.empty(ev.EventType.TIMER, 1)[0]
    e["kind"] = int(ev.TimerKind.HEARTBEAT)
    e["ts_receive_ns"] = d.T0 + t
    return e


def md_session(venue, state, t):
    e = ev.empty(ev.EventType.SESSION, 1)[0]
    e["venue_id"], e["session_kind"], e["state"] = venue, int(ev.SessionKind.MARKET_DATA), int(state)
    e["prev_state"], e["reason"] = int(ev.SessionState.ACTIVE), int(ev.SessionReason.DISCONNECTED)
    e["ts_receive_ns"] = d.T0 + t
    return e


@pytest.fixture
def stage():
    return MarketStateStage(stale_after_ns=STALE)


def test_it_is_a_stage_and_rebuilds_from_its_config(stage):
    assert isinstance(stage, Stage)
    again = make_stage(stage.name, stage.config())
    assert isinstance(again, MarketStateStage) and again.stale_after_ns == STALE


def test_composite_takes_the_best_price_across_venues_and_adds_quantity_at_it(stage):
    stage.on_event(quote(1, 7, 100, 110, bq=300, aq=100, t=0))
    stage.on_event(quote(2, 7, 101, 112, bq=200, aq=500, t=10))
    out = stage.on_event(quote(3, 7, 101, 110, bq=400, aq=50, t=20))
    top = stage.composite(7)
    assert (top.bid_px_e8, top.bid_qty_e2, top.bid_venue_id) == (101, 600, 3)
    assert (top.ask_px_e8, top.ask_qty_e2, top.ask_venue_id) == (110, 150, 1)
    assert (top.bid_age_ns, top.ask_age_ns) == (0, 20)
    assert len(out) == 1
    q = out[0]
    assert (int(q["bid_px_e8"]), int(q["bid_qty_e2"]), int(q["ask_px_e8"]), int(q["ask_qty_e2"])) == (101, 600, 110, 150)


def test_output_is_a_well_formed_synthetic_quote_carrying_the_cause_times(stage):
    (q,) = stage.on_event(quote(1, 7, 100, 110, t=55))
    assert problems(q) == []
    assert int(q["type"]) == ev.EventType.QUOTE and int(q["flags"]) == ev.EventFlag.SYNTHETIC
    assert int(q["venue_id"]) == 0 and int(q["instrument_id"]) == 7 and int(q["level"]) == 0
    assert int(q["ts_receive_ns"]) == d.T0 + 55 and int(q["ts_venue_ns"]) == d.T0 + 50
    assert int(q["ts_decode_ns"]) == d.T0 + 62


def test_output_only_when_the_composite_top_changes(stage):
    assert len(stage.on_event(quote(1, 7, 100, 110, t=0))) == 1
    assert stage.on_event(quote(1, 7, 100, 110, t=5)) == []          # same again
    assert stage.on_event(quote(2, 7, 99, 111, t=6)) == []           # worse on both sides
    assert len(stage.on_event(quote(2, 7, 100, 111, t=7))) == 1      # adds quantity at the bid
    assert stage.on_event(quote(3, 8, 50, 60, level=1, t=8)) == []   # not top of book
    assert stage.venue_quote(3, 8) is None


def test_quotes_go_stale_in_event_time_not_wall_time(stage, monkeypatch):
    for name in ("time", "time_ns", "monotonic", "monotonic_ns", "perf_counter"):
        monkeypatch.setattr(time, name, lambda *a: pytest.fail("the stage read a clock"))
    stage.on_event(quote(1, 7, 105, 110, t=0))
    stage.on_event(quote(2, 7, 100, 111, t=S))
    assert stage.composite(7).bid_venue_id == 1
    (q,) = stage.on_event(quote(2, 7, 100, 111, bq=300, t=STALE + 1))
    assert stage.age_ns(1, 7) == STALE + 1
    top = stage.composite(7)
    assert (top.bid_px_e8, top.bid_venue_id, top.ask_px_e8) == (100, 2, 111)
    assert int(q["bid_px_e8"]) == 100


def test_a_timer_lets_time_pass_and_drops_stale_quotes(stage):
    stage.on_event(quote(1, 7, 100, 110, t=0))
    stage.on_event(quote(1, 8, 200, 210, t=0))
    assert stage.on_event(timer(STALE)) == []  # exactly at the limit: still fresh
    out = stage.on_event(timer(STALE + 1))
    assert sorted(int(q["instrument_id"]) for q in out) == [7, 8]
    assert all(int(q["bid_qty_e2"]) == 0 and int(q["ask_qty_e2"]) == 0 for q in out)


def test_stale_prices_dropped_after_market_data_disconnect(stage):
    stage.on_event(quote(1, 7, 105, 108, t=0))
    stage.on_event(quote(2, 7, 100, 110, t=1))
    (q,) = stage.on_event(md_session(1, ev.SessionState.DISCONNECTED, 2))
    assert (int(q["bid_px_e8"]), int(q["ask_px_e8"])) == (100, 110)
    assert stage.venue_quote(1, 7) is None
    assert stage.on_event(md_session(1, ev.SessionState.ACTIVE, 3)) == []  # reconnect alone restores nothing
    (q,) = stage.on_event(quote(1, 7, 104, 109, t=4))
    assert (int(q["bid_px_e8"]), int(q["ask_px_e8"])) == (104, 109)


def test_one_sided_indicative_and_crossed_books(stage):
    (q,) = stage.on_event(quote(1, 7, 100, 0, bq=100, aq=0, t=0))
    assert int(q["ask_qty_e2"]) == 0 and int(q["ask_px_e8"]) == 0
    (q,) = stage.on_event(quote(2, 7, 90, 99, cond=ev.QuoteCondition.INDICATIVE, t=1))
    assert int(q["quote_cond"]) == ev.QuoteCondition.INDICATIVE
    assert stage.composite(7).crossed  # venue 1 bids 100, venue 2 offers 99


def test_same_inputs_same_outputs_and_state_hash():
    events = d.market_events(600, seed=5)
    a, b = MarketStateStage(STALE), MarketStateStage(STALE)
    outs_a = [o.tobytes() for e in events for o in a.on_event(e)]
    outs_b = [o.tobytes() for e in events for o in b.on_event(e)]
    assert outs_a == outs_b and len(outs_a) > 100
    assert a.state_hash() == b.state_hash()
    c = MarketStateStage(STALE)
    for e in events[:-1]:
        c.on_event(e)
    assert c.state_hash() != a.state_hash()  # one event fewer: at least the stage clock differs


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match="stale_after_ns"):
        MarketStateStage(stale_after_ns=0)
    with pytest.raises(LookupError, match="no stage named 'nope'"):
        make_stage("nope", b"{}")
