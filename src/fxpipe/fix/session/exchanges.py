"""How a session answers the session-level messages that change its state: Logon (and the
resets it asks for), Logout, SequenceReset in both modes, ResendRequest.

SessionMessages is a part of Session (its base class), kept apart so the state machine's
dispatch and these exchanges each read on one screen; it uses the session's own store,
outbox, gaps and state.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fxpipe.fix.enums import SessionRejectReason

from . import admin
from .application import State
from .routing import reply_header

_NS = 1_000_000_000


class SessionMessages:
    if TYPE_CHECKING:  # provided by Session
        cfg: Any
        store: Any
        app: Any
        state: State
        heartbeat_ns: int
        gaps: Any
        resends: Any
        _reset_sent: bool
        clock: Any

        def _send(self, mt: str, body, header=()) -> int: ...
        def _advance(self) -> None: ...
        def _drain_queue(self) -> None: ...
        def _disconnect(self, reason: str, level: int = logging.WARNING) -> None: ...
        def _enter(self, state: State, now: int) -> None: ...
        def _reset_store(self, now: int, why: str) -> None: ...
        def _reject(self, ref_seq: int, reason, text: str, ref_tag=None, ref_msg_type=None, routing=(),
                    detail=None) -> None: ...
        def event(self, text: str, level: int = logging.INFO) -> None: ...

    def _logon_resets(self, msg, now: int) -> None:
        flag = msg.get(admin.RESET_SEQ_NUM_FLAG) == b"Y"
        if self.state is State.AWAIT_LOGON and (flag or self.cfg.reset_on_logon):
            self._reset_store(now, "counterparty ResetSeqNumFlag" if flag else "reset_on_logon")
        elif self.state is State.LOGON_SENT and flag and not self._reset_sent:
            # They reset and we did not: their numbers start again at 1, ours go on.
            self.store.set_next_target(1)
            self.event("counterparty reset its sequence numbers (ResetSeqNumFlag); next in = 1")

    def _on_logon(self, msg, advance: bool) -> None:
        now = self.clock()
        active = self.state is State.ACTIVE
        if active or not self.cfg.schedule.is_open(now):
            text = "Logon received on an active session" if active else "session window is closed"
            self._send(admin.LOGOUT, admin.logout(text), reply_header(msg))
            self._disconnect(text if active else "Logon outside the session window")
            return
        if msg.has(admin.ENCRYPT_METHOD) and msg.get_int(admin.ENCRYPT_METHOD) != 0:
            text = f"EncryptMethod {msg.get_str(admin.ENCRYPT_METHOD)} is not supported; use 0 (none)"
            self._send(admin.LOGOUT, admin.logout(text), reply_header(msg))
            self._disconnect(text)
            return
        hb = msg.get_int(admin.HEART_BT_INT) if msg.has(admin.HEART_BT_INT) else self.cfg.heartbeat_s
        if advance:
            self._advance()
        if self.state is State.AWAIT_LOGON:
            self.heartbeat_ns = max(1, hb) * _NS  # the acceptor adopts the initiator's interval
            # Only their reset is echoed: our own reset_on_logon asks nothing of them.
            self._send(admin.LOGON, admin.logon(hb, msg.get(admin.RESET_SEQ_NUM_FLAG) == b"Y"))
        self._enter(State.ACTIVE, now)
        self.event(f"logged on (next out {self.store.next_sender}, next in {self.store.next_target})")
        self.app.on_logon(self)

    def _on_logout(self, msg, advance: bool) -> None:
        if advance:
            self._advance()
        if self.state is State.LOGOUT_SENT:
            reason = "logout confirmed"
        else:
            reason = f"counterparty logged out: {msg.get_str(admin.TEXT) or ''}".rstrip(": ")
            self._send(admin.LOGOUT, admin.logout(), reply_header(msg))
        now = self.clock()
        self._disconnect(reason, logging.INFO)
        if self.cfg.reset_on_logout:
            self._reset_store(now, "reset_on_logout")

    def _on_sequence_reset(self, msg, seq: int, reset_mode: bool) -> None:
        new = msg.get_int(admin.NEW_SEQ_NO)
        expected = self.store.next_target
        if new > expected:
            self.store.set_next_target(new)
            self.gaps.drop_below(new)
            self._drain_queue()
        elif new < expected or not reset_mode:
            self._reject(seq, SessionRejectReason.VALUE_IS_INCORRECT,
                         f"attempt to lower sequence number, invalid value NewSeqNo={new}",
                         admin.NEW_SEQ_NO, admin.SEQUENCE_RESET, reply_header(msg))
            if not reset_mode:
                self._advance()
                self._drain_queue()
        else:
            self.event(f"SequenceReset to NewSeqNo={new}, the number already expected: nothing to change",
                       logging.WARNING)

    def _on_resend_request(self, msg) -> None:
        begin = max(1, msg.get_int(admin.BEGIN_SEQ_NO))  # 0 or below: numbers start at 1
        end = msg.get_int(admin.END_SEQ_NO)
        last = self.store.next_sender - 1
        if end == 0 or end > last:
            end = last
        self.event(f"ResendRequest {begin}..{msg.get_str(admin.END_SEQ_NO)}: resending {begin}..{end}")
        if begin <= end:
            self.resends.start(begin, end)
