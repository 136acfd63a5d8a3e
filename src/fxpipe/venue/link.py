"""What the venue does to a FIX session below the application layer, for its faults: send a
PossDup copy, skip sequence numbers, write garbled bytes, drop the TCP connection, stop reading
the socket, refuse or delay a Logon.

Everything goes through fxpipe's FIX engine: the codec's Encoder builds the messages, the
session's store numbers and keeps them (so a ResendRequest is answered correctly), its link
writes them and its message log records them. The two faults the engine has no public handle
for, reading pauses and Logon refusal, live in VenueEngine, a small subclass of the engine's
event loop, kept to the three hooks it overrides.
"""
from __future__ import annotations

import selectors
import time

from fxpipe.fix.codec import Encoder, FixParseError, format_utc_timestamp, frame_length, parse
from fxpipe.fix.session.session import Session
from fxpipe.fix.session.transport import Connection, Engine

LOGOUT = "5"


def _encoder(session: Session) -> Encoder:
    cfg = session.cfg
    return Encoder(cfg.sender_comp_id, cfg.target_comp_id, begin_string=cfg.begin_string)


def _emit(session: Session, raw: bytes) -> None:
    session.link.write(raw)
    if session.log:
        session.log.outgoing(session.clock(), raw)


def send_possdup(session: Session, msg_type: str, body: list, orig_sending_ns: int) -> int:
    """An application message with PossDupFlag=Y and OrigSendingTime under a new MsgSeqNum, as
    a venue re-sending a report it is not sure arrived (the receiver must apply it at most once)."""
    seq = session.store.next_sender
    header = [(43, "Y"), (122, format_utc_timestamp(orig_sending_ns))]
    raw = _encoder(session).encode(msg_type, seq, session.clock(), body, header)
    session.store.save_sent(seq, raw)
    _emit(session, raw)
    return seq


def skip_seq(session: Session, n: int) -> int:
    """Skips n outgoing sequence numbers: the counterparty sees a gap and asks for a resend,
    which the store answers with a gap fill. Returns the next number now used."""
    nxt = session.store.next_sender + n
    session.store.set_next_sender(nxt)
    return nxt


def send_garbled(session: Session, kind: str) -> bytes:
    """One message the receiver must drop as garbled (FIX: no Reject, no sequence number used):
    a wrong CheckSum, a BodyLength that does not match, or a broken BeginString."""
    raw = _encoder(session).encode("0", session.store.next_sender, session.clock(), [])
    if kind == "checksum":
        cks = int(raw[-4:-1])
        bad = raw[:-4] + b"%03d\x01" % ((cks + 1) % 256)
    elif kind == "length":
        at = raw.index(b"\x019=") + 3
        end = raw.index(b"\x01", at)
        bad = raw[:at] + str(int(raw[at:end]) + 5).encode() + raw[end:]
    else:
        bad = b"8=FXX.4.2" + raw[raw.index(b"\x01"):]
    _emit(session, bad)
    return bad


def drop(session: Session, reason: str) -> None:
    """Closes the TCP connection at once, no Logout, as a network failure would."""
    link = session.link
    if link is not None:
        link.close()
        session.disconnected(reason)


class VenueEngine(Engine):
    """The FIX engine's loop plus three venue faults: pause reading a connection, refuse the
    next Logon of a session with a Logout, delay the answer to a Logon."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._paused: dict[Connection, float] = {}
        self.reject_logon: dict[str, str] = {}  # session name -> Logout text
        self.delay_logon: dict[str, float] = {}  # session name -> seconds
        self._delayed: list[tuple[float, Connection]] = []

    # -- stop reading ---------------------------------------------------------------------
    def pause_reading(self, session: Session, seconds: float) -> bool:
        conn = session.link
        if conn is None or not conn.open or conn in self._paused:
            return False
        self._paused[conn] = time.monotonic() + seconds
        self.sel.unregister(conn.sock)
        if conn.wbuf:
            self.sel.register(conn.sock, selectors.EVENT_WRITE, ("conn", conn))
        return True

    def paused(self, session: Session) -> bool:
        return session.link in self._paused

    def _resume(self, conn: Connection) -> None:
        self._paused.pop(conn, None)
        if conn.open:
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.wbuf else 0)
            try:
                self.sel.modify(conn.sock, events, ("conn", conn))
            except KeyError:
                self.sel.register(conn.sock, events, ("conn", conn))

    def _want_write(self, conn: Connection, on: bool) -> None:
        if conn not in self._paused:
            super()._want_write(conn, on)
            return
        # paused: watch for writability only while there is something to flush
        registered = conn.sock in {k.fileobj for k in self.sel.get_map().values()}
        if on and not registered:
            self.sel.register(conn.sock, selectors.EVENT_WRITE, ("conn", conn))
        elif not on and registered:
            self.sel.unregister(conn.sock)

    def _close(self, conn: Connection) -> None:
        if conn in self._paused:
            self._resume(conn)  # registered again, so the engine's own close finds it
        super()._close(conn)

    # -- Logon refusal and delay -----------------------------------------------------------
    def _route(self, conn: Connection) -> None:
        try:
            n = frame_length(conn.pending, 0)
            first = parse(bytes(conn.pending[:n]), validate=False) if n else None
        except FixParseError:
            first = None
        session = None
        if first is not None:
            key = (first.get_str(56), first.get_str(49))
            session = self._acceptors.get(conn.listen_addr, {}).get(key)
        if session is not None and session.cfg.name in self.reject_logon and session.link is None:
            text = self.reject_logon.pop(session.cfg.name)
            seq = session.store.next_sender
            raw = _encoder(session).encode(LOGOUT, seq, self.clock(), [(58, text)])
            session.store.save_sent(seq, raw)
            if session.log:
                session.log.incoming(self.clock(), bytes(conn.pending[:n]))
                session.log.outgoing(self.clock(), raw)
                session.log.event(self.clock(), f"Logon refused (fault reject_logon): {text}")
            conn.write(raw)
            conn.close()
            return
        if session is not None and session.cfg.name in self.delay_logon:
            delay = self.delay_logon.pop(session.cfg.name)
            self._delayed.append((time.monotonic() + delay, conn))
            return
        super()._route(conn)

    def _on_conn_event(self, conn: Connection, mask: int) -> None:
        if conn.session is None and any(c is conn for _, c in self._delayed):
            # hold what arrives while the Logon waits; routed when the delay ends
            if mask & selectors.EVENT_READ and conn.open:
                try:
                    data = conn.sock.recv(1 << 16)
                except BlockingIOError:
                    return
                if not data:
                    self._delayed = [(t, c) for t, c in self._delayed if c is not conn]
                    self._close(conn)
                    return
                conn.pending += data
            return
        super()._on_conn_event(conn, mask)

    def _tick(self) -> None:
        now = time.monotonic()
        for conn, until in list(self._paused.items()):
            if now >= until:
                self._resume(conn)
        ready = [c for t, c in self._delayed if now >= t]
        self._delayed = [(t, c) for t, c in self._delayed if now < t]
        for conn in ready:
            if conn.open:
                conn.accepted_at = now
                super()._route(conn)
        super()._tick()
