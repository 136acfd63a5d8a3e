"""The book stage: positions, PnL and pre-trade risk over events, the part of the oms stage that
keeps the numbers, runnable live behind a StageRecorder and again by `fxpipe replay`.

Inputs and what each causes, in this order:
- Quote: the mark (mid) of its instrument; when it moved, a PositionUpdate (reason MARK) per
  strategy with an open position in it (by strategy id), then what the risk engine trips
  (a loss limit: the kill switch and cancel intents).
- Fill (new, bust, correction): the PositionUpdate of the book (reason FILL, BUST or
  CORRECTION), the strategy's PnL events (per currency A-Z, then the total), then what risk
  trips. A duplicate (venue, ExecID) causes nothing; a refused fill, a RiskEvent FILL_REFUSED
  (alarm) with the reason code, and nothing else changes.
- OrderIntent: nothing when accepted (the oms sends it), else the reject RiskEvent.
- OrderUpdate: what risk trips (overfill, reject storm).
- Control: kill switch, cancel all, limit changes (a RiskEvent LIMIT_CHANGED each).
- Timer: the PnL events of every strategy with an open position (by strategy id), then the
  desk's: a periodic snapshot, each strategy's figures of the same moment as the desk's.

`mark_updates="timer"`: a Quote still marks positions and risk at once, but the PositionUpdates
it would cause wait for the next Timer (one per strategy and instrument marked since, in
instrument then strategy order, before the PnL events). Where quotes are many and on the order
path (the runtime hands the oms the strategy's quote before each intent) this keeps the mark
cheap; PnL is as exact, only reported on the timer.

The configuration (journaled with the stage start) holds the reference data and limits text
themselves, so a replay on another box values and checks exactly as the live run did.
"""
from __future__ import annotations

import hashlib
import json

import numpy as np

import fxpipe.model.events as ev
from fxpipe.model.refdata import RefData, parse_refdata
from fxpipe.positions.book import PositionEngine
from fxpipe.positions.results import FillResult
from fxpipe.risk.engine import RiskEngine
from fxpipe.risk.limits import parse_limits
from fxpipe.stage import register_stage, timer_event

NAME = "book"
_REASON = {int(ev.ExecTransType.NEW): ev.PositionReason.FILL,
           int(ev.ExecTransType.CANCEL): ev.PositionReason.BUST,
           int(ev.ExecTransType.CORRECT): ev.PositionReason.CORRECTION}


class BookStage:
    name = NAME

    def __init__(self, refdata_text: str, limits_text: str = "", accounting: str = "average",
                 reporting_currency: str | None = None, max_strategies: int = 64, mark_updates: str = "each"):
        if mark_updates not in ("each", "timer"):
            raise ValueError(f"mark_updates must be 'each' or 'timer', got {mark_updates!r}")
        self._config = {"refdata_text": refdata_text, "limits_text": limits_text, "accounting": accounting,
                        "reporting_currency": reporting_currency, "max_strategies": max_strategies}
        if mark_updates != "each":                   # older journals' configs stay as they were
            self._config["mark_updates"] = mark_updates
        self.mark_on_timer = mark_updates == "timer"
        self._marked: set[int] = set()               # instruments marked since the last timer
        self.refdata: RefData = parse_refdata(refdata_text, "<book stage refdata>")
        self.positions = PositionEngine(self.refdata, accounting, reporting_currency, max_strategies)
        self.risk = RiskEngine(self.positions, self.refdata, max_strategies)
        for setting in parse_limits(limits_text, self.refdata, "<book stage limits>"):
            setting.apply(self.risk)

    @classmethod
    def from_config(cls, config: bytes) -> BookStage:
        return cls(**json.loads(config.decode()))

    def config(self) -> bytes:
        return json.dumps(self._config, sort_keys=True).encode()

    def on_timer(self, now_ns: int) -> list[np.void]:
        return self.on_event(timer_event(now_ns))

    def on_event(self, event: np.void, seq: int = 0, end_of_batch: bool = True) -> list[np.void]:
        t = int(event["type"])
        if t == ev.EventType.QUOTE:
            return self._on_quote(event)
        if t == ev.EventType.FILL:
            return self._on_fill(event)
        if t == ev.EventType.ORDER_INTENT:
            reject = self.risk.check(event)
            return [] if reject is None else [reject]
        if t in (ev.EventType.ORDER_UPDATE, ev.EventType.CONTROL):
            return self.risk.apply(event)
        if t == ev.EventType.TIMER:
            seq = int(event["sequence"])
            out = []
            if self._marked:
                marked = sorted(self._marked)
                self._marked.clear()        # the same set: the oms's C path adds to it
                out = [self.positions.position_event(s, instr, ev.PositionReason.MARK, seq)
                       for instr in marked for s in self.positions.books_of(instr)]
            # every strategy whose unrealized PnL moves with the marks, then the desk: a snapshot
            # in which each strategy's figures and the desk's are of the same moment
            for s in self.positions.strategies_with_positions():
                out += self.positions.pnl_events(s, seq)
            return out + self.positions.pnl_events(None, seq)
        return []

    def _on_quote(self, q: np.void) -> list[np.void]:
        if not self.positions.apply(q):
            return []
        instr = int(q["instrument_id"])
        if self.mark_on_timer:
            self._marked.add(instr)
            return self.risk.apply(q)
        seq = int(q["sequence"])
        out = [self.positions.position_event(s, instr, ev.PositionReason.MARK, seq)
               for s in self.positions.books_of(instr)]
        return out + self.risk.apply(q)

    def _on_fill(self, f: np.void) -> list[np.void]:
        rc = self.positions.apply(f)
        if rc == FillResult.DUPLICATE:
            return []
        seq = int(f["sequence"])
        if rc != FillResult.APPLIED:
            alarm = ev.make(ev.EventType.RISK, check=ev.RiskCheck.FILL_REFUSED, action=ev.RiskAction.ALARM,
                            observed=rc, strategy_id=int(f["strategy_id"]), cause_seq=seq,
                            instrument_id=int(f["instrument_id"]), venue_id=int(f["venue_id"]),
                            side=int(f["side"]) if int(f["side"]) in (ev.Side.BUY, ev.Side.SELL) else 0,
                            order_qty_e2=int(f["last_qty_e2"]), order_price_e8=int(f["last_px_e8"]))
            return [alarm]
        reason = _REASON[int(f["exec_trans_type"])]
        out = [self.positions.last_position_event(reason, seq)]
        out += self.positions.pnl_events(int(f["strategy_id"]), seq)
        return out + self.risk.apply(f)

    def state_hash(self) -> bytes:
        h = hashlib.sha256()
        h.update(self.positions.state_bytes())
        h.update(self.risk.state_bytes())
        if self._marked:
            h.update(b"marked" + b"".join(i.to_bytes(2, "little") for i in sorted(self._marked)))
        return h.digest()


register_stage(NAME, BookStage.from_config)
