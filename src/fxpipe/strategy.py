"""The strategy API: the one seam between quant code and the world.

A strategy is a plain Python class. The host (the decision stage, live, in replay or in a
backtest) calls `on_start(ctx)` once, then `on_quote`, `on_fill`, `on_order_update` and
`on_timer` as events arrive. Everything a strategy may do or know goes through its context:
`submit`, `cancel`, `replace`, `position`, `book`, `order`, `open_orders` and `now_ns` (event
time, never the wall clock). A strategy file has no I/O and no "if backtest": the same class
runs everywhere, and its decisions are a pure function of the events it was given.

Prices are price_e8 (1e-8 of the quote currency), quantities qty_e2 (1e-2 of the base
currency), as everywhere in fxpipe.
"""
from __future__ import annotations

import importlib
from typing import NamedTuple

import fxpipe.model.events as ev
from fxpipe.stages.strategy_context import Order, StrategyContext, StrategyError

# the context and its orders are on every decision's path: they are in C
# (fxpipe.stages.strategy_context), the strategy's own code is what stays Python

__all__ = ["Fill", "Order", "OrderUpdate", "Quote", "Side", "Strategy", "StrategyContext", "StrategyError",
           "TimeInForce", "load_strategy"]

Side = ev.Side
TimeInForce = ev.TimeInForce


# The events a strategy is handed are named tuples: immutable, read by attribute, and made in a
# fraction of a frozen dataclass's time (one per quote on the hot path).
class Quote(NamedTuple):
    venue_id: int
    instrument_id: int
    bid_px_e8: int
    bid_qty_e2: int
    ask_px_e8: int
    ask_qty_e2: int
    ts_ns: int
    seq: int                  # the Quote event's sequence: intents name it as their trigger

    @property
    def mid_e8(self) -> int:
        """Mid rounded down to a whole e8 (exact: integer halving)."""
        return (self.bid_px_e8 + self.ask_px_e8) // 2


class Fill(NamedTuple):
    cl_ord_id: int
    venue_id: int
    instrument_id: int
    side: int
    last_qty_e2: int
    last_px_e8: int
    exec_trans_type: int      # NEW, CANCEL (bust) or CORRECT
    ts_ns: int


class OrderUpdate(NamedTuple):
    cl_ord_id: int
    orig_cl_ord_id: int
    ord_status: int
    exec_type: int
    cum_qty_e2: int
    leaves_qty_e2: int
    reject_reason: int
    ts_ns: int


class Strategy:
    """Base class with do-nothing handlers; subclassing it is optional (any object with these
    methods will do). `params` are the keyword arguments from the layout or command line."""

    ctx: StrategyContext

    def on_start(self, ctx: StrategyContext) -> None:
        self.ctx = ctx

    def on_quote(self, quote: Quote) -> None:
        pass

    def on_fill(self, fill: Fill) -> None:
        pass

    def on_order_update(self, update: OrderUpdate) -> None:
        pass

    def on_timer(self, now_ns: int) -> None:
        pass


def load_strategy(spec: str, params: dict | None = None):
    """'package.module:ClassName' (or a path-free module under examples/) -> an instance."""
    module, sep, name = spec.partition(":")
    if not sep or not module or not name:
        raise StrategyError(f"strategy {spec!r}: write it as 'module:ClassName', e.g. "
                            f"'examples.market_maker:MarketMaker'")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise StrategyError(f"strategy {spec!r} cannot be loaded: {exc}") from None
    try:
        return cls(**(params or {}))
    except TypeError as exc:
        raise StrategyError(f"strategy {spec!r} does not take these parameters {sorted(params or {})}: "
                            f"{exc}") from None
