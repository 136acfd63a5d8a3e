"""The trading worker: whatever trading stages a layout puts in one process (feed, decision,
oms, alone or fused), with their I/O, between the rings.

    feed sources ──Quote──► md ring ──► decision ──OrderIntent──► intent ring ──► oms ──► exec ring
        (sockets)              │                                                 ▲  │ (FIX order sessions)
                               └──────── marks ──────────────────────────────────┘  └─► decision

Stages in the same process call each other directly, in flow order, and run every event to
completion before the next one (the `fused` layout); a stage whose neighbour lives in another
process reads that neighbour's ring instead. Either way every event goes on its ring, so the
journal and operations see all of it. Events made while handling one event are handled in the
order they were made (a work queue, never recursion), so a fill that makes a strategy trade is
seen by the oms after the fill's own position update, as in every other layout.

Recovery of a restarted worker:
- feed: stateless; a gap the restart caused is a gap on the feed (the venue's snapshot heals it);
- oms: the order gateway replays its write-ahead journal and reconciles every open order with
  its venue (OrderStatusRequest) before that venue takes new orders; intents of the batch that
  was being handled when the process died come again from the intent ring and are recognised
  by their ClOrdID (the oms had journaled them), so none is sent twice;
- decision: strategies start again from the journal (the system of record): each strategy's
  next ClOrdID after the highest it ever used, its positions from the last PositionUpdates, and
  a cancel for every order it had open (a strategy's own memory of them is gone with the
  process: it quotes again from a clean book rather than leave orders it no longer tracks).
"""
from __future__ import annotations

import logging
import os
import select
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import fxpipe.model.events as ev
from fxpipe.oms.gateway import OrderGateway
from fxpipe.oms.stage import OmsStage
from fxpipe.ring import Ring, RingClosed, RingTimeout
from fxpipe.runtime.desk import DeskSpec
from fxpipe.runtime.idle import spin_wait_fd
from fxpipe.runtime.layout import ProcessSpec
from fxpipe.runtime.processor import hot_path, typed_events
from fxpipe.runtime.sendwarm import SendPathWarmer
from fxpipe.runtime.tradercore import MAX_CASCADE, CascadeError, TraderCore  # noqa: F401  (re-export)
from fxpipe.stage import timer_event
from fxpipe.stages.decision import DecisionStage

log = logging.getLogger("fxpipe.runtime.trading")
_T = ev.EventType
# a spinning worker idles in C (spin_wait_fd) at most this long before its loop runs again: the
# bound on how late a timer (heartbeat, request deadline, strategy timer) can be, not a latency
SPIN_BOUND_NS = 1_000_000
# a spinning worker reads a socket only when its epoll set says it is readable (an empty read of
# each input costs 3-4 us of system calls and Python, every turn of the loop); every input is
# still served at least this often, for what runs on time alone: the order sessions' heartbeats
# and reconnects, request deadlines, a feed's snapshot that did not come
SERVICE_NS = 200_000
ORDER_SESSION_READ_BYTES = 16 << 10
TIMEOUTS_PER_TURN = 64          # request timeouts handled per turn of the loop (the rest: next turns)
# an orderly stop waits at most this long for the venues to answer the requests in flight
SETTLE_S = 2.0


class _Gateway(OrderGateway):
    """The order gateway with what the runtime adds: every request that goes out and every
    order-session state change is also an output (for the journal and operations), stamped."""

    def __init__(self, *args, emit: Callable[[Any], None], **kw):
        self._emit = emit
        # each request, stamped with ts_send_ns when its bytes were handed to the socket (after
        # the adapter, the encoder and the session's store; one not written now: when it was not)
        self.on_sent = emit
        super().__init__(*args, **kw)
        # the stage's C path makes its outputs as bytes: they go on the journal, the exec ring and
        # to the decision stage as such, with no record made and turned back into bytes
        self.stage.bytes_out = True
        # a backlog of reports is taken ~60 at a time (~3 ms), not 64 KB (~250, ~12 ms) at once:
        # the feed is read between the steps
        self.engine.read_bytes = ORDER_SESSION_READ_BYTES

    def _session_change(self, event: Any) -> list[Any]:
        out = super()._session_change(event)
        self._emit(event)
        return out

    def control(self, event: Any) -> list[Any]:
        out = super().control(event)
        raw = isinstance(event, bytes | bytearray)
        if (event[0] | event[1] << 8 if raw else int(event["type"])) == _T.SESSION:
            self._emit(ev.read(bytes(event)) if raw else event)    # an operator's or a test's
        return out

    def poll_once(self, timeout: float = 0.0) -> None:
        self.engine.poll(timeout)
        # a bounded number a turn: a venue that stopped answering times out thousands of
        # requests at once, and handling them all in one turn held the feed unread for tens of ms
        for timer in self.stage.due_timers(self.clock(), TIMEOUTS_PER_TURN):
            self._feed(timer)


class TradingWorker(TraderCore):
    def __init__(self, desk: DeskSpec, spec: ProcessSpec, names: dict[str, str], readers: dict[str, str],
                 stop: Callable[[], bool], *, clock: Callable[[], int] = time.time_ns):
        """readers: ring -> the consumer name this process reads it under (absent: not read)."""
        self.desk, self.spec, self.stop, self.clock = desk, spec, stop, clock
        stages = set(spec.stages)
        self.spin = spec.wait == "spin"
        producers: dict[str, Any] = {}
        for ring, stage in (("md", "feed"), ("intent", "decision"), ("exec", "oms")):
            if stage in stages:
                producers[ring] = Ring.attach(names[ring]).producer(
                    wait="spin" if self.spin else "yield", auto_detach=False)
        self.bind_producers(producers)
        self.consumers = {ring: Ring.attach(names[ring]).consumer(name, wait=spec.wait)
                          for ring, name in readers.items()}
        self.work: deque = deque()
        self._in_doubt = False
        self._stopping = False
        # the oms's marks: the latest top of book per venue and instrument, handed over before
        # each intent, on each timer and when idle (at most every desk.oms_idle_marks_ms): its
        # risk and PnL need the latest mark, not every tick
        self._marks: dict[int, dict[int, Any]] = {}        # instrument -> venue -> the Quote's bytes
        self._idle_marks_s = desk.oms_idle_marks_ms / 1000
        self.sources: list[Any] = []
        self.decision: DecisionStage | None = None
        self.gateway: _Gateway | None = None
        self.period_ns = desk.timer_period_ms * 1_000_000
        self.next_timer_ns = 0
        if "decision" in stages:
            self.decision = DecisionStage(desk.strategies)
            self.decision.bytes_out = True      # intents as bytes: they go on the ring and to the oms as such
            self._decide_quote = self.decision.quote_path
            self._recover_decision(names)
        if "oms" in stages:
            oms = OmsStage(**desk.oms_stage_config())
            self.gateway = _Gateway(oms, desk.venues, desk.oms_dir, desk.oms_state_dir,
                                    fsync=desk.oms_fsync, session_fsync=desk.session_fsync,
                                    reset_on_logon=desk.reset_on_logon, clock=clock,
                                    on_output=self._from_oms, emit=self._from_oms)
            self._in_doubt = bool(self.gateway.recovered)
            # the write-ahead journal is made durable every oms_sync_ms by the journal process
            # (journal_body): a thread here would take the GIL and this core from the order path
        if "feed" in stages:
            self.sources = make_sources(desk, clock)
        # the binary feeds' sockets the idle wait reads itself (the rest it asks the epoll set)
        self._idle_feeds = [src.idle_feed() for src in self.sources if hasattr(src, "idle_feed")]
        self._source_fds = [(src, tuple(src.fds())) for src in self.sources]
        self._source_of_fd = {fd: src for src, fds in self._source_fds for fd in fds}
        self._gateway_fd = self.gateway.engine.sel.fileno() if self.gateway is not None else -1
        self._next_service_ns = 0
        self._woken_by: int | None = None      # the socket that ended the last idle wait
        self._epoll = self._watch_sockets() if self.spin else None
        # the idle wait keeps the order path's pure steps warm (OrderGateway.warm)
        self._warm = self.gateway.warm if self.gateway is not None and spec.warm_order_path_us > 0 else None
        self._warm_every_ns = spec.warm_order_path_us * 1000
        # and the kernel's TCP send path, through a private loopback connection
        self._send_warmer = SendPathWarmer(spec.warm_send_path_us * 1000) \
            if self._epoll is not None and self.gateway is not None and spec.warm_send_path_us > 0 else None
        self._send_warmer_reported = False

    # ------------------------------------------------------------------ the loop

    def run(self) -> None:
        import gc

        next_gc = next_marks = 0.0
        try:
            with hot_path():
                while not self.stop():
                    if self.run_once():
                        continue
                    # the collector is off on the hot path; cyclic garbage is collected in a
                    # quiet moment, at most once a second, so a long session does not grow
                    now = time.monotonic()
                    if now >= next_gc:
                        gc.collect(1)
                        next_gc = now + 1.0
                        self._report_send_warmer()
                    if self.gateway is not None:
                        self.gateway.prefault()     # idle: the order path's next pages, off it
                        if self._marks and self._idle_marks_s and now >= next_marks:
                            # idle: the marks the oms has not had yet, off the order path (an
                            # intent then hands over only its own quote's mark, on a warm path)
                            self._flush_marks()
                            self._drain()
                            next_marks = now + self._idle_marks_s
                    if not self.spin:
                        self._idle()
                    elif self._epoll is not None:
                        fd = spin_wait_fd(self._epoll.fileno(), list(self.consumers.values()), SPIN_BOUND_NS,
                                          self._idle_feeds, self._warm, self._warm_every_ns, self._send_warmer)
                        src = self._source_of_fd.get(fd)
                        if src is not None:
                            # a feed's socket: read before anything else of the loop runs (the
                            # quote's receive stamp is the first thing after the wait)
                            for e in src.poll(0.0, (fd,)):
                                self._handle(e, "feed")
                        else:
                            self._woken_by = fd if fd >= 0 else None
        except RingClosed:
            pass
        finally:
            self.close()

    def _report_send_warmer(self) -> None:
        """Says once, when it happens, that the send path's warming stopped (a send failed)."""
        w = self._send_warmer
        if w is not None and w.error and not self._send_warmer_reported:
            self._send_warmer_reported = True
            log.warning("the send path's warming stopped after %d sends: %s; orders go on, their "
                        "send(2) no longer kept warm", w.warms, os.strerror(w.error))

    def run_once(self) -> int:
        ready = self._ready()
        moved = 0
        for src, fds in self._source_fds:
            if ready is not None and not any(fd in ready for fd in fds):
                continue
            for e in src.poll(0.0, ready):
                self._handle(e, "feed")
                moved += 1
        moved += self._read_rings(self.consumers)
        if self.gateway is not None and (ready is None or self._gateway_fd in ready):
            self.gateway.poll_once(0.0)
            moved += self._drain()
        self._timers()
        return moved

    def _ready(self) -> set[int] | None:
        """The fds of this process's sockets that are readable now, from one epoll call; None:
        every input is to be served (no epoll set: a worker that does not spin; or the service
        period is up)."""
        if self._epoll is None:
            return None
        woken_by, self._woken_by = self._woken_by, None
        now = time.monotonic_ns()
        if now >= self._next_service_ns:
            self._next_service_ns = now + SERVICE_NS
            return None
        if woken_by is not None:
            # the idle wait saw it readable a moment ago: no second epoll call before the
            # quote's receive stamp (another socket ready as well is read on the next turn)
            return {woken_by}
        return {fd for fd, _ in self._epoll.poll(0)}

    def _read_rings(self, rings) -> int:
        """One batch from each of `rings` (names this process reads), each event handled."""
        moved = 0
        for ring in list(rings):
            c = self.consumers.get(ring)
            if c is None:
                continue
            try:
                batch = c.poll_batch(256)
            except RingClosed:
                # its producer is gone (an orderly shutdown): the other inputs go on
                del self.consumers[ring]
                if not self.consumers and not self.sources and self.gateway is None:
                    raise
                continue
            if batch is None:
                continue
            for _, e in typed_events(batch):
                self._handle(e, ring)
                moved += 1
            c.release()
            if ring == "intent":
                self._in_doubt = False
        return moved

    def _watch_sockets(self) -> select.epoll:
        """One epoll set over every socket this process reads (each source's, and the order
        sessions' own epoll set), for spin_wait_fd: a spinning worker then idles in C, not in this
        loop."""
        fds = [fd for _, src_fds in self._source_fds for fd in src_fds]
        if self.gateway is not None:
            fds.append(self._gateway_fd)
        ep = select.epoll()
        for fd in fds:
            ep.register(fd, select.EPOLLIN)
        return ep

    def _idle(self) -> None:
        """Nothing moved: wait a little on whatever can wake us (never long: rings and sockets)."""
        if self.gateway is not None:
            self.gateway.poll_once(0.0005)
            self._drain()
        elif self.sources:
            for src in self.sources:
                for e in src.poll(0.0005):
                    self._handle(e, "feed")
        elif self.consumers:
            c = next(iter(self.consumers.values()))
            try:
                c.wait(0.001)
            except (RingTimeout, RingClosed):
                pass

    # ------------------------------------------------------------------ the flow

    # _handle(event, source), _drain(), _decided(outs), _flush_marks(), _from_oms(event) and
    # _publish(ring, raw): TraderCore's, in C (fxpipe.runtime.tradercore)

    def _timers(self) -> None:
        if not self.period_ns:
            return
        now = self.clock()
        if now < self.next_timer_ns:
            return
        if self.next_timer_ns:
            self._flush_marks()
            if self.gateway is not None:
                # the oms's own timer: its PnL snapshot and the marks' PositionUpdates
                self.gateway.control(timer_event(now))
            self._drain()
            if self.decision is not None:
                # the timer is an input like any other: on the intent ring, so the journal has it
                timer = timer_event(now)
                self._publish("intent", timer.tobytes())
                self._decided(self.decision.on_event(timer))
                self._drain()
        self.next_timer_ns = (now // self.period_ns + 1) * self.period_ns

    # ------------------------------------------------------------------ recovery

    def _recover_decision(self, names: dict[str, str]) -> None:
        from fxpipe.runtime.recovery import recover_decision

        assert self.decision is not None
        cancels = recover_decision(self.decision, self.desk.journal_dir, names)
        self._decided(cancels)

    # ------------------------------------------------------------------ end

    def close(self) -> None:
        for src in self.sources:
            try:
                src.close()
            except Exception:        # noqa: BLE001 - closing what is left
                log.exception("closing a feed source")
        if self._epoll is not None:
            self._epoll.close()
            self._epoll = None
        if self._send_warmer is not None:
            self._report_send_warmer()
            self._send_warmer.close()
            self._send_warmer = None
        if self.gateway is not None:
            try:
                self._take_what_was_decided(SETTLE_S)
                self._settle(SETTLE_S)
            except Exception:        # noqa: BLE001 - stopping: what is unanswered is reconciled at the next start
                log.exception("waiting for the answers to the requests in flight")
            self.gateway.close()
            self.gateway = None
            if self.desk.oms_sync_ms > 0:
                from fxpipe.journal.background import BackgroundSync

                BackgroundSync(self.desk.oms_dir).sync_once(full=True)     # what the journal process has not

    def _take_what_was_decided(self, timeout_s: float) -> None:
        """An orderly stop: the intents and operators' commands already on this process's rings
        (the decision stopped before the oms, in flow order) are handled as ever, so what was
        decided and journaled is also sent; at most timeout_s."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self._read_rings(("intent", "control")):
            pass

    def _settle(self, timeout_s: float) -> None:
        """An orderly stop with requests still in flight at a venue (an IOC sent the moment
        before): their answers are taken for up to timeout_s, so the journal's orders and
        positions are the venue's when the desk is down, not at its next start. Only the order
        sessions are served: the feed is closed and no strategy is called, so nothing new is
        sent; what the venue says is journaled and goes on the exec ring as ever."""
        gw = self.gateway
        if gw is None:
            return
        self._stopping = True
        self._drain()
        deadline = time.monotonic() + timeout_s
        while gw.stage.requests_in_flight() and time.monotonic() < deadline:
            gw.poll_once(0.005)
            self._drain()
        left = gw.stage.requests_in_flight()
        if left:
            log.warning("stopped with %d request(s) unanswered after %.1f s: the next start reconciles "
                        "them with the venue", left, timeout_s)


def make_sources(desk: DeskSpec, clock: Callable[[], int]) -> list[Any]:
    from fxpipe.stages.feed import BinaryFeedSource

    sources: list[Any] = [BinaryFeedSource(f.channel_id, f.venue_id, f.listen_port,
                                           (f.snapshot_host, f.snapshot_port), clock=clock, raw=True)
                          for f in desk.binary_feeds]
    if desk.fix_feeds:
        from fxpipe.model.refdata import parse_refdata
        from fxpipe.stages.fix_feed import FixFeedSource, MarketDataLink

        links = [MarketDataLink(f.venue_id, f.port, f.target_comp_id, instruments=f.symbols,
                                sender_comp_id=f.sender_comp_id, host=f.host) for f in desk.fix_feeds]
        sources.append(FixFeedSource(links, desk.run_dir / "md-state", refdata=parse_refdata(desk.refdata_text),
                                     clock=clock))
    return sources
