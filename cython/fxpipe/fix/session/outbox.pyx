# cython: language_level=3
"""Everything a session sends goes through its Outbox: numbered, stored, written, logged.

send() gives a message the next MsgSeqNum, keeps it in the store's log (so a ResendRequest
finds it), writes it to the link and the message log, then indexes it in the store. While a
ResendRequest is being answered the outbox holds new messages back (hold / release), so the
counterparty sees numbers in order: the resent ones first, then what was sent meanwhile. It
remembers when it last began a write (the heartbeat timer reads it) and the number of the Logon it sent
on this connection (the resend answer treats that number apart).

In C because every order goes through send(): its steps (encode, hold or write, the stamp)
call each other here without a Python call each; the store, the link and the message log are
the session's Python objects as before.
"""
cimport cython
from libc.stdint cimport int64_t

from fxpipe.fix.session.linkwriter cimport LinkWriter
from fxpipe.fix.storelog cimport StoreLog
from fxpipe.includes.overrides cimport OverrideCheck, keeps_method
from fxpipe.includes.wallclock cimport read_clock

import time

from fxpipe.fix.session import admin, faults

_LOGON = admin.LOGON
_HEARTBEAT = admin.HEARTBEAT
cdef object _WALL = time.time_ns
# the C methods, as a subclass that does not override them has them (fxpipe.includes.overrides)
cdef object _LOG_SENT = getattr(StoreLog, "log_sent")
cdef object _WRITE = getattr(LinkWriter, "write")
cdef OverrideCheck _log_sent_check, _write_check


@cython.final
cdef class Outbox:
    # attributes: outbox.pxd
    def __init__(self, cfg, store, clock, log=None):
        self.store = store
        self.clock = clock
        self.log = log
        self.link = None
        self.last_sent = 0
        self.logon_seq = 0
        self._encoder = Encoder(cfg.sender_comp_id, cfg.target_comp_id, begin_string=cfg.begin_string)
        self._held = None

    cpdef bytes encode(self, mt, int64_t seq, body, header=()):
        return self._encoder.encode_c(mt, seq, read_clock(self.clock, _WALL), body, header)

    cpdef int64_t send(self, mt, body, header=()) except? -1:
        cdef int64_t seq, at
        cdef bytes raw
        cdef bint fast
        store = self.store
        # the session's FileStore (log_sent not overridden): its number and its log in C
        fast = isinstance(store, StoreLog) and keeps_method(&_log_sent_check, store, "log_sent", _LOG_SENT)
        seq = (<StoreLog>store).next_sender if fast else store.next_sender
        raw = self.encode(mt, seq, body, header)
        at = (<StoreLog>store).log_sent_c(seq, raw) if fast else store.log_sent(seq, raw)
        if mt == _LOGON:
            self.logon_seq = seq
        try:
            self.queue_or_write(raw)         # on the wire once it is in the store's log
        finally:
            self.store.index_sent(seq, at)   # the index after: nothing but the log before the send
        return seq

    cpdef queue_or_write(self, bytes raw):
        if self._held is not None:
            self._held.append(raw)
        else:
            self.write(raw)

    cpdef write(self, bytes raw):
        cdef int64_t now
        if self.link is None:
            return
        # stamped as the bytes are handed to the socket: on loopback the peer's kernel has them
        # before send() returns, so a stamp taken after would come later than their arrival
        now = read_clock(self.clock, _WALL)
        self.last_sent = now
        link = self.link
        if isinstance(link, LinkWriter) and keeps_method(&_write_check, link, "write", _WRITE):
            # the session's Connection (write not overridden): its write in C
            (<LinkWriter>link).write_c(raw)
        else:
            link.write(raw)
        if self.log:
            self.log.outgoing(now, raw)

    def send_garbled(self, str kind) -> bytes:
        """A Heartbeat broken as `kind` (faults.garble), in order with the rest; no number used."""
        raw = faults.garble(self.encode(_HEARTBEAT, self.store.next_sender, []), kind)
        self.queue_or_write(raw)
        return raw

    def retransmit(self, int64_t seq, mt, body, orig_sending) -> None:
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
