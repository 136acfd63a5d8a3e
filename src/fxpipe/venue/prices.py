"""The seeded price process behind a simulated market: one update at a time, deterministic.

Each update picks one major (EUR/USD, USD/JPY, ...) and moves its fair mid by a normal step
(sometimes a jump), then re-derives every cross built on it from its legs, so EUR/JPY is always
EUR/USD x USD/JPY and no triangle can be arbitraged. Spreads breathe: each pair carries a spread
multiplier that jumps wide on a price jump and decays back to the typical spread, with noise.

The random draws are floats from numpy's PCG64, drawn in fixed blocks so the sequence depends
only on the seed; every state that reaches a price is an integer (`mid_e8`), and every emitted
quote is aligned on the pair's tick: bid rounded down, ask rounded up, so the quoted spread is
never below the modelled one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fxpipe.venue.pairs import E8, Pair

_BLOCK = 4096  # draws per refill; part of the sequence's definition, do not change lightly


SECONDS_PER_YEAR = 260 * 86_400  # FX trades around the clock, five days a week


@dataclass(frozen=True)
class ProcessParams:
    """Shape of the walk. Calibrated (`volatility` > 0, with the updates per second known):
    each major moves with its own annual realised volatility times `volatility` (1.0: the
    real market, pairs.SIM), spread over the updates it gets per second, and jumps (of
    `jump_pips` standard deviation) `jumps_per_hour` times an hour on average. Otherwise, per
    update: `step_pips` is the standard deviation of one update of a major, in its pips, and
    `jump_prob` the chance an update is a jump."""

    step_pips: float = 0.1
    jump_prob: float = 0.002
    jump_pips: float = 3.0
    volatility: float = 0.0
    jumps_per_hour: float = 0.0
    spread_decay: float = 0.95  # share of the excess spread left after each update of a pair
    spread_noise: float = 0.02  # size of the random widening per update, in typical spreads
    jump_widening: float = 2.0  # excess spread (in typical spreads) added by a jump
    max_excess: float = 6.0

    def check(self) -> None:
        if not (self.step_pips >= 0 and self.jump_pips >= 0 and self.volatility >= 0 and self.jumps_per_hour >= 0):
            raise ValueError("step_pips, jump_pips, volatility and jumps_per_hour must be >= 0")
        if not 0 <= self.jump_prob <= 1:
            raise ValueError(f"jump_prob must be within [0, 1], got {self.jump_prob}")
        if not 0 <= self.spread_decay < 1:
            raise ValueError(f"spread_decay must be within [0, 1), got {self.spread_decay}")


def half_even(num: int, den: int) -> int:
    """num / den rounded half to even, as fxpipe.model.numbers.divide does by default; inlined
    here because a cross is re-derived on every update of its legs (a test checks they agree)."""
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q & 1):
        q += 1
    return q


class PriceProcess:
    """The market: `advance()` makes one update and returns the indices (into `pairs`) whose
    top of book changed; `bid_e8`, `ask_e8` and `mid_e8` hold the current state per pair."""

    def __init__(self, pairs: tuple[Pair, ...], seed: int, params: ProcessParams | None = None,
                 updates_per_s: float = 0.0):
        """updates_per_s: how many updates the market plays a second (wall pace); with it a
        calibrated process (params.volatility > 0) scales each step to real time."""
        self.pairs = pairs
        self.seed = seed
        self.params = params or ProcessParams()
        self.params.check()
        index = {p.symbol: i for i, p in enumerate(pairs)}
        self.majors = [i for i, p in enumerate(pairs) if p.legs is None]
        if not self.majors:
            raise ValueError("a price process needs at least one pair that is not a cross")
        # crosses[i] = [(cross index, first leg, second leg, op)] for the crosses on major i
        self._crosses: dict[int, list[tuple[int, int, int, str]]] = {i: [] for i in self.majors}
        self._legs: dict[int, tuple[int, int, str]] = {}
        for ci, p in enumerate(pairs):
            if p.legs:
                a, b, op = p.legs
                if a not in index or b not in index:
                    raise ValueError(f"cross {p.symbol} needs its legs {a} and {b} in the pair list")
                if pairs[index[a]].legs or pairs[index[b]].legs:
                    raise ValueError(f"cross {p.symbol}: its legs must be majors, not crosses")
                self._legs[ci] = (index[a], index[b], op)
                for leg in (index[a], index[b]):
                    self._crosses[leg].append((ci, index[a], index[b], op))
        prm = self.params
        # per major: (standard deviation of one update, chance an update is a jump), in pips
        self._step = {i: (prm.step_pips, prm.jump_prob) for i in self.majors}
        if prm.volatility > 0 and updates_per_s > 0:
            per_major_s = len(self.majors) / updates_per_s  # seconds between two updates of one major
            for i in self.majors:
                p = pairs[i]
                sigma = p.start_mid_e8 / p.pip_e8 * p.vol_annual * prm.volatility / SECONDS_PER_YEAR ** 0.5
                self._step[i] = (sigma * per_major_s ** 0.5, min(1.0, prm.jumps_per_hour / 3600 * per_major_s))
        self.mid_e8 = [p.start_mid_e8 for p in pairs]
        self.excess = [0.0] * len(pairs)
        self.bid_e8 = [0] * len(pairs)
        self.ask_e8 = [0] * len(pairs)
        self._rng = np.random.Generator(np.random.PCG64(seed))
        self._pos = _BLOCK
        self.updates = 0
        for ci, ia, ib, op in (c for lst in self._crosses.values() for c in lst):
            self.mid_e8[ci] = self._cross_mid(ia, ib, op)
        for i in range(len(pairs)):
            self.excess[i] = self._cross_excess(i) if pairs[i].legs else 0.0
            self._requote(i)

    # -- draws ---------------------------------------------------------------------------
    def _refill(self) -> None:
        g = self._rng
        self._pick = g.integers(0, len(self.majors), _BLOCK).tolist()
        normals = g.standard_normal((3, _BLOCK))
        self._z = normals[0].tolist()
        self._zj = normals[1].tolist()
        self._zs = normals[2].tolist()
        self._u = g.random(_BLOCK).tolist()
        self._pos = 0

    # -- the walk ------------------------------------------------------------------------
    def advance(self) -> list[int]:
        if self._pos == _BLOCK:
            self._refill()
        k = self._pos
        self._pos = k + 1
        self.updates += 1
        prm = self.params
        i = self.majors[self._pick[k]]
        pair = self.pairs[i]
        step_pips, jump_prob = self._step[i]
        step = self._z[k] * step_pips
        jump = self._u[k] < jump_prob
        if jump:
            step += self._zj[k] * prm.jump_pips
        mid = self.mid_e8[i] + int(round(step * pair.pip_e8))
        floor = pair.start_mid_e8 // 10  # a walk never reaches zero; a tenth of the start is far
        self.mid_e8[i] = mid if mid > floor else floor
        ex = self.excess[i] * prm.spread_decay + prm.spread_noise * abs(self._zs[k])
        if jump:
            ex += prm.jump_widening
        self.excess[i] = ex if ex < prm.max_excess else prm.max_excess
        changed = [i] if self._requote(i) else []
        for ci, a, b, op in self._crosses[i]:
            self.mid_e8[ci] = self._cross_mid(a, b, op)
            self.excess[ci] = self._cross_excess(ci)
            if self._requote(ci):
                changed.append(ci)
        return changed

    def _cross_mid(self, a: int, b: int, op: str) -> int:
        if op == "mul":
            return half_even(self.mid_e8[a] * self.mid_e8[b], E8)
        return half_even(self.mid_e8[a] * E8, self.mid_e8[b])

    def _cross_excess(self, ci: int) -> float:
        a, b, _ = self._legs[ci]
        return max(self.excess[a], self.excess[b])

    def _requote(self, i: int) -> bool:
        """Tick-aligned bid/ask around the fair mid; True when the top of book changed."""
        p = self.pairs[i]
        tick = p.tick_e8
        spread_e8 = int(p.spread_ticks * tick * (1.0 + self.excess[i]))
        half = spread_e8 // 2
        mid = self.mid_e8[i]
        bid = (mid - half) // tick * tick
        ask = -((-(mid + half)) // tick) * tick
        if ask - bid < p.spread_ticks * tick:
            ask = bid + p.spread_ticks * tick
        if bid == self.bid_e8[i] and ask == self.ask_e8[i]:
            return False
        self.bid_e8[i] = bid
        self.ask_e8[i] = ask
        return True

    def shift(self, i: int, pips: float) -> list[int]:
        """Moves pair i's mid by `pips` at once (a scripted shock, e.g. to trip a last look);
        a cross moves through its legs, so shifting a cross shifts its first leg."""
        p = self.pairs[i]
        if p.legs:
            a = self._legs[i][0]
            # the first leg's pip moved so the cross moves by about `pips` of its own pips
            leg_pips = pips * p.pip_e8 * self.mid_e8[a] / (self.mid_e8[i] * self.pairs[a].pip_e8)
            return self.shift(a, leg_pips)
        self.mid_e8[i] += int(round(pips * p.pip_e8))
        changed = [i] if self._requote(i) else []
        for ci, a, b, op in self._crosses[i]:
            self.mid_e8[ci] = self._cross_mid(a, b, op)
            if self._requote(ci):
                changed.append(ci)
        return changed
