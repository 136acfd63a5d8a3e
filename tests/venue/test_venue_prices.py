"""The seeded price process and the CSV replay source."""
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fxpipe.model.numbers import divide
from fxpipe.venue.pairs import UnknownSymbol, load
from fxpipe.venue.prices import PriceProcess, ProcessParams, half_even
from fxpipe.venue.replay import ReplayError, ReplaySource, parse_time_ns

N = 20_000
PAIRS = load()  # the default reference data: the eight pairs fxpipe trades
BY_SYMBOL = {p.symbol: p for p in PAIRS}


def run(seed: int, n: int = N) -> list[tuple]:
    pp = PriceProcess(PAIRS, seed)
    out = []
    for _ in range(n):
        for i in pp.advance():
            out.append((i, pp.bid_e8[i], pp.ask_e8[i]))
    return out


def test_same_seed_same_ticks_other_seed_other_ticks():
    a, b, c = run(11), run(11), run(12)
    assert a == b
    assert a != c
    assert len(a) > N // 2


def test_every_quote_is_an_integer_on_the_pairs_tick_with_at_least_the_typical_spread():
    pp = PriceProcess(PAIRS, 3)
    for _ in range(N):
        for i in pp.advance():
            p = PAIRS[i]
            bid, ask = pp.bid_e8[i], pp.ask_e8[i]
            assert type(bid) is int and type(ask) is int
            assert bid % p.tick_e8 == 0 and ask % p.tick_e8 == 0
            assert ask - bid >= p.spread_ticks * p.tick_e8


def test_real_pip_and_tick_sizes():
    assert BY_SYMBOL["EUR/USD"].pip_e8 == 10_000 and BY_SYMBOL["EUR/USD"].tick_e8 == 1_000
    assert BY_SYMBOL["USD/JPY"].pip_e8 == 1_000_000 and BY_SYMBOL["USD/JPY"].tick_e8 == 100_000
    assert BY_SYMBOL["EUR/USD"].price_decimals == 5 and BY_SYMBOL["EUR/JPY"].price_decimals == 3
    assert BY_SYMBOL["USD/CAD"].settle_days == 1 and BY_SYMBOL["GBP/USD"].settle_days == 2
    for s in ("EUR/USD", "GBP/USD", "USD/JPY", "USD/CHF", "AUD/USD", "USD/CAD", "EUR/JPY", "EUR/GBP"):
        assert s in BY_SYMBOL


def test_crosses_follow_their_legs_and_cannot_be_arbitraged():
    pp = PriceProcess(PAIRS, 5)
    ix = {p.symbol: i for i, p in enumerate(PAIRS)}
    for _ in range(N):
        pp.advance()
        for cross in (p for p in PAIRS if p.legs):
            a, b, op = cross.legs
            ci, ai, bi = ix[cross.symbol], ix[a], ix[b]
            ma, mb = Fraction(pp.mid_e8[ai], 10**8), Fraction(pp.mid_e8[bi], 10**8)
            fair = ma * mb if op == "mul" else ma / mb
            assert abs(Fraction(pp.mid_e8[ci], 10**8) - fair) <= Fraction(1, 2 * 10**8)
            # the legs' own quotes bound the cross: no riskless triangle
            ba, aa = Fraction(pp.bid_e8[ai], 10**8), Fraction(pp.ask_e8[ai], 10**8)
            bb, ab = Fraction(pp.bid_e8[bi], 10**8), Fraction(pp.ask_e8[bi], 10**8)
            syn_bid, syn_ask = (ba * bb, aa * ab) if op == "mul" else (ba / ab, aa / bb)
            cb, ca = Fraction(pp.bid_e8[ci], 10**8), Fraction(pp.ask_e8[ci], 10**8)
            assert cb <= syn_ask and ca >= syn_bid


def test_spread_varies_over_time_and_jumps_happen():
    pp = PriceProcess(PAIRS, 9, ProcessParams(jump_prob=0.01))
    spreads, moves = set(), []
    i = 0
    for _ in range(N):
        before = pp.mid_e8[i]
        if i in pp.advance():
            spreads.add(pp.ask_e8[i] - pp.bid_e8[i])
        moves.append(abs(pp.mid_e8[i] - before))
    assert len(spreads) >= 4
    big = [m for m in moves if m > 2 * PAIRS[0].pip_e8]
    assert big, "a jump of more than 2 pips in EUR/USD"


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10**17), st.integers(1, 10**12))
def test_cross_rounding_agrees_with_model_numbers(num, den):
    assert half_even(num, den) == divide(num, den)


def test_shift_moves_a_major_and_its_crosses_and_a_cross_through_its_leg():
    pp = PriceProcess(PAIRS, 1)
    ix = {p.symbol: i for i, p in enumerate(PAIRS)}
    eurjpy = pp.mid_e8[ix["EUR/JPY"]]
    changed = pp.shift(ix["EUR/USD"], 5)
    assert ix["EUR/USD"] in changed and ix["EUR/JPY"] in changed
    assert pp.mid_e8[ix["EUR/JPY"]] > eurjpy
    before = pp.mid_e8[ix["EUR/GBP"]]
    pp.shift(ix["EUR/GBP"], -10)
    moved_pips = (pp.mid_e8[ix["EUR/GBP"]] - before) / PAIRS[ix["EUR/GBP"]].pip_e8
    assert -11 < moved_pips < -9


def test_load_adds_the_legs_of_a_cross_and_refuses_unknown_pairs():
    assert [p.symbol for p in load(symbols=["EUR/JPY"])] == ["EUR/USD", "USD/JPY", "EUR/JPY"]
    assert [p.instrument_id for p in load(symbols=["EUR/JPY"])] == [1, 3, 7]  # the reference-data ids
    with pytest.raises(UnknownSymbol, match="EURUSD"):
        load(symbols=["EURUSD"])


def test_process_params_are_checked():
    with pytest.raises(ValueError, match="jump_prob"):
        PriceProcess(PAIRS, 1, ProcessParams(jump_prob=2))
    with pytest.raises(ValueError, match="not a cross"):
        PriceProcess(tuple(p for p in PAIRS if p.legs), 1)


# -- replay ---------------------------------------------------------------------------------

def write(tmp_path, text):
    p = tmp_path / "q.csv"
    p.write_text(text)
    return p


def test_replay_plays_rows_exactly(tmp_path):
    p = write(tmp_path, "time,symbol,bid,ask,bid_size,ask_size\n"
                        "2024-03-01T12:00:00.000001Z,EUR/USD,1.08501,1.08503,1000000,2000000.5\n"
                        "2024-03-01T12:00:00.5Z,USDJPY,149.501,149.503,,\n"
                        "1709294401000000000,EUR/USD,1.08501,1.08503,1000000,2000000.5\n")
    src = ReplaySource.from_csv(p, PAIRS)
    eur, jpy = 0, 2
    assert src.next_ts_ns == parse_time_ns("2024-03-01T12:00:00.000001Z")
    assert src.advance() == [eur]
    assert (src.bid_e8[eur], src.ask_e8[eur]) == (108_501_000, 108_503_000)
    assert src.ask_qty_e2[eur] == 200_000_050
    assert src.advance() == [jpy] and src.bid_e8[jpy] == 14_950_100_000 and src.bid_qty_e2[jpy] is None
    assert src.advance() == []  # the same quote again: nothing changed
    assert src.exhausted and src.next_ts_ns is None and src.advance() == []


def test_replay_loop_keeps_time_moving_forward(tmp_path):
    p = write(tmp_path, "time,symbol,bid,ask\n1000,EUR/USD,1.08501,1.08503\n3000,EUR/USD,1.08502,1.08504\n")
    src = ReplaySource.from_csv(p, PAIRS, loop=True)
    seen = []
    for _ in range(5):
        seen.append(src.next_ts_ns)
        src.advance()
    assert seen == sorted(seen) and len(set(seen)) == 5


@pytest.mark.parametrize("row,msg", [
    ("x,EUR/USD,1.08501,1.08503", "time 'x'"),
    ("1000,EURXXX,1.08501,1.08503", "symbol 'EURXXX' is not quoted"),
    ("1000,EUR/USD,1.08503,1.08501", "crossed or locked"),
    ("1000,EUR/USD,1.085015,1.08503", "multiples of its tick"),
    ("1000,EUR/USD,1.085010001,1.08503", "more than 8 decimal places"),
    ("1000,EUR/USD,abc,1.08503", "not a decimal number"),
    ("1000,EUR/USD,-1.0,1.08503", "negative"),
])
def test_replay_bad_rows_name_the_line_and_the_fix(tmp_path, row, msg):
    p = write(tmp_path, "time,symbol,bid,ask\n1000,EUR/USD,1.08501,1.08503\n" + row + "\n")
    with pytest.raises(ReplayError, match=msg) as exc:
        ReplaySource.from_csv(p, PAIRS)
    assert f"{p}:3:" in str(exc.value)


def test_replay_file_level_errors(tmp_path):
    with pytest.raises(ReplayError, match="header must name"):
        ReplaySource.from_csv(write(tmp_path, "when,symbol,bid,ask\n"), PAIRS)
    with pytest.raises(ReplayError, match="no quotes"):
        ReplaySource.from_csv(write(tmp_path, "time,symbol,bid,ask\n"), PAIRS)
    with pytest.raises(ReplayError, match="time goes back"):
        ReplaySource.from_csv(write(tmp_path, "time,symbol,bid,ask\n2000,EUR/USD,1.1,1.2\n1000,EUR/USD,1.1,1.2\n"), PAIRS)
    with pytest.raises(ReplayError, match="No such file"):
        ReplaySource.from_csv(tmp_path / "missing.csv", PAIRS)
