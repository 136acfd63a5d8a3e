"""NautilusTrader's side of bench/positions.py, run by the Python of its own venv (nautilus_trader
needs Python >= 3.12 and its own numpy): the same fills as OrderFilled events, applied by its own
Position objects, and the same again with the cache and Portfolio.update_position that its
execution engine runs for each fill (PositionChanged). Timed by thread CPU time, as fxpipe's side. Reads the fills as JSON lines
(strategy, symbol, side, qty, px as decimal text) on stdin; prints one JSON object of results.

    stdin fills ──OrderFilled (built before timing)──► Position.apply
                                                 └──► Position.apply + Cache + Portfolio
"""
from __future__ import annotations

import gc
import json
import sys
import time

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import MessageBus, TestClock
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.model.enums import LiquiditySide, OrderSide, OrderType
from nautilus_trader.model.events import OrderFilled, PositionChanged, PositionClosed, PositionOpened
from nautilus_trader.model.identifiers import (
    AccountId,
    ClientOrderId,
    PositionId,
    StrategyId,
    TradeId,
    VenueOrderId,
)
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.model.position import Position
from nautilus_trader.portfolio.portfolio import Portfolio
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.test_kit.stubs.identifiers import TestIdStubs


def main() -> None:
    fills = [json.loads(line) for line in sys.stdin if line.strip()]
    instruments = {s: TestInstrumentProvider.default_fx_ccy(s) for s in sorted({f["symbol"] for f in fills})}
    trader, account = TestIdStubs.trader_id(), AccountId("SIM-001")
    events = []
    for i, f in enumerate(fills):
        ins = instruments[f["symbol"]]
        events.append((f["strategy"], f["symbol"], OrderFilled(
            trader_id=trader, strategy_id=StrategyId(f"S-{f['strategy']:03d}"), instrument_id=ins.id,
            client_order_id=ClientOrderId(f"O-{i}"), venue_order_id=VenueOrderId(f"V-{i}"), account_id=account,
            trade_id=TradeId(f"E-{i}"), position_id=PositionId(f"P-{f['strategy']}-{f['symbol']}"),
            order_side=OrderSide.BUY if f["side"] == "buy" else OrderSide.SELL, order_type=OrderType.LIMIT,
            last_qty=Quantity.from_str(f["qty"]), last_px=Price(float(f["px"]), ins.price_precision),
            currency=ins.quote_currency, commission=Money(0, ins.quote_currency),
            liquidity_side=LiquiditySide.TAKER, event_id=UUID4(), ts_event=i, ts_init=i)))
    out = {"version": __import__("nautilus_trader").__version__, "fills": len(events)}

    gc.collect()
    gc.disable()
    positions: dict = {}
    t0 = time.thread_time_ns()
    for key_s, key_i, fill in events:
        p = positions.get((key_s, key_i))
        if p is None or p.is_closed:
            positions[(key_s, key_i)] = Position(instruments[key_i], fill)
        else:
            p.apply(fill)
    out["position_apply_ns_per_fill"] = (time.thread_time_ns() - t0) / len(events)
    gc.enable()
    out["realized"] = {f"{k[0]} {k[1]}": str(p.realized_pnl) for k, p in sorted(positions.items())}
    out["net"] = {f"{k[0]} {k[1]}": str(p.signed_qty) for k, p in sorted(positions.items())}

    clock = TestClock()
    msgbus = MessageBus(trader_id=trader, clock=clock)
    cache = Cache()
    portfolio = Portfolio(msgbus=msgbus, cache=cache, clock=clock)
    positions = {}
    gc.collect()
    gc.disable()
    t0 = time.thread_time_ns()
    for key_s, key_i, fill in events:
        p = positions.get((key_s, key_i))
        if p is None or p.is_closed:
            p = positions[(key_s, key_i)] = Position(instruments[key_i], fill)
            cache.add_position(p, oms_type=1)
            portfolio.update_position(PositionOpened.create(p, fill, UUID4(), fill.ts_event))
        else:
            p.apply(fill)
            cache.update_position(p)
            event = PositionClosed if p.is_closed else PositionChanged
            portfolio.update_position(event.create(p, fill, UUID4(), fill.ts_event))
    out["portfolio_ns_per_fill"] = (time.thread_time_ns() - t0) / len(events)
    gc.enable()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
