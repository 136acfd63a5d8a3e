"""The venue simulator process: one event loop running every configured venue.

The loop owns fxpipe's FIX engine (the acceptor sessions, with the venue's logon policy), the
market, each venue's binary feed publisher and the control port. One turn: let the engine read and
write sockets (requests reach the venues), move the market by what is due, fire the venues'
timers (last-look holds, faults, queued reports), send feed heartbeats and answer snapshot
requests, then sleep on every socket until the next thing is due.
"""
from __future__ import annotations

import logging
import selectors
import socket
import time
import traceback
from collections.abc import Iterable
from typing import Any, cast

from fxpipe.feed.publisher import FeedPublisher, InstrumentDef
from fxpipe.fix.session.session import Application
from fxpipe.fix.session.transport import Engine
from fxpipe.venue.app import Venue
from fxpipe.venue.config import SimConfig
from fxpipe.venue.control import ControlServer
from fxpipe.venue.faults import ANY_SESSION, MARKET_WIDE, Fault
from fxpipe.venue.journal_replay import open_journal
from fxpipe.venue.link import LogonFaults
from fxpipe.venue.market import Market
from fxpipe.venue.pairs import load
from fxpipe.venue.prices import PriceProcess
from fxpipe.venue.replay import ReplaySource

logger = logging.getLogger("fxpipe.venue")
ENGINE_TICK_S = 0.02
MAX_WAIT_S = 0.05
MARKET_CHUNK = 8  # updates published per step: small, so each update reaches subscribers
MARKET_BUDGET_NS = 2_000_000  # market time per turn before the sessions are served again


class _SessionApp(Application):
    """Routes one acceptor session's callbacks to its venue, with the client's comp id."""

    def __init__(self, venue: Venue, key: str):
        self.venue = venue
        self.key = key

    def on_logon(self, session) -> None:
        self.venue.on_logon(self.key, session, self.venue.clock())

    def on_logout(self, session, reason: str) -> None:
        self.venue.on_logout(self.key, self.venue.clock())

    def on_message(self, session, msg) -> None:
        try:
            self.venue.on_message(self.key, msg, self.venue.clock())
        except Exception:  # a bug must not take every venue down: log it, keep serving
            logger.error("venue %s: %s from %s failed:\n%s", self.venue.profile.name, msg.msg_type,
                         self.key, traceback.format_exc())


def run_id_of(start_ns: int) -> str:
    """The default run id: the venue's start instant in milliseconds, base 36 (8 characters
    until the year 2059), so OrderIDs and ExecIDs of two runs never collide."""
    n = start_ns // 1_000_000
    digits = ""
    while n:
        n, d = divmod(n, 36)
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[d] + digits
    return digits or "0"


class VenueServer:
    def __init__(self, cfg: SimConfig, faults: Iterable[Fault] = (), clock=time.time_ns, wait: str = "block"):
        """wait: "block" sleeps in the selector until a socket, a timer or the market is due;
        "backoff" first polls for the engine's spin window after each socket event, so a
        client's next order right after a fill is taken at once (see fix.session.transport).

        The FIX engine runs on `clock`; the venues run on the venue clock: the same clock
        moved to start at market.start_time when that is set (trade dates, value dates and
        the 17:00 New York roll follow it; the sessions' SendingTime stays real)."""
        if wait not in ("block", "backoff"):
            raise ValueError(f"wait must be 'block' or 'backoff', got {wait!r}")
        self.cfg = cfg
        self.clock = clock
        self.wait = wait
        m = cfg.market
        offset = m.start_time_ns - clock() if m.start_time_ns is not None else 0
        self.venue_clock = (lambda: clock() + offset) if offset else clock
        self.run_id = m.run_id or run_id_of(self.venue_clock())
        pairs = load(cfg.refdata, list(m.pairs) if m.pairs else None)
        source: PriceProcess | ReplaySource
        if m.replay:
            source = ReplaySource.from_csv(m.replay, pairs, loop=m.replay_loop)
        elif m.replay_journal:
            source = open_journal(m.replay_journal, pairs, cfg.refdata, m.replay_venue, m.replay_instruments,
                                  loop=m.replay_loop)
        else:
            source = PriceProcess(pairs, m.seed, m.process, m.rate if m.pace == "wall" else 0.0)
        self.market = Market(source, m.pace, m.rate, m.step_updates, m.replay_speed)
        self.engine = Engine(clock=clock, tick_s=ENGINE_TICK_S, wait=wait)
        self.logon_faults = LogonFaults()
        self.engine.logon_policy = self.logon_faults
        self.venues: list[Venue] = []
        self.control: ControlServer | None = None
        self._sel = selectors.DefaultSelector()
        self._played = 0
        stream_id = (time.time_ns() // 1_000_000) & 0xFFFFFFFF or 1
        try:
            for vc in cfg.venues:
                v = Venue(vc.profile, self.market, m.seed, self.venue_clock, broadcast=self._moved,
                          run_id=self.run_id)
                v.engine = self.engine
                v.logon_faults = self.logon_faults
                for scfg in vc.sessions:
                    v.session_names[scfg.target_comp_id] = scfg.name
                    self.engine.add_session(scfg, _SessionApp(v, scfg.target_comp_id))
                if vc.feed is not None:
                    defs = [InstrumentDef(p.instrument_id, p.symbol, p.pip_e8, p.tick_e8, p.price_decimals,
                                          p.settle_days) for p in v.pairs]
                    v.feed = FeedPublisher(vc.feed.channel_id, vc.feed.destinations, vc.feed.snapshot_port, defs,
                                           vc.feed.stream_id or stream_id, vc.feed.heartbeat_ms)
                    v.on_market(list(range(len(self.market.pairs))), self.venue_clock())  # first ladders on the feed
                self.venues.append(v)
                for f in vc.faults:
                    self._arm_on(v, f)
            for f in faults:
                self.arm(f)
            if cfg.control_port is not None:
                self.control = ControlServer(cfg.control_port, self)
        except BaseException:
            self.close()
            raise

    # -- faults -------------------------------------------------------------------------------
    def _arm_on(self, v: Venue, f: Fault) -> int:
        if f.kind in MARKET_WIDE and not f.session:
            v.faults.arm(ANY_SESSION, f, self.venue_clock(), None)
            return 1
        keys = [f.session] if f.session else list(v.session_names)
        unknown = [k for k in keys if k not in v.session_names]
        if unknown:
            raise ValueError(f"fault {f.kind}: session {unknown[0]!r} is not a client of venue "
                             f"{v.profile.name} (clients: {', '.join(v.session_names)})")
        now = self.venue_clock()
        for k in keys:
            v.faults.arm(k, f, now, now if k in v.sessions else None)
        return len(keys)

    def arm(self, f: Fault) -> int:
        """Arms a fault on the venues and sessions it names (all when it names none)."""
        targets = [v for v in self.venues if f.venue in (None, v.profile.name)]
        if not targets:
            raise ValueError(f"fault {f.kind}: no venue {f.venue!r}; venues: "
                             f"{', '.join(v.profile.name for v in self.venues)}")
        if f.session:
            targets = [v for v in targets if f.session in v.session_names]
            if not targets:
                raise ValueError(f"fault {f.kind}: no venue has a client {f.session!r}")
        elif f.kind == "price_jump":
            targets = targets[:1]  # one market: it jumps once, whichever venue carries the fault
        return sum(self._arm_on(v, f) for v in targets)

    def pending_faults(self) -> list[dict]:
        return [{"venue": v.profile.name, "session": s, "fault": f.spec or f.kind}
                for v in self.venues for s, lst in v.faults.armed.items() for f in lst]

    def status(self) -> dict:
        out: dict[str, Any] = {"market": {"updates": self.market.played, "skipped": self.market.skipped, "pace": self.market.pace},
               "run_id": self.run_id, "venues": {}}
        src = self.market.source
        if isinstance(src, ReplaySource):
            out["market"]["replay"] = {"source": src.origin, "quotes": len(src.rows), "played": src.updates}
        for v in self.venues:
            st = v.stats()
            if v.feed is not None:
                st["feed"] = v.feed.stats()
            out["venues"][v.profile.name] = st
        return out

    # -- the loop -----------------------------------------------------------------------------
    def _moved(self, changed: list[int], now: int) -> None:
        for v in self.venues:
            v.on_market(changed, now)

    def start(self) -> dict:
        """Opens the listening sockets; returns where everything listens."""
        self.engine.start()
        self._sel.register(self.engine.sel, selectors.EVENT_READ, "engine")
        for v in self.venues:
            if v.feed is not None:
                self._sel.register(v.feed.snap_sock, selectors.EVENT_READ, v)
        if self.control is not None:
            self.control.register(self._sel)
        return self.endpoints()

    def endpoints(self) -> dict:
        out: dict[str, Any] = {"run_id": self.run_id,
               "venues": {v.profile.name: {"port": v.profile.port, "comp_id": v.profile.comp_id,
                                           "clients": sorted(v.session_names)} for v in self.venues}}
        for v in self.venues:
            if v.feed is not None:
                out["venues"][v.profile.name]["feed"] = {"channel_id": v.feed.channel_id,
                                                         "snapshot_port": v.feed.snapshot_port}
        if self.control is not None:
            out["control_port"] = self.control.port
        return out

    def turn(self) -> None:
        self.engine.poll(0)
        end = time.monotonic_ns() + MARKET_BUDGET_NS
        while True:
            changed = self.market.poll(limit=MARKET_CHUNK)
            if not changed and self.market.played == self._played:
                break
            self._played = self.market.played
            if changed:
                self._moved(changed, self.venue_clock())
            if time.monotonic_ns() >= end:
                break
        now = self.venue_clock()
        for v in self.venues:
            v.on_timer(now)
            if v.feed is not None:
                v.feed.heartbeat(now)
        self._sleep()

    def _sleep(self) -> None:
        wait = MAX_WAIT_S
        if self.wait == "backoff" and time.monotonic() - self.engine.last_io < self.engine.spin_window_s:
            wait = 0.0
        mono = time.monotonic_ns()
        nxt = self.market.next_due_ns(mono)
        if nxt is not None:
            wait = min(wait, max(0.0, (nxt - mono) / 1e9))
        now = self.venue_clock()
        for v in self.venues:
            d = v.next_due_ns()
            if d is not None:
                wait = min(wait, max(0.0, (d - now) / 1e9))
        for key, _ in self._sel.select(wait):
            if isinstance(key.data, ControlServer):  # the one control server, self.control
                key.data.on_readable(cast(socket.socket, key.fileobj))  # registered as a socket
            elif isinstance(key.data, Venue):
                assert key.data.feed is not None  # only venues with a feed are registered
                key.data.feed.on_readable(self.venue_clock())

    def run(self, stop, duration_s: float | None = None) -> None:
        """Turns the loop until stop() is true or duration_s has passed."""
        end = None if duration_s is None else time.monotonic() + duration_s
        while not stop() and (end is None or time.monotonic() < end):
            self.turn()

    def close(self) -> None:
        started = any(k.data == "engine" for k in self._sel.get_map().values())
        if started:
            self._sel.unregister(self.engine.sel)
        try:
            if started:
                self.engine.stop(timeout_s=1.0)
            else:
                self.engine.close()
        except Exception:
            logger.exception("closing the FIX engine")
        for v in self.venues:
            if v.feed is not None:
                v.feed.close()
        if self.control is not None:
            self.control.close()
        self._sel.close()
