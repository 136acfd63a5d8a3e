"""The FIX 4.2 session state machine of one counterparty, independent of sockets and wall clock.

A Session is driven by four inputs from its transport: connected(link), data_received(bytes),
disconnected(reason) and on_timer() (plus on_drain() when the link's backlog empties), and
by the application's send(). Time comes from the injected clock (ns since the epoch), so a
test can play any scenario deterministically. Output goes to the link (write, close), the
durable store, the message log, and the Application callbacks. Incoming messages are checked
in the order the spec gives: framing (garbled frames are dropped), codec validation (Reject),
comp ids and SendingTime (Reject + Logout), PossDup/OrigSendingTime, then MsgSeqNum (gap ->
one ResendRequest, too low without PossDup -> Logout, PossDup duplicate -> ignored).

Delivery is at least once: an application message counts as received (the expected MsgSeqNum
moves past it in the store) only after Application.on_message has returned. A crash inside
the callback leaves it uncounted, so after the restart the counterparty resends it with
PossDupFlag=Y; the application journals before returning and de-duplicates (by ExecID for
ExecutionReports).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from . import admin, wire
from .application import Application, SessionNotLoggedOn, State, UnsupportedMessageType
from .checks import check_header, too_low_runbook
from .exchanges import SessionMessages
from .framing import Framer
from .gaps import InboundGaps
from .outbox import Outbox
from .resend import ResendAnswer
from .routing import reply_header, reply_header_of_frame

__all__ = ["Application", "Session", "SessionNotLoggedOn", "State", "UnsupportedMessageType"]

if TYPE_CHECKING:
    from .connection import Connection

_NS = 1_000_000_000
# bound once: on Python 3.11 an enum member's lookup (State.ACTIVE) goes through the enum
# metaclass's attribute hook, ~80 ns, and send() is on the order path
_ACTIVE = State.ACTIVE
_ADMIN_TYPES = admin.ADMIN_TYPES
MAX_UNFRAMED = 1 << 20        # bytes without a complete message before the link is dropped
logger = logging.getLogger("fxpipe.fix.session")


class Session(SessionMessages):
    def __init__(self, cfg, store, app: Application, clock: Callable[[], int], log=None):
        self.cfg = cfg
        self.store = store
        self.app = app
        self.clock = clock
        self.log = log
        self.state = State.DISCONNECTED
        self.link: Connection | None = None
        self.heartbeat_ns = cfg.heartbeat_s * _NS
        self.gaps = InboundGaps(cfg.max_queued)
        self.outbox = Outbox(cfg, store, clock, log)
        self.resends = ResendAnswer(store, cfg.resend_chunk, self.outbox, self.event)
        self._framer = Framer(lambda: self.link is not None)
        self._last_received = self._state_since = 0
        self._test_req_id: str | None = None
        self._reset_sent = False
        self._epoch = 0       # bumped by every store reset
        self.last_error = ""

    # --- transport inputs -------------------------------------------------------------------

    def connected(self, link) -> None:
        now = self.clock()
        self.link = self.outbox.link = link
        self._framer.clear()
        self.outbox.last_sent = self._last_received = now
        self._check_new_period(now)
        if self.cfg.is_initiator:
            self._reset_sent = self.cfg.reset_on_logon
            if self._reset_sent:
                self._reset_store(now, "reset_on_logon")
            self._enter(State.LOGON_SENT, now)
            self._send(admin.LOGON, admin.logon(self.cfg.heartbeat_s, self._reset_sent))
        else:
            self._enter(State.AWAIT_LOGON, now)

    def data_received(self, data: bytes) -> None:
        self._framer.feed(data, self._on_frame, self._on_garbled_bytes)
        if self._framer.pending > MAX_UNFRAMED:
            self._disconnect(f"{self._framer.pending} bytes without a complete FIX message")

    def disconnected(self, reason: str) -> None:
        """The transport lost the connection (peer closed, socket error)."""
        if self.link is not None:
            self._closed(self.clock(), reason)

    def on_timer(self) -> None:
        now = self.clock()
        st = self.state
        if st is State.ACTIVE:
            if not self.cfg.schedule.is_open(now):
                self.logout("end of the session window")
            elif now - self._last_received >= self.heartbeat_ns * 12 // 10 * (2 if self._test_req_id else 1):
                if self._test_req_id:
                    self._disconnect(f"no answer to TestRequest {self._test_req_id}")
                else:
                    self.send_test_request(f"TEST-{now}")
            elif now - self.outbox.last_sent >= self.heartbeat_ns:
                self._send(admin.HEARTBEAT, admin.heartbeat())
            self.resends.pump()
        elif st in (State.LOGON_SENT, State.AWAIT_LOGON):
            if now - self._state_since >= self.cfg.logon_timeout_s * _NS:
                self._disconnect("no Logon within logon_timeout_s")
        elif st is State.LOGOUT_SENT and now - self._state_since >= self.cfg.logout_timeout_s * _NS:
            self._disconnect("no Logout reply within logout_timeout_s")
        self.store.flush_due(now)
        if self.log:
            self.log.flush()

    def on_drain(self) -> None:
        self.resends.pump()

    # --- application API ----------------------------------------------------------------

    def send(self, msg_type: str, body, header=(), reply_to: wire.Message | None = None) -> int:
        """Send an application message; returns its MsgSeqNum. body: (tag, value) pairs, or the
        fields rendered already as bytes (fxpipe.fix.encoder.render, order_body). header: extra
        standard-header fields (PossDupFlag and OrigSendingTime for a venue's own possible
        duplicate, OnBehalfOfCompID, ...); reply_to: the message this answers, whose third-party
        routing the reply reverses (a BusinessMessageReject, say)."""
        if self.state is not _ACTIVE:
            raise SessionNotLoggedOn(
                f"{self.cfg.name}: cannot send {msg_type}: session is {self.state.value}, not logged on")
        if msg_type in _ADMIN_TYPES:
            raise ValueError(f"{msg_type} is a session-level message; the session sends those itself")
        if reply_to is not None:
            header = [*header, *reply_header(reply_to)]
        return self.outbox.send(msg_type, body, header)

    def logout(self, text: str = "", reply_to=None) -> None:
        if self.state in (State.ACTIVE, State.LOGON_SENT, State.AWAIT_LOGON):
            self._send(admin.LOGOUT, admin.logout(text), _routing(reply_to))
            self._enter(State.LOGOUT_SENT, self.clock())

    def send_test_request(self, test_req_id: str) -> None:
        self._test_req_id = test_req_id
        self._send(admin.TEST_REQUEST, admin.test_request(test_req_id))

    def sent_messages(self, first_seq: int) -> Iterator[tuple[int, wire.Message]]:
        """Application messages in the store numbered first_seq and up, as sent: after a
        restart, what went out after the last one the application knows was answered."""
        for seq, raw in self.store.stored(first_seq):
            try:
                msg = wire.parse(raw, validate=False)
            except wire.FixParseError:
                continue
            if wire.msg_type(msg) not in admin.ADMIN_TYPES:
                yield seq, msg

    def event(self, text: str, level: int = logging.INFO) -> None:
        """A line in the session's event log (WARNING and above also to the Python logger)."""
        if self.log:
            self.log.event(self.clock(), text, level)
        elif level >= logging.WARNING:
            logger.log(level, "%s: %s", self.cfg.name, text)

    def skip_sequence_numbers(self, n: int) -> int:
        """Fault injection: the next n outgoing numbers are never sent; the counterparty sees a
        gap and our store answers its ResendRequest with a gap fill. Returns the next number."""
        self.store.set_next_sender(self.store.next_sender + n)
        return self.store.next_sender

    def send_garbled(self, kind: str) -> bytes:
        """Fault injection: a Heartbeat the receiver must drop as garbled (kind: checksum,
        length or begin), written in order with everything else; uses no number."""
        return self.outbox.send_garbled(kind)

    def send_retransmission(self, seq: int, msg_type: str, body, orig_sending_ns: int) -> None:
        """Fault injection: an already-sent message again under its own number with PossDupFlag."""
        self.outbox.retransmit(seq, msg_type, body, wire.format_utc_timestamp(orig_sending_ns))

    @property
    def is_logged_on(self) -> bool:
        return self.state is State.ACTIVE

    @property
    def resending(self) -> bool:
        """A ResendRequest of the counterparty is still being answered."""
        return self.resends.job is not None

    def can_connect(self, now: int) -> bool:
        return self.cfg.schedule.is_open(now)

    # --- incoming ---------------------------------------------------------------------------

    def _on_garbled_bytes(self, skipped: int, exc) -> None:
        self.event(f"garbled bytes dropped ({skipped} bytes): {exc}", logging.WARNING)

    def _on_frame(self, frame: bytes) -> None:
        now = self.clock()
        if self.log:
            self.log.incoming(now, frame)
        self._last_received = now
        seq = None
        try:
            msg = wire.parse(frame, validate=self.cfg.validate)
        except wire.FixParseError as exc:
            msg = _reset_whatever_its_number(frame, exc)
            if msg is None:
                self._on_invalid(frame, exc)
                return
            seq = wire.find_seq_num(frame)
        self._test_req_id = None  # any message proves the link is alive
        self._dispatch(msg, now, seq)

    def _on_invalid(self, frame: bytes, exc) -> None:
        if exc.garbled:
            self.event(f"garbled message dropped: {exc}", logging.WARNING)
            return
        seq = exc.ref_seq_num or wire.find_seq_num(frame)
        routing = reply_header_of_frame(frame)
        if seq is None or self.state is not State.ACTIVE or exc.reason == wire.UNSUPPORTED_BEGIN_STRING:
            # Without a MsgSeqNum, before Logon, or in another FIX version: nothing to reject into.
            text = f"unrecoverable message: {exc.reject_text}"
            self._send(admin.LOGOUT, admin.logout(text[:200]), routing)
            self._disconnect(f"unrecoverable message: {exc}")
            return
        expected = self.store.next_target
        if seq < expected:
            return  # an old number: a duplicate whatever its defects
        self._reject(seq, exc.reason, exc.reject_text, exc.ref_tag, exc.ref_msg_type, routing, str(exc))
        if seq == expected:
            self._advance()
            self._drain_queue()  # a rejected message fills its place in a gap like any other
        else:
            self._request_gap(seq)

    def _dispatch(self, msg, now: int, seq_as_sent: int | None = None) -> None:
        mt = wire.msg_type(msg)
        if self.state in (State.AWAIT_LOGON, State.LOGON_SENT) and mt != admin.LOGON:
            self._disconnect(f"first message was {mt}, not Logon")
            return
        problem = check_header(msg, mt, self.cfg, now)
        if problem is not None:
            self._reject_and_count(msg, mt, problem.reason, problem.tag, problem.text)
            if problem.fatal:
                self._send(admin.LOGOUT, admin.logout(problem.text), reply_header(msg))
                self._disconnect(problem.text)
            return
        seq = msg.seq_num if seq_as_sent is None else seq_as_sent
        if mt == admin.SEQUENCE_RESET and msg.get(admin.GAP_FILL_FLAG) != b"Y":
            self._on_sequence_reset(msg, seq, reset_mode=True)  # MsgSeqNum ignored, whatever it is
            return
        if mt == admin.LOGON and self.state is not State.ACTIVE:
            self._logon_resets(msg, now)
        expected = self.store.next_target
        if seq < expected:
            self._too_low(msg, seq, expected)
        elif seq > expected:
            if mt == admin.LOGON:
                self._on_logon(msg, advance=False)
            elif mt == admin.LOGOUT:
                self._on_logout(msg, advance=False)
                return
            elif mt == admin.RESEND_REQUEST:
                self._on_resend_request(msg)
            if mt not in (admin.LOGON, admin.RESEND_REQUEST):
                self.gaps.hold(seq, msg)
            self._request_gap(seq)
        else:
            self._handle(msg, mt)
            self._drain_queue()

    def _handle(self, msg, mt: str) -> None:
        if mt not in admin.ADMIN_TYPES:
            self._deliver(msg)
        elif mt == admin.LOGON:
            self._on_logon(msg, advance=True)
        elif mt == admin.SEQUENCE_RESET:
            self._on_sequence_reset(msg, msg.seq_num, reset_mode=False)
        elif mt == admin.LOGOUT:
            self._on_logout(msg, advance=True)
        else:
            self._advance()
            if mt == admin.TEST_REQUEST:
                self._send(admin.HEARTBEAT, admin.heartbeat(msg.get(admin.TEST_REQ_ID)))
            elif mt == admin.RESEND_REQUEST:
                self._on_resend_request(msg)
            elif mt == admin.REJECT:
                self.event(f"Reject received for our seq {msg.get_str(admin.REF_SEQ_NUM)}: reason "
                           f"{msg.get_str(admin.SESSION_REJECT_REASON)} {msg.get_str(admin.TEXT) or ''}",
                           logging.WARNING)

    def _deliver(self, msg) -> None:
        """Hands an application message over; it counts as received once the callback returns."""
        epoch = self._epoch
        try:
            self.app.on_message(self, msg)
        except UnsupportedMessageType as exc:
            mt = wire.msg_type(msg)
            self._send(admin.BUSINESS_MESSAGE_REJECT, admin.business_reject(
                msg.seq_num, mt, admin.UNSUPPORTED_MESSAGE_TYPE, str(exc) or f"MsgType {mt} is not supported"),
                reply_header(msg))
        except Exception as exc:
            text = (f"application failed on MsgSeqNum {msg.seq_num} ({type(exc).__name__}: {exc}); "
                    f"not counted: the counterparty resends it after the reconnect")
            logger.exception("%s: %s", self.cfg.name, text)
            self.event(text, logging.ERROR)
            self._send(admin.LOGOUT, admin.logout("application error"))
            self._disconnect(text)
            return
        if epoch == self._epoch:  # not when the callback's own doing reset the store meanwhile
            self._advance()

    def _too_low(self, msg, seq: int, expected: int) -> None:
        if msg.get(admin.POSS_DUP_FLAG) == b"Y":
            return  # a duplicate of something already processed
        text = f"MsgSeqNum too low, expecting {expected} but received {seq}"
        self.event(too_low_runbook(text, self.cfg.store_path), logging.ERROR)
        self._send(admin.LOGOUT, admin.logout(text), reply_header(msg))
        self._disconnect(text)

    def _request_gap(self, seq: int) -> None:
        expected = self.store.next_target
        if self.gaps.should_request(expected):
            self.gaps.requested(seq)
            self.event(f"gap: expected {expected}, received {seq}; ResendRequest {expected}..0")
            self._send(admin.RESEND_REQUEST, admin.resend_request(expected, 0))

    def _drain_queue(self) -> None:
        while self.link is not None:
            msg = self.gaps.pop_ready(self.store.next_target)
            if msg is None:
                break
            self._handle(msg, wire.msg_type(msg))  # header checked on arrival
        self.gaps.progress(self.store.next_target)

    def _advance(self) -> None:
        self.store.incr_next_target()

    # --- outgoing -----------------------------------------------------------------------

    def _send(self, mt: str, body, header=()) -> int:
        return self.outbox.send(mt, body, header)

    def _reject(self, ref_seq: int, reason, text: str, ref_tag=None, ref_msg_type=None, routing=(),
                detail=None) -> None:
        self.event(f"Reject sent for seq {ref_seq}: {detail or text}", logging.WARNING)
        self._send(admin.REJECT, admin.reject(ref_seq, reason, text, ref_tag, ref_msg_type), routing)

    def _reject_and_count(self, msg, mt, reason, tag, text) -> None:
        self._reject(msg.seq_num, reason, text, tag, mt, reply_header(msg))
        if msg.seq_num == self.store.next_target:
            self._advance()
            self._drain_queue()

    # --- state ----------------------------------------------------------------------------

    def _enter(self, state: State, now: int) -> None:
        self.state = state
        self._state_since = now

    def _disconnect(self, reason: str, level: int = logging.WARNING) -> None:
        if self.link is not None:
            self.link.close()
            self._closed(self.clock(), reason, level)

    def _closed(self, now: int, reason: str, level: int = logging.WARNING) -> None:
        was = self.state
        self.link = None
        self.outbox.detach()
        self._enter(State.DISCONNECTED, now)
        self.resends.stop()
        self.gaps.clear()
        self._test_req_id = None
        self.last_error = reason
        self.event(f"disconnected: {reason}", logging.INFO if was is State.LOGOUT_SENT else level)
        if self.cfg.reset_on_disconnect:
            self._reset_store(now, "reset_on_disconnect")
        if was in (State.ACTIVE, State.LOGOUT_SENT):
            self.app.on_logout(self, reason)

    def _check_new_period(self, now: int) -> None:
        if self.store.creation_ns < self.cfg.schedule.period_start_ns(now):
            self._reset_store(now, "new session period of the schedule")

    def _reset_store(self, now: int, why: str) -> None:
        self.store.reset(now)
        self._epoch += 1
        self.event(f"sequence numbers reset to 1 ({why})")


def _reset_whatever_its_number(frame: bytes, exc):
    """SequenceReset-Reset ignores MsgSeqNum, whatever it is (0 included): a number the codec
    finds out of range does not stop it. Anything else: None."""
    if exc.ref_tag != admin.MSG_SEQ_NUM or exc.ref_msg_type != admin.SEQUENCE_RESET:
        return None
    try:
        msg = wire.parse(wire.renumbered(frame, 1), validate=False)
    except wire.FixParseError:
        return None
    return msg if msg.get(admin.GAP_FILL_FLAG) != b"Y" else None


def _routing(reply_to) -> list:
    return reply_header(reply_to) if reply_to is not None else []
