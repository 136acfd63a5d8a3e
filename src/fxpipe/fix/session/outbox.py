"""Everything a session sends goes through its Outbox: numbered, stored, written, logged.

send() gives a message the next MsgSeqNum, keeps it in the store's log (so a ResendRequest
finds it), writes it to the link and the message log, then indexes it in the store. While a
ResendRequest is being answered the outbox holds new messages back (hold / release), so the
counterparty sees numbers in order: the resent ones first, then what was sent meanwhile. It
remembers when it last began a write (the heartbeat timer reads it) and the number of the Logon it sent
on this connection (the resend answer treats that number apart).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from . import admin, faults, wire

if TYPE_CHECKING:
    from .connection import Connection


class Outbox:
    def __init__(self, cfg, store, clock: Callable[[], int], log=None):
        self.store = store
        self.clock = clock
        self.log = log
        self.link: Connection | None = None
        self.last_sent = 0
        self.logon_seq = 0  # MsgSeqNum of the Logon sent on this connection
        self._encoder = wire.Encoder(cfg.sender_comp_id, cfg.target_comp_id, begin_string=cfg.begin_string)
        self._held: list[bytes] | None = None  # a list while a resend is answered

    def encode(self, mt: str, seq: int, body, header=()) -> bytes:
        return self._encoder.encode(mt, seq, self.clock(), body, header)

    def send(self, mt: str, body, header=()) -> int:
        seq = self.store.next_sender
        raw = self.encode(mt, seq, body, header)
        at = self.store.log_sent(seq, raw)
        if mt == admin.LOGON:
            self.logon_seq = seq
        try:
            self.queue_or_write(raw)         # on the wire once it is in the store's log
        finally:
            self.store.index_sent(seq, at)   # the index after: nothing but the log before the send
        return seq

    def queue_or_write(self, raw: bytes) -> None:
        if self._held is not None:
            self._held.append(raw)
        else:
            self.write(raw)

    def write(self, raw: bytes) -> None:
        if self.link is None:
            return
        # stamped as the bytes are handed to the socket: on loopback the peer's kernel has them
        # before send() returns, so a stamp taken after would come later than their arrival
        self.last_sent = now = self.clock()
        self.link.write(raw)
        if self.log:
            self.log.outgoing(now, raw)

    def send_garbled(self, kind: str) -> bytes:
        """A Heartbeat broken as `kind` (faults.garble), in order with the rest; no number used."""
        raw = faults.garble(self.encode(admin.HEARTBEAT, self.store.next_sender, []), kind)
        self.queue_or_write(raw)
        return raw

    def retransmit(self, seq: int, mt: str, body, orig_sending: str) -> None:
        """`body` written again under its original number `seq` with PossDupFlag=Y and
        OrigSendingTime, as a resend answer would; not stored again (the number is the old one)."""
        header = [(admin.POSS_DUP_FLAG, "Y"), (admin.ORIG_SENDING_TIME, orig_sending)]
        self.queue_or_write(self.encode(mt, seq, body, header))

    def hold(self) -> None:
        if self._held is None:
            self._held = []

    def release(self) -> None:
        held, self._held = self._held or [], None
        for raw in held:
            self.write(raw)

    def detach(self) -> None:
        """The link is gone: nothing held goes out on the next one (it is in the store)."""
        self.link = None
        self._held = None
