"""The order gateway: the oms stage's I/O. It owns one FIX 4.2 order session per venue
(initiator, on fxpipe's session engine), journals every input before the stage sees it and
every output the stage makes, sends the stage's requests through the venue's adapter, and
feeds the venue's reports back. It is the only place wall time enters: as the receive stamp
of an event, journaled with it, so replaying the journal gives the same states bit for bit.

The order of things is what makes a crash harmless:
- an intent is journaled, then the stage picks its ClOrdID, then the request is journaled
  (as the stage's output) and only then sent: a ClOrdID is never handed out twice;
- a report is journaled and applied before `on_message` returns, so the session counts it
  only then; one that arrives again is a duplicate by (venue, ExecID) in the book;
- on start the journal is replayed into a fresh stage, every venue is marked down (orders
  in flight become UNKNOWN), and after each logon an OrderStatusRequest goes out for every
  open or UNKNOWN order of that venue; the book refuses new orders there until every answer
  is in. Differences the answers show are applied as the venue says, with alarms.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fxpipe.fix.session.application import Application, SessionNotLoggedOn
from fxpipe.fix.session.config import SessionConfig
from fxpipe.fix.session.transport import Engine
from fxpipe.journal import Journal, JournalReader
from fxpipe.journal import layout as L
from fxpipe.model import events as ev
from fxpipe.oms.gatewaycore import GatewayCore
from fxpipe.oms.stage import OmsStage
from fxpipe.oms.venues.adapters import VenueAdapter, adapter_for
from fxpipe.oms.writeahead import WriteAhead

log = logging.getLogger("fxpipe.oms.gateway")
_T = ev.EventType


@dataclass
class VenueLink:
    """One order session: the venue's id in refdata, where it listens, the comp ids, and the
    adapter kind (`ecn` or `lp`)."""

    venue_id: int
    port: int
    target_comp_id: str
    sender_comp_id: str = "FXPIPE"
    kind: str = "ecn"
    host: str = "127.0.0.1"
    heartbeat_s: int = 30
    account: str = ""
    adapter: VenueAdapter = field(init=False)

    def __post_init__(self) -> None:
        self.adapter = adapter_for(self.kind, self.account)


def journaled_inputs(directory: Path, stage_id: int) -> tuple[list[Any], bool]:
    """(the input events of stage_id in journal order, whether its stage-start is there)."""
    if not directory.exists() or not any(directory.iterdir()):
        return [], False
    reader = JournalReader(directory)
    started = False
    inputs = []
    try:
        for rec in reader:
            if rec.stage != stage_id:
                continue
            if rec.type == L.RT_STAGE_START:
                started = True
            elif rec.flags & L.FLAG_INPUT:
                inputs.append(ev.read(bytearray(rec.payload)))
    finally:
        reader.close()
    return inputs, started


class OrderGateway(GatewayCore, Application):
    """Drive it from one thread: `submit(intent)`, `control(event)`, `poll(seconds)`.
    `on_output(event)` gets every event for the exec ring (updates, fills, positions, PnL,
    risk events) in the order the stage made them; `on_sent(request)`, when set, every request
    as it went out, stamped with ts_send_ns. The hot path (_feed, _send) is
    fxpipe.oms.gatewaycore's, in C."""

    def __init__(self, stage: OmsStage, venues: Sequence[VenueLink], journal_dir: Path,
                 state_dir: Path, *, stage_id: int = 1, fsync: str = "never",
                 clock: Callable[[], int] = time.time_ns,
                 on_output: Callable[[Any], None] | None = None,
                 reconnect_min_s: float = 0.2, reconnect_max_s: float = 2.0,
                 reset_on_logon: bool = False, session_fsync: str = "never"):
        self.stage = stage
        self.clock = clock
        self.on_output = on_output
        self.stage_id = stage_id
        self.links = {v.venue_id: v for v in venues}
        self.refdata = stage.numbers.refdata
        self._closed = False
        self.sent = 0                      # requests written to a session (status requests too)
        journal_dir = Path(journal_dir)
        inputs, started = journaled_inputs(journal_dir, stage_id)
        self.recovered = len(inputs)
        # the outputs went out before the crash, or are in doubt (the status requests settle
        # them); a report left waiting for its Fill stays waiting, exactly as replay will have it
        for e in inputs:
            stage.on_event(e)
        last_seq = max((int(e["sequence"]) for e in inputs), default=0)
        # the journal's default segments (64 MiB): a roll-over happens on the order path (the next
        # segment's header fsynced and named, the index replaced) and costs milliseconds there;
        # 4 MiB ones rolled about once a second under a burst
        self.journal = Journal.open(journal_dir, fsync=fsync)
        # every input from here on: numbered after the recovered ones, journaled, then applied
        self._write_ahead = WriteAhead(self.journal.appender, stage.python_path, clock, last_seq, stage_id,
                                       first=stage.c_path)
        if not started:
            self.journal.append_stage_start(stage_id, stage.name, stage.config(), clock())
        self.engine = Engine()
        self.sessions: dict[int, Any] = {}
        self._venue_of: dict[int, int] = {}
        for v in venues:
            cfg = SessionConfig.initiator(v.sender_comp_id, v.target_comp_id, v.host, v.port, state_dir,
                                          heartbeat_s=v.heartbeat_s, fsync=session_fsync,
                                          reset_on_logon=reset_on_logon, reconnect_min_s=reconnect_min_s,
                                          reconnect_max_s=reconnect_max_s)
            s = self.engine.add_session(cfg, self)
            self.sessions[v.venue_id] = s
            self._venue_of[id(s)] = v.venue_id
            # until the venue answers, nothing in flight there is known
            self._session_change(ev.make(_T.SESSION, venue_id=v.venue_id, session_kind=ev.SessionKind.ORDERS,
                                         state=ev.SessionState.DISCONNECTED,
                                         prev_state=ev.SessionState.ACTIVE,
                                         reason=ev.SessionReason.DISCONNECTED))
        self.engine.start()

    # ------------------------------------------------------------------ the strategy side

    def control(self, event: Any) -> list[Any]:
        return self._feed(event)

    def poll(self, seconds: float = 0.0) -> None:
        """Run the sessions for `seconds` (at least one pass) and fire due request timers."""
        end = time.monotonic() + seconds
        while True:
            self.engine.poll(0.002)
            for timer in self.stage.due_timers(self.clock()):
                self._feed(timer)
            if time.monotonic() >= end:
                return

    def prefault(self) -> None:
        """For an idle moment: the write-ahead journal's and the sessions' stores' next pages
        readied, so the order path's appends take no page fault (fxpipe.prefault)."""
        self.journal.prefault()
        for s in self.sessions.values():
            s.store.prefault()

    def logged_on(self, venue_id: int) -> bool:
        return bool(self.sessions[venue_id].is_logged_on)

    def close(self) -> None:
        """Stop the sessions and end the journal with the stage's state hash (replay checks it)."""
        if self._closed:
            return
        self._closed = True
        self.journal.append_state_hash(self.stage_id, self.stage.state_hash(), self.clock())
        try:
            self.engine.stop(timeout_s=1.0)
        except Exception:
            self.engine.close()
        self.journal.close()

    # ------------------------------------------------------------------ the venue side

    def on_logon(self, session: Any) -> None:
        venue = self._venue_of[id(session)]
        self._session_change(ev.make(_T.SESSION, venue_id=venue, session_kind=ev.SessionKind.ORDERS,
                                     state=ev.SessionState.ACTIVE, prev_state=ev.SessionState.LOGON_SENT,
                                     reason=ev.SessionReason.LOGON))
        for view in self.stage.book.open_orders(venue):
            self._status_request(venue, view)

    def on_logout(self, session: Any, reason: str) -> None:
        venue = self._venue_of[id(session)]
        self._session_change(ev.make(_T.SESSION, venue_id=venue, session_kind=ev.SessionKind.ORDERS,
                                     state=ev.SessionState.DISCONNECTED, prev_state=ev.SessionState.ACTIVE,
                                     reason=ev.SessionReason.DISCONNECTED))

    def on_message(self, session: Any, msg: Any) -> None:
        mt = msg.msg_type
        if mt not in ("8", "9"):
            return                         # BusinessMessageReject and the like: logged by the session
        venue = self._venue_of[id(session)]
        # a session that validates what it takes has checked the message against the dictionary
        update, fill = self.links[venue].adapter.report(mt, msg.raw, venue, self.clock(),
                                                        validate=not session.cfg.validate)
        self._feed(update)
        if fill is not None:
            self._feed(fill)
        # journaled and applied: the session may count the message now

    # ------------------------------------------------------------------ plumbing

    def _session_change(self, event: Any) -> list[Any]:
        """An order session's state change (a SessionEvent made here) fed like any input."""
        return self._feed(event)

    # _feed(event) and _send(request): fxpipe.oms.gatewaycore, in C. submit(intent) and
    # quote(mark) are _feed itself: an OrderIntent from a strategy; a mark (a venue's top of
    # book) for positions and risk; each returns what the stage made of it
    submit = quote = GatewayCore._feed

    def _status_request(self, venue: int, view: Any) -> None:
        s = self.sessions.get(venue)
        if s is None or not s.is_logged_on:
            return                         # asked after the logon
        try:
            s.send("H", self.links[venue].adapter.status_request(self.refdata, view))
            self.sent += 1
        except SessionNotLoggedOn:
            pass
