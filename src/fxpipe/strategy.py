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
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

import fxpipe.model.events as ev
from fxpipe.model.packing import packer

Side = ev.Side
TimeInForce = ev.TimeInForce
_ID_BITS = 40                 # cl_ord_id = strategy_id << 40 | per-strategy counter
# an OrderIntent made in one pack (a numpy record costs ~0.5 us per field set)
_INTENT = packer(ev.EventType.ORDER_INTENT, (
    "type", "venue_id", "instrument_id", "ts_venue_ns", "ts_receive_ns", "ts_decode_ns", "ts_decide_ns",
    "cl_ord_id", "orig_cl_ord_id", "price_e8", "qty_e2", "trigger_seq", "strategy_id", "action", "side",
    "ord_type", "time_in_force"), whole=True)
_INTENT_DTYPE = ev.dtype_for(ev.EventType.ORDER_INTENT)
_INTENT_TYPE = int(ev.EventType.ORDER_INTENT)
_LIMIT = int(ev.OrdType.LIMIT)
# plain ints: an enum member's lookup and comparison cost more than the work they guard
_BUY, _SELL = int(Side.BUY), int(Side.SELL)
_NEW = int(ev.IntentAction.NEW)


class StrategyError(ValueError):
    """A strategy asked for something the context refuses (says what and why)."""


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


@dataclass(slots=True)
class Order:
    """What the strategy knows of one of its orders: what it asked, then what the oms said."""
    cl_ord_id: int
    venue_id: int
    instrument_id: int
    side: int
    qty_e2: int
    price_e8: int
    time_in_force: int
    status: int = int(ev.OrdStatus.PENDING_NEW)
    cum_qty_e2: int = 0
    leaves_qty_e2: int = 0
    orig_cl_ord_id: int = 0           # a replace: the order's previous ClOrdID

    @property
    def done(self) -> bool:
        return self.status in _DONE


_DONE = {int(ev.OrdStatus.FILLED), int(ev.OrdStatus.CANCELED), int(ev.OrdStatus.REJECTED),
         int(ev.OrdStatus.EXPIRED), int(ev.OrdStatus.REPLACED), int(ev.OrdStatus.DONE_FOR_DAY)}


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


@dataclass
class StrategyContext:
    """A strategy's view of the world and its way to act on it. Intents it creates are
    collected and handed to the host after the callback returns, in the order made."""
    strategy_id: int
    venue_id: int                                   # default venue for submit()
    books: object                                   # has composite(instrument_id) / venue_quote()
    now_ns: int = 0
    positions: dict[int, int] = field(default_factory=dict)         # instrument -> net qty_e2
    orders: dict[int, Order] = field(default_factory=dict)          # cl_ord_id -> Order (open)
    next_order: int = 1
    trigger_seq: int = 0
    # the hop stamps (venue, receive, decode) of the event being handled: its intents carry
    # them, so tick-to-trade is measured through the strategy; None: (0, now_ns, 0)
    hops: tuple[int, int, int] | None = None
    pending: list[bytearray] = field(default_factory=list)        # intents made, as their bytes

    # --- reading -------------------------------------------------------------------------------

    def position(self, instrument_id: int) -> int:
        """Net position in qty_e2 (positive long), as the oms last reported it."""
        return self.positions.get(instrument_id, 0)

    def book(self, instrument_id: int):
        """Composite top of book (fxpipe.stages.market_state.TopOfBook): stale quotes left out."""
        return self.books.composite(instrument_id)  # type: ignore[attr-defined]

    def order(self, cl_ord_id: int) -> Order | None:
        return self.orders.get(cl_ord_id)

    def open_orders(self, instrument_id: int | None = None) -> list[Order]:
        return [o for _, o in sorted(self.orders.items())
                if not o.done and (instrument_id is None or o.instrument_id == instrument_id)]

    # --- acting --------------------------------------------------------------------------------

    def submit(self, instrument_id: int, side: int, qty_e2: int, price_e8: int, *,
               time_in_force: int = ev.TimeInForce.DAY, venue_id: int | None = None) -> int:
        """A new limit order; returns its cl_ord_id. The oms checks risk before it leaves."""
        if side != _BUY and side != _SELL:
            raise StrategyError(f"strategy {self.strategy_id}: side must be Side.BUY or Side.SELL, got {side}")
        if qty_e2 <= 0 or price_e8 <= 0:
            raise StrategyError(f"strategy {self.strategy_id}: qty_e2 and price_e8 must be > 0 "
                                f"(got qty_e2={qty_e2}, price_e8={price_e8})")
        venue = self.venue_id if venue_id is None else venue_id
        cl = self._next_id()
        qty = int(qty_e2)
        o = self.orders[cl] = Order(cl, venue, instrument_id, int(side), qty, int(price_e8), int(time_in_force),
                                    leaves_qty_e2=qty)
        self._intent(_NEW, cl, 0, o)
        return cl

    def cancel(self, cl_ord_id: int) -> int:
        """Asks to cancel an open order; returns the cancel request's cl_ord_id."""
        o = self._open(cl_ord_id, "cancel")
        cl = self._next_id()
        self._intent(ev.IntentAction.CANCEL, cl, cl_ord_id, o)
        o.status = int(ev.OrdStatus.PENDING_CANCEL)     # until the oms says canceled, or why not
        return cl

    def replace(self, cl_ord_id: int, *, qty_e2: int | None = None, price_e8: int | None = None) -> int:
        """Asks to change an open order's quantity and/or price; returns the new cl_ord_id,
        under which the order is known from now on."""
        o = self._open(cl_ord_id, "replace")
        qty = o.qty_e2 if qty_e2 is None else int(qty_e2)
        px = o.price_e8 if price_e8 is None else int(price_e8)
        if qty <= 0 or px <= 0:
            raise StrategyError(f"strategy {self.strategy_id}: replace of {cl_ord_id} needs qty_e2 and price_e8 > 0")
        cl = self._next_id()
        new = Order(cl, o.venue_id, o.instrument_id, o.side, qty, px, o.time_in_force,
                    status=int(ev.OrdStatus.PENDING_REPLACE), cum_qty_e2=o.cum_qty_e2,
                    leaves_qty_e2=max(0, qty - o.cum_qty_e2), orig_cl_ord_id=cl_ord_id)
        self.orders[cl] = new
        self._intent(ev.IntentAction.REPLACE, cl, cl_ord_id, new)
        return cl

    # --- host side -----------------------------------------------------------------------------

    def take(self) -> list[np.void]:
        """The intents made since the last take, in the order made, as records."""
        out, self.pending = self.pending, []
        return [np.frombuffer(raw, _INTENT_DTYPE)[0] for raw in out]

    def take_bytes(self) -> list[bytearray]:
        """take() for a host that wants the intents' bytes (each its own buffer, the host's to
        stamp): no record is made."""
        out, self.pending = self.pending, []
        return out

    def _next_id(self) -> int:
        n = self.next_order
        if n >= 1 << _ID_BITS:
            raise StrategyError(f"strategy {self.strategy_id} has used every cl_ord_id")
        self.next_order = n + 1
        return (self.strategy_id << _ID_BITS) | n

    def _open(self, cl_ord_id: int, what: str) -> Order:
        o = self.orders.get(cl_ord_id)
        if o is None or o.done:
            raise StrategyError(f"strategy {self.strategy_id}: cannot {what} order {cl_ord_id}: "
                                f"{'unknown' if o is None else 'already done'}")
        return o

    def _intent(self, action: int, cl: int, orig: int, o: Order) -> None:
        venue_ts, receive_ts, decode_ts = self.hops if self.hops is not None else (0, self.now_ns, 0)
        raw = bytearray(_INTENT.pack(_INTENT_TYPE, o.venue_id, o.instrument_id, venue_ts, receive_ts, decode_ts,
                                     self.now_ns, cl, orig, o.price_e8, o.qty_e2, self.trigger_seq,
                                     self.strategy_id, action, o.side, _LIMIT, o.time_in_force))
        self.pending.append(raw)


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
