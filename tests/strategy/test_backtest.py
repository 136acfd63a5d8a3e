"""The example strategies as backtests over CSV and journal, and the decision stage's
determinism: a recorded live run replays equal, the same quotes give the same state hash."""
from __future__ import annotations

import numpy as np
import pytest

import fxpipe.model.events as ev
from fxpipe.cli import main as cli_main
from fxpipe.journal import Journal
from fxpipe.replay import StageRecorder, replay_journal
from fxpipe.runtime.backtest import BacktestError, SimVenue, quotes_from_csv, run_backtest
from fxpipe.stages.decision import DecisionStage
from tests.strategy.helpers import PIP, quote, update

MM = [{"strategy": "examples.market_maker:MarketMaker", "strategy_id": 1,
       "params": {"half_spread_e8": 2 * PIP, "size_e2": 100_000_00, "skew_e8_per_unit": PIP,
                  "max_position_e2": 300_000_00, "requote_e8": 6 * PIP}}]
MOM = [{"strategy": "examples.momentum:Momentum", "strategy_id": 2,
        "params": {"lookback": 5, "threshold_e8": 3 * PIP, "cooldown_ns": 0}}]


def walk(n: int, seed: int = 3) -> list[np.void]:
    rng = np.random.default_rng(seed)
    mid = 108_500_000 + np.cumsum(rng.integers(-2, 3, size=n) * PIP)
    return [quote(i + 1, int(m) - PIP, int(m) + PIP) for i, m in enumerate(mid)]


def write_csv(path, quotes) -> None:
    lines = ["ts_ns,venue_id,instrument_id,bid_px_e8,bid_qty_e2,ask_px_e8,ask_qty_e2"]
    lines += [f"{int(q['ts_receive_ns'])},1,1,{int(q['bid_px_e8'])},{int(q['bid_qty_e2'])},"
              f"{int(q['ask_px_e8'])},{int(q['ask_qty_e2'])}" for q in quotes]
    path.write_text("\n".join(lines) + "\n")


def test_market_maker_quotes_both_sides_around_the_mid_and_skews_on_inventory():
    st = DecisionStage([{**MM[0], "params": {**MM[0]["params"], "requote_e8": PIP}}])
    out = st.on_event(quote(1, 108_500_000 - PIP, 108_500_000 + PIP))
    (bid, ask) = out
    assert (int(bid["side"]), int(ask["side"])) == (ev.Side.BUY, ev.Side.SELL)
    assert (int(bid["price_e8"]), int(ask["price_e8"])) == (108_500_000 - 2 * PIP, 108_500_000 + 2 * PIP)
    # nothing more is asked on a side while its order waits for the venue's answer
    st.on_event(ev.make(ev.EventType.POSITION_UPDATE, strategy_id=1, instrument_id=1, net_qty_e2=200_000_00))
    assert st.on_event(quote(2, 108_500_000 - PIP, 108_500_000 + PIP)) == []
    for o in (bid, ask):
        st.on_event(update(int(o["cl_ord_id"]), 1, ev.OrdStatus.NEW, ev.ExecType.NEW, leaves=int(o["qty_e2"])))
    # long 200k: both quotes move down by 2 × skew (sell more eagerly, buy less eagerly)
    out = st.on_event(quote(3, 108_500_000 - PIP, 108_500_000 + PIP))
    prices = {int(o["side"]): int(o["price_e8"]) for o in out if int(o["action"]) == ev.IntentAction.REPLACE}
    assert prices == {int(ev.Side.BUY): 108_500_000 - 4 * PIP, int(ev.Side.SELL): 108_500_000}


def test_market_maker_stops_bidding_at_its_position_limit():
    st = DecisionStage(MM)
    (bid, ask) = st.on_event(quote(1, 108_500_000 - PIP, 108_500_000 + PIP))
    for o in (bid, ask):
        st.on_event(update(int(o["cl_ord_id"]), 1, ev.OrdStatus.NEW, ev.ExecType.NEW, leaves=int(o["qty_e2"])))
    st.on_event(ev.make(ev.EventType.POSITION_UPDATE, strategy_id=1, instrument_id=1, net_qty_e2=300_000_00))
    out = st.on_event(quote(2, 108_500_000 - PIP, 108_500_000 + PIP))
    cancels = [o for o in out if int(o["action"]) == ev.IntentAction.CANCEL]
    assert [int(c["orig_cl_ord_id"]) for c in cancels] == [int(bid["cl_ord_id"])]


def test_backtest_over_csv_trades_and_is_deterministic(tmp_path):
    path = tmp_path / "quotes.csv"
    write_csv(path, walk(2_000))
    a = run_backtest(DecisionStage(MM + MOM), quotes_from_csv(path))
    b = run_backtest(DecisionStage(MM + MOM), quotes_from_csv(path))
    assert a.quotes == 2_000 and a.fills > 0 and a.orders > 0
    assert {sid for sid, _ in a.positions} == {1, 2}
    assert abs(a.positions[(1, 1)]) <= 300_000_00
    assert a.state_hash == b.state_hash and a.cash_e10 == b.cash_e10 and a.positions == b.positions


def test_backtest_over_a_journal_equals_the_csv_run(tmp_path):
    quotes = walk(500)
    write_csv(tmp_path / "q.csv", quotes)
    with Journal.open(tmp_path / "j") as j:
        j.append_events(np.array(quotes, dtype=quotes[0].dtype))
    code = cli_main(["backtest", str(tmp_path / "j"), "examples.momentum:Momentum",
                     "--params", '{"lookback": 5, "threshold_e8": 3000, "cooldown_ns": 0}'])
    assert code == 0
    from fxpipe.runtime.backtest import backtest_file
    assert backtest_file(tmp_path / "j", MOM).state_hash == backtest_file(tmp_path / "q.csv", MOM).state_hash


def test_bad_csv_is_refused_with_the_line(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("ts_ns,venue_id,instrument_id,bid_px_e8,bid_qty_e2,ask_px_e8,ask_qty_e2\n1,1,1,1.085,1,2,1\n")
    with pytest.raises(BacktestError, match="line 2"):
        list(quotes_from_csv(p))
    p.write_text("ts,bid\n1,2\n")
    with pytest.raises(BacktestError, match="header lacks"):
        list(quotes_from_csv(p))


def test_a_csv_read_in_bulk_gives_the_quotes_the_row_reader_gives(tmp_path):
    """Bulk (pyarrow) and row-by-row parsing of the same file: the same events, byte for byte,
    extra columns ignored; what the bulk parser does not take (padding, a value out of range)
    goes row by row, with the row's number in the error; what both take, both read alike."""
    from fxpipe.runtime.backtest import _csv_in_bulk, _csv_row_by_row

    rng = np.random.default_rng(7)
    lines = ["note,ts_ns,venue_id,instrument_id,bid_px_e8,bid_qty_e2,ask_px_e8,ask_qty_e2"]
    for i in range(1, 301):
        bid = 108_000_000 + int(rng.integers(-9_000, 9_000))
        lines.append(f"x{i},{i * 1_000_003},{1 + i % 3},{1 + i % 2},{bid},{int(rng.integers(0, 10**9))},"
                     f"{bid + int(rng.integers(1, 50))},{int(rng.integers(0, 10**9))}")
    p = tmp_path / "q.csv"
    p.write_text("\n".join(lines) + "\n")
    assert _csv_in_bulk(p) is not None
    assert list(quotes_from_csv(p)) == list(_csv_row_by_row(p))
    assert [ev.read(bytearray(b))["sequence"] for b in quotes_from_csv(p)][:3] == [1, 2, 3]

    padded = tmp_path / "padded.csv"
    padded.write_text(p.read_text().replace(",1,", ", 1,", 1))
    assert list(quotes_from_csv(padded)) == list(_csv_row_by_row(padded))
    wide = tmp_path / "wide.csv"
    wide.write_text(p.read_text().replace(lines[5], lines[5].replace(f",{1 + 5 % 3},", ",70000,", 1)))
    assert _csv_in_bulk(wide) is None
    with pytest.raises(BacktestError, match="line 6: venue_id = 70000 is out of its field's range"):
        list(quotes_from_csv(wide))


def test_a_journal_backtest_takes_its_input_quotes_in_order_and_nothing_else(tmp_path):
    """Quotes written as a stage's output, fxpipe's own synthetic quotes and other event types
    are not market input; the rest come in sequence order, across segments."""
    from fxpipe.journal import layout as L
    from fxpipe.runtime.backtest import quotes_from_journal

    quotes = walk(3_000)
    kept = []
    with Journal.open(tmp_path / "j", segment_size=64 << 10) as j:
        for i, q in enumerate(quotes):
            if i % 7 == 3:
                j.append(int(ev.EventType.QUOTE), q.tobytes(), i, flags=L.FLAG_OUTPUT)
            elif i % 11 == 5:
                s = q.copy()
                s["flags"] = ev.EventFlag.SYNTHETIC
                j.append(int(ev.EventType.QUOTE), s.tobytes(), i)
            else:
                j.append(int(ev.EventType.QUOTE), q.tobytes(), i)
                kept.append(q.tobytes())
            if i % 13 == 0:
                j.append(int(ev.EventType.FILL), ev.make(ev.EventType.FILL, cl_ord_id=i).tobytes(), i)
    got = list(quotes_from_journal(tmp_path / "j"))
    assert got == kept and len(kept) > 2_000


def test_the_sim_venues_reports_are_the_events_ev_make_gives_byte_for_byte():
    from fxpipe.runtime.backtest import _FILL, _FILL_MAKER_FIELDS, _UPDATE, _UPDATE_MAKER_FIELDS

    rng = np.random.default_rng(4)
    enums = {"side": list(ev.Side), "exec_trans_type": list(ev.ExecTransType), "ord_status": list(ev.OrdStatus),
             "exec_type": list(ev.ExecType), "report_kind": list(ev.ReportKind)}

    def values(names):
        out = {n: int(rng.integers(0, 200)) for n in names}
        out.update({n: int(rng.choice(enums[n])) for n in names if n in enums})
        return out

    for _ in range(200):
        vals = values(_FILL_MAKER_FIELDS)
        vals["cl_ord_id"], vals["ts_receive_ns"] = int(rng.integers(1, 2**62)), int(rng.integers(0, 2**62))
        exec_id = f"BT{int(rng.integers(0, 10**12))}"
        got = _FILL.make(text=exec_id.encode(), **vals)
        assert got.tobytes() == ev.make(ev.EventType.FILL, exec_id=exec_id, **vals).tobytes()
        vals = values(_UPDATE_MAKER_FIELDS)
        vals["price_e8"], vals["leaves_qty_e2"] = int(rng.integers(0, 2**62)), int(rng.integers(0, 2**62))
        assert _UPDATE.make(**vals).tobytes() == ev.make(ev.EventType.ORDER_UPDATE, **vals).tobytes()
    with pytest.raises(ValueError, match="longer than its field"):
        _FILL.make(text=b"x" * 41, **dict.fromkeys(_FILL_MAKER_FIELDS, 1))


def test_sim_venue_ioc_fills_up_to_the_quote_and_cancels_the_rest():
    v = SimVenue()
    v.on_quote(quote(1, 100, 110, aq=50), 0)
    it = ev.make(ev.EventType.ORDER_INTENT, cl_ord_id=5, strategy_id=1, venue_id=1, instrument_id=1,
                 side=ev.Side.BUY, qty_e2=80, price_e8=111, action=ev.IntentAction.NEW,
                 time_in_force=ev.TimeInForce.IOC, ord_type=ev.OrdType.LIMIT)
    f, part, rest = v.on_intent(it, 0)
    assert (int(f["last_qty_e2"]), int(f["last_px_e8"])) == (50, 110)
    assert int(part["ord_status"]) == ev.OrdStatus.PARTIALLY_FILLED
    assert int(rest["ord_status"]) == ev.OrdStatus.CANCELED and int(rest["cum_qty_e2"]) == 50


def test_recorded_decision_stage_replays_equal(tmp_path):
    with Journal.open(tmp_path / "rec") as j:
        rec = StageRecorder(j, DecisionStage(MM + MOM), stage_id=3)
        venue = SimVenue()
        for q in walk(300):
            now = int(q["ts_receive_ns"])
            work = [q]
            while work:
                e = work.pop(0)
                if int(e["type"]) == ev.EventType.ORDER_INTENT:
                    work.extend(venue.on_intent(e, now))
                    continue
                work.extend(rec.feed(e))
            if int(q["sequence"]) % 50 == 0:
                rec.timer(now)
                rec.checkpoint()
        rec.close()
    report = replay_journal(tmp_path / "rec")
    assert report.ok, report.divergence
    assert report.state_hashes >= 6 and report.outputs > 0


def test_quotes_given_as_bytes_backtest_exactly_as_their_records():
    """The engine reads each quote's bytes; records and bytes of the same quotes (with resting
    orders filled as the market trades through them) give the same result, field for field."""
    quotes = walk(3_000, seed=11)
    a = run_backtest(DecisionStage(MM + MOM), quotes)
    b = run_backtest(DecisionStage(MM + MOM), [q.tobytes() for q in quotes])
    assert a.fills > 0 and a.orders > 0
    assert a == b


def test_an_input_that_is_not_a_quote_is_refused_by_name():
    fill = ev.make(ev.EventType.FILL, sequence=7, strategy_id=1)
    with pytest.raises(BacktestError, match="event 7 is a FILL, not a Quote"):
        run_backtest(DecisionStage(MM), [quote(1, 108_500_000 - PIP, 108_500_000 + PIP), fill])


class _ForgetsByScanning(DecisionStage):
    """The reference: after every update, every done order is dropped (a scan of them all)."""

    @staticmethod
    def _forget_done(ctx, *cls):
        for cl in [cl for cl, o in ctx.orders.items() if o.done]:
            del ctx.orders[cl]


def test_dropping_only_the_orders_an_update_touched_is_dropping_every_done_one():
    """An update changes no order but its own and the one it replaces: dropping those once done
    leaves the strategies the same orders as scanning them all after every update, through
    acks, fills, replaces, cancels and cancel rejects of the simulated venue."""
    quotes = walk(4_000, seed=21)
    a = run_backtest(DecisionStage(MM + MOM), quotes)
    b = run_backtest(_ForgetsByScanning(MM + MOM), quotes)
    assert a.orders > 100 and a.fills > 100
    assert a == b


def test_a_backtest_leaves_the_stage_as_it_found_it_and_takes_intents_as_records_or_bytes():
    """The engine reads the strategies' intents as bytes while it runs; the stage it was given
    goes back to what its host set, and a venue answers an intent given either way alike."""
    quotes = walk(500, seed=2)
    for setting in (False, True):
        st = DecisionStage(MM + MOM)
        st.bytes_out = setting
        run_backtest(st, quotes)
        assert st.bytes_out is setting
    it = ev.make(ev.EventType.ORDER_INTENT, cl_ord_id=5, strategy_id=1, venue_id=1, instrument_id=1,
                 side=ev.Side.SELL, qty_e2=80, price_e8=99, action=ev.IntentAction.NEW,
                 time_in_force=ev.TimeInForce.IOC, ord_type=ev.OrdType.LIMIT)
    answers = []
    for given in (it, it.tobytes(), bytearray(it.tobytes())):
        v = SimVenue()
        v.on_quote(quote(1, 100, 110, bq=30), 0)
        answers.append([o.tobytes() for o in v.on_intent(given, 7)])
    assert answers[0] == answers[1] == answers[2] and len(answers[0]) == 3
    cancel_unknown = ev.make(ev.EventType.ORDER_INTENT, cl_ord_id=9, orig_cl_ord_id=77, strategy_id=1,
                             action=ev.IntentAction.CANCEL)
    (rej,) = SimVenue().on_intent(cancel_unknown, 3)
    want = ev.make(ev.EventType.ORDER_UPDATE, cl_ord_id=9, orig_cl_ord_id=77, strategy_id=1,
                   ord_status=ev.OrdStatus.REJECTED, exec_type=ev.ExecType.REJECTED,
                   report_kind=ev.ReportKind.CANCEL_REJECT, ts_receive_ns=3)
    assert rej.tobytes() == want.tobytes()
