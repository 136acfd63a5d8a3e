"""The market every venue of one process quotes from, and how fast it moves.

The source is the seeded PriceProcess or a ReplaySource. Pacing is one of:
- `wall`: a synthetic market plays `rate` updates per second of wall time (a replay plays its
  rows at `speed` times their recorded pace); a loop that falls behind by more than a second
  skips ahead rather than bursting, and counts what it skipped;
- `step`: the market moves `step_updates` updates each time a venue receives an application
  message, and not otherwise. The venue is then a function of the seed and the order flow
  alone, which is what determinism tests and reproducible demos need.
"""
from __future__ import annotations

import time

from fxpipe.venue.prices import PriceProcess
from fxpipe.venue.replay import ReplaySource

MAX_BATCH = 4096  # updates played per loop turn at most, so sessions are served between batches


class Market:
    def __init__(self, source: PriceProcess | ReplaySource, pace: str = "wall", rate: float = 1000.0,
                 step_updates: int = 1, speed: float = 1.0, clock=time.monotonic_ns):
        if pace not in ("wall", "step"):
            raise ValueError(f"pace {pace!r}: use \"wall\" or \"step\"")
        self.source = source
        self.pairs = source.pairs
        self.index = {p.symbol: i for i, p in enumerate(self.pairs)}
        self.pace = pace
        self.rate = rate
        self.step_updates = step_updates
        self.speed = speed
        self.clock = clock
        self.t0 = clock()
        self.played = 0
        self.skipped = 0
        self._replay_t0 = source.next_ts_ns if isinstance(source, ReplaySource) else None

    @property
    def is_replay(self) -> bool:
        return isinstance(self.source, ReplaySource)

    def _due(self, now: int, limit: int) -> int:
        """Synthetic updates due by now, at most `limit`."""
        due = (now - self.t0) * self.rate // 1_000_000_000 - self.played
        if due > self.rate:  # more than a second behind: skip rather than burst
            skip = int(due - self.rate // 10)
            self.skipped += skip
            self.played += skip
            due -= skip
        return int(min(due, limit))

    def poll(self, now: int | None = None, limit: int = MAX_BATCH) -> list[int]:
        """Plays up to `limit` of the updates due now; returns the pair indices whose quote
        changed, sorted (several updates of one pair between two polls are conflated)."""
        if self.pace == "step":
            return []
        now = self.clock() if now is None else now
        if isinstance(self.source, ReplaySource):
            assert self._replay_t0 is not None  # a replay source starts with a row to play
            return self._play_replay(self.source, self._replay_t0 + int((now - self.t0) * self.speed), limit)
        if self.rate <= 0:
            return []
        n = self._due(now, limit)
        return self.play(n) if n > 0 else []

    def _play_replay(self, src: ReplaySource, horizon: int, limit: int) -> list[int]:
        changed: set[int] = set()
        for _ in range(limit):
            nxt = src.next_ts_ns
            if nxt is None or nxt > horizon:
                break
            changed.update(src.advance())
            self.played += 1
        return sorted(changed)

    def play(self, n: int) -> list[int]:
        """Plays n updates at once (any pace); the changed pair indices, sorted."""
        changed: set[int] = set()
        adv = self.source.advance
        for _ in range(n):
            changed.update(adv())
        self.played += n
        return sorted(changed)

    def on_inbound(self) -> list[int]:
        """An application message arrived at a venue: in step pace the market moves now."""
        if self.pace != "step":
            return []
        return self.play(self.step_updates)

    def next_due_ns(self, now: int) -> int | None:
        """When the next update is due (monotonic ns), None when nothing will come by itself."""
        if self.pace == "step":
            return None
        if isinstance(self.source, ReplaySource):
            nxt = self.source.next_ts_ns
            if nxt is None:
                return None
            assert self._replay_t0 is not None  # a replay source starts with a row to play
            return self.t0 + int((nxt - self._replay_t0) / max(self.speed, 1e-9))
        if self.rate <= 0:
            return None
        return self.t0 + (self.played + 1) * 1_000_000_000 // int(self.rate)

    def shift(self, symbol: str, pips: float) -> list[int]:
        """A scripted jump of a synthetic market (the price_jump fault)."""
        if isinstance(self.source, ReplaySource):
            raise ValueError("price_jump needs the synthetic price process; this market replays recorded quotes")
        if symbol not in self.index:
            known = ", ".join(self.index) or "none"
            raise ValueError(f"price_jump: {symbol!r} is not in this market; pairs (written like this): {known}")
        return sorted(self.source.shift(self.index[symbol], pips))
