"""One TCP connection of the FIX engine: the link a Session writes to.

write() sends at once and keeps only what the kernel would not take, backlog() tells the resend
streamer how much is waiting, close() closes once that is flushed. Which socket events the
engine watches for it follows from its state: reading unless paused (Engine.pause_reading),
writing while something is queued. An acceptor's connection learns its session at Logon.
The connection talks back to its event loop through the small LinkOwner protocol.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

from .linkwriter import LinkWriter

if TYPE_CHECKING:
    from .session import Session


class LinkOwner(Protocol):
    """What a Connection needs of the event loop that owns its socket."""

    def watch(self, conn: Connection) -> None:
        """Socket events to wait for changed (something queued, or all of it sent)."""

    def lost(self, conn: Connection, reason: str) -> None:
        """The socket failed: close it and tell the session."""

    def close_now(self, conn: Connection) -> None:
        """Close the socket now."""


class Connection(LinkWriter):
    """One TCP connection: the link of the session it carries (acceptors learn which at Logon).
    write(data) is LinkWriter's, in C (fxpipe.fix.session.linkwriter): engine, sock, wbuf,
    open and closing_since are its attributes."""

    def __init__(self, engine: LinkOwner, sock, session: Session | None):
        self._attach(engine, sock)
        self.session = session
        self.pending = bytearray()  # acceptor: bytes before the session is known
        self.accepted_at = time.monotonic()
        self.listen_addr: tuple[str, int] | None = None  # acceptor: the (host, port) it came in on
        self.reading = True  # False while the engine has paused reading it
        self.paused_until: float | None = None  # a timed pause ends here (monotonic s)
        self.logon_checked = False  # acceptor: the engine's logon policy has ruled on it
        self.held_until: float | None = None  # acceptor: Logon held by the policy until (monotonic s)
        self.watched = 0  # selector events registered for the socket now (0: not registered)

    def backlog(self) -> int:
        return len(self.wbuf)

    def close(self) -> None:
        """Close once what is queued has gone (a Logout before the close must arrive)."""
        if not self.open:
            return
        if self.wbuf:
            self.closing_since = time.monotonic()
        else:
            self.engine.close_now(self)

    def flush(self) -> None:
        try:
            n = self.sock.send(self.wbuf)
        except BlockingIOError:
            return
        except OSError as exc:
            self.engine.lost(self, f"send failed: {exc.strerror}")
            return
        del self.wbuf[:n]
        if not self.wbuf:
            self.engine.watch(self)
            if self.closing_since is not None:
                self.engine.close_now(self)
            elif self.session is not None and self.session.link is self:
                self.session.on_drain()
