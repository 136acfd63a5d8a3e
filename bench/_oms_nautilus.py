"""NautilusTrader's side of bench/oms.py, run by the Python of its own venv (see
bench/positions.py): its BacktestEngine over the same EUR/USD quotes twice in one process, once
with a strategy that sends one market order every 100 quotes and once with the same strategy
sending none (the orders go in buy/sell pairs, every 200 quotes, so one order per 100 quotes
and no position is left open between quotes). The difference in run time, per order, is what an order lifecycle costs there
(order, risk, execution, fill, position, portfolio). Prints one JSON object.

    quotes ──BacktestEngine──► Strategy.on_quote_tick ──(every 100th) submit_order(market)
"""
from __future__ import annotations

import gc
import json
import sys
import time
import warnings
from decimal import Decimal

from _nautilus_sim import sim_engine
from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.trading.strategy import Strategy


class EveryN(StrategyConfig, frozen=True):
    instrument_id: str = "EUR/USD.SIM"
    every: int = 100


class OrderEveryN(Strategy):
    def __init__(self, config: EveryN):
        super().__init__(config)
        self.n = 0
        self.sent = 0
        self.every = config.every
        self.instrument = None

    def on_start(self) -> None:
        from nautilus_trader.model.identifiers import InstrumentId
        iid = InstrumentId.from_str(self.config.instrument_id)
        self.instrument = self.cache.instrument(iid)
        self.subscribe_quote_ticks(iid)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        self.n += 1
        if self.every and self.n % self.every == 0:
            # a buy and its sell at once: the account is flat again before the next quote, so
            # the difference measures the orders, not the cost of marking an open position
            for side in (OrderSide.BUY, OrderSide.SELL):
                self.submit_order(self.order_factory.market(self.instrument.id, side,
                                                            Quantity.from_int(1_000_000)))
                self.sent += 1


def run(n_quotes: int, every: int) -> tuple[float, int, int]:
    engine, ins = sim_engine()
    ticks = []
    for i in range(n_quotes):
        mid = Decimal("1.08500") + Decimal(i % 20 - 10) * Decimal("0.00001")
        ticks.append(QuoteTick(instrument_id=ins.id, bid_price=Price.from_str(f"{mid - Decimal('0.00001'):.5f}"),
                               ask_price=Price.from_str(f"{mid + Decimal('0.00001'):.5f}"),
                               bid_size=Quantity.from_int(10_000_000), ask_size=Quantity.from_int(10_000_000),
                               ts_event=1_000_000 * (i + 1), ts_init=1_000_000 * (i + 1)))
    engine.add_data(ticks)
    strat = OrderEveryN(EveryN(every=every))
    engine.add_strategy(strat)
    gc.collect()
    t0 = time.perf_counter_ns()
    engine.run()
    elapsed = time.perf_counter_ns() - t0
    fills = len([o for o in engine.cache.orders() if o.is_closed])
    engine.dispose()
    return elapsed, strat.sent, fills


def main() -> None:
    warnings.simplefilter("ignore")
    n_quotes = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    run(2_000, 100)                    # warm-up: imports, caches
    base_ns, _, _ = run(n_quotes, 0)
    with_ns, sent, closed = run(n_quotes, 200)
    import nautilus_trader
    print(json.dumps({"version": nautilus_trader.__version__, "quotes": n_quotes, "orders": sent,
                      "orders_closed": closed, "run_no_orders_ns": base_ns, "run_with_orders_ns": with_ns,
                      "extra_ns_per_order": (with_ns - base_ns) / max(sent, 1)}))


if __name__ == "__main__":
    main()
