"""NautilusTrader's side of bench/tick_to_trade.py's throughput row, run by the Python of its
own venv (bench/out/venv-nautilus, see bench/positions.py): its BacktestEngine over the same
EUR/USD quotes the fxpipe desk is sent (the ask walks one tick per quote, cyclically, a fixed
spread below it the bid) with a strategy that subscribes to them and does nothing. Prints one
JSON object: quotes, run time, quotes/s.

    argv: n_quotes base_e8 tick_e8 spread_e8 cycle
"""
from __future__ import annotations

import gc
import json
import sys
import time
import warnings

from _nautilus_sim import sim_engine
from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.trading.strategy import Strategy


class Quiet(StrategyConfig, frozen=True):
    instrument_id: str = "EUR/USD.SIM"


class NoOp(Strategy):
    def __init__(self, config: Quiet):
        super().__init__(config)
        self.seen = 0

    def on_start(self) -> None:
        self.subscribe_quote_ticks(InstrumentId.from_str(self.config.instrument_id))

    def on_quote_tick(self, tick: QuoteTick) -> None:
        self.seen += 1


def run(n: int, base: int, tick: int, spread: int, cycle: int) -> tuple[int, int]:
    engine, ins = sim_engine()
    ticks = []
    size = Quantity.from_int(1_000_000)
    for i in range(n):
        ask = base + (i % cycle) * tick
        ticks.append(QuoteTick(instrument_id=ins.id, bid_price=Price.from_str(f"{(ask - spread) / 1e8:.5f}"),
                               ask_price=Price.from_str(f"{ask / 1e8:.5f}"), bid_size=size, ask_size=size,
                               ts_event=1_000_000 * (i + 1), ts_init=1_000_000 * (i + 1)))
    engine.add_data(ticks)
    strat = NoOp(Quiet())
    engine.add_strategy(strat)
    gc.collect()
    t0 = time.perf_counter_ns()
    engine.run()
    elapsed = time.perf_counter_ns() - t0
    seen = strat.seen
    engine.dispose()
    return elapsed, seen


def main() -> None:
    warnings.simplefilter("ignore")
    n, base, tick, spread, cycle = (int(a) for a in sys.argv[1:6])
    run(2_000, base, tick, spread, cycle)          # warm-up: imports, caches
    elapsed, seen = run(n, base, tick, spread, cycle)
    import nautilus_trader
    print(json.dumps({"version": nautilus_trader.__version__, "quotes": n, "seen": seen, "run_ns": elapsed,
                      "quotes_per_s": n / (elapsed / 1e9)}))


if __name__ == "__main__":
    main()
