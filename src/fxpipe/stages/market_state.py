"""The market-state stage: best bid/ask per (venue, instrument) and the composite best across
venues, with quote ages in event time.

Input: Quote events (top of book, level 0; deeper levels are not top of book and are ignored),
Timer events (time passes: quotes may go stale), and market-data SessionEvents (a venue whose
feed drops loses its quotes until it sends fresh ones: stale prices must not survive a
reconnect). Time is the event's receive stamp (its venue stamp when it has none); the stage's
clock is the latest such time seen, never the wall clock.

Composite: per side, the best price among venues whose quote on that side is at most
`stale_after_ns` old, with the quantity of every such venue at that price added up; a side
with no fresh quote is absent (price and quantity 0). Output: on every change of an
instrument's composite top of book, one Quote event with venue_id 0 and flag SYNTHETIC
(fxpipe's own), quote_cond FIRM when every contributing venue quoted firm, the header time
stamps of the event that caused the change (so per-hop latency carries through), level 0.
Which venue holds each side and each side's age are in composite(instrument_id).
"""
from __future__ import annotations

import hashlib
import json
import struct

import numpy as np

import fxpipe.model.events as ev
from fxpipe.stage import event_time, register_stage, timer_event
from fxpipe.stages.quotes import TopOfBook, VenueQuote, apply_quote, composite_of

NAME = "market_state"
DEFAULT_STALE_AFTER_NS = 5_000_000_000
__all__ = ["DEFAULT_STALE_AFTER_NS", "NAME", "MarketStateStage", "TopOfBook", "VenueQuote"]


class MarketStateStage:
    name = NAME

    def __init__(self, stale_after_ns: int = DEFAULT_STALE_AFTER_NS):
        if stale_after_ns <= 0:
            raise ValueError(f"stale_after_ns must be > 0, got {stale_after_ns}")
        self.stale_after_ns = int(stale_after_ns)
        self.now_ns = 0
        self.books: dict[int, dict[int, VenueQuote]] = {}    # instrument -> venue -> quote
        self.emitted: dict[int, tuple] = {}                   # instrument -> last composite key

    @classmethod
    def from_config(cls, config: bytes) -> MarketStateStage:
        return cls(**json.loads(config.decode()))

    def config(self) -> bytes:
        return json.dumps({"stale_after_ns": self.stale_after_ns}, sort_keys=True).encode()

    # --- queries --------------------------------------------------------------------------------

    def venue_quote(self, venue_id: int, instrument_id: int) -> VenueQuote | None:
        return self.books.get(instrument_id, {}).get(venue_id)

    def age_ns(self, venue_id: int, instrument_id: int) -> int | None:
        q = self.venue_quote(venue_id, instrument_id)
        return None if q is None else self.now_ns - q.ts_ns

    def composite(self, instrument_id: int) -> TopOfBook:
        """The composite top of book now (fxpipe.stages.quotes.TopOfBook, computed in C): per
        side the best fresh price across venues, the quantity at it added up."""
        return composite_of(self, instrument_id)

    def instruments(self) -> list[int]:
        return sorted(set(self.books) | set(self.emitted))

    # --- the handler ----------------------------------------------------------------------------

    def apply(self, event: np.void) -> None:
        """Takes the event into the books without working out what to publish: for a host (the
        decision stage) that reads composite() when it needs it."""
        t = int(event["type"])
        if t == ev.EventType.QUOTE:
            apply_quote(self, event.tobytes())
            return
        ts = event_time(event)
        if ts > self.now_ns:
            self.now_ns = ts
        if t == ev.EventType.SESSION and int(event["session_kind"]) == ev.SessionKind.MARKET_DATA and \
                int(event["state"]) != ev.SessionState.ACTIVE:
            venue = int(event["venue_id"])
            for book in self.books.values():
                book.pop(venue, None)

    def on_timer(self, now_ns: int) -> list[np.void]:
        return self.on_event(timer_event(now_ns))

    def on_event(self, event: np.void, seq: int = 0, end_of_batch: bool = True) -> list[np.void]:
        t = int(event["type"])
        ts = event_time(event)
        if ts > self.now_ns:
            self.now_ns = ts
        if t == ev.EventType.QUOTE:
            if int(event["level"]) != 0:
                return []
            instr = int(event["instrument_id"])
            self.books.setdefault(instr, {})[int(event["venue_id"])] = VenueQuote(
                int(event["bid_px_e8"]), int(event["bid_qty_e2"]), int(event["ask_px_e8"]),
                int(event["ask_qty_e2"]), int(event["quote_cond"]) != ev.QuoteCondition.INDICATIVE, ts)
            return self._changes([instr], event)
        if t == ev.EventType.SESSION and int(event["session_kind"]) == ev.SessionKind.MARKET_DATA and \
                int(event["state"]) != ev.SessionState.ACTIVE:
            venue = int(event["venue_id"])
            hit = [instr for instr, book in sorted(self.books.items()) if book.pop(venue, None) is not None]
            return self._changes(hit, event)
        if t == ev.EventType.TIMER:
            return self._changes(self.instruments(), event)
        return []

    def _changes(self, instruments: list[int], cause: np.void) -> list[np.void]:
        out = []
        for instr in instruments:
            top = self.composite(instr)
            key = (top.bid_px_e8, top.bid_qty_e2, top.ask_px_e8, top.ask_qty_e2, top.firm)
            if self.emitted.get(instr, (0, 0, 0, 0, True)) == key:
                continue
            self.emitted[instr] = key
            out.append(self._quote(top, cause))
        return out

    @staticmethod
    def _quote(top: TopOfBook, cause: np.void) -> np.void:
        q = ev.empty(ev.EventType.QUOTE, 1)[0]
        q["flags"] = int(ev.EventFlag.SYNTHETIC)
        q["instrument_id"] = top.instrument_id
        for hop in ("ts_venue_ns", "ts_receive_ns", "ts_decode_ns"):
            q[hop] = cause[hop]
        q["bid_px_e8"], q["bid_qty_e2"] = top.bid_px_e8, top.bid_qty_e2
        q["ask_px_e8"], q["ask_qty_e2"] = top.ask_px_e8, top.ask_qty_e2
        q["quote_cond"] = int(ev.QuoteCondition.FIRM if top.firm else ev.QuoteCondition.INDICATIVE)
        return q

    # --- determinism ----------------------------------------------------------------------------

    def state_hash(self) -> bytes:
        h = hashlib.sha256()
        h.update(struct.pack("<qq", self.stale_after_ns, self.now_ns))
        for instr, book in sorted(self.books.items()):
            for venue, q in sorted(book.items()):
                h.update(struct.pack("<HHqqqqBq", instr, venue, q.bid_px_e8, q.bid_qty_e2, q.ask_px_e8,
                                     q.ask_qty_e2, q.firm, q.ts_ns))
        for instr, key in sorted(self.emitted.items()):
            h.update(struct.pack("<HqqqqB", instr, *key))
        return h.digest()


register_stage(NAME, MarketStateStage.from_config)
