"""The venue's side: listen, route each incoming connection to its session by comp ids, and let
the engine's logon policy (logon.py) accept, refuse or hold the Logon.

A connection belongs to no session until its first message frames: that message's
TargetCompID/SenderCompID, on the address it came in on, name the session. Unknown comp ids
and a second connection for a connected session are closed; so is a connection that sends no
Logon within LOGON_WAIT_S (unless its Logon is held by the policy).
"""
from __future__ import annotations

import logging
import selectors
import socket
import time
from typing import TYPE_CHECKING

from . import admin, logon, wire
from .connection import Connection

if TYPE_CHECKING:
    from .session import Session
    from .transport import Engine

logger = logging.getLogger("fxpipe.fix.session")
LOGON_WAIT_S = 10.0  # an accepted connection that sends no Logon within this is closed


class Acceptors:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.routes: dict[tuple[str, int], dict[tuple[str, str], Session]] = {}
        self.listeners: list[socket.socket] = []

    def add(self, session: Session) -> None:
        cfg = session.cfg
        self.routes.setdefault((cfg.host, cfg.port), {})[(cfg.sender_comp_id, cfg.target_comp_id)] = session

    def listen(self) -> None:
        for (host, port) in self.routes:
            ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                ls.bind((host, port))
            except OSError as exc:
                ls.close()
                raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}; "
                                         f"is another process using that port?") from None
            ls.listen(64)
            ls.setblocking(False)
            self.engine.sel.register(ls, selectors.EVENT_READ, ("listen", (host, port)))
            self.listeners.append(ls)

    def accept(self, ls: socket.socket, addr: tuple[str, int]) -> None:
        try:
            sock, _ = ls.accept()
        except BlockingIOError:
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Connection(self.engine, sock, None)
        conn.listen_addr = addr
        self.engine.adopt(conn)

    def received(self, conn: Connection, data: bytes) -> None:
        """Bytes on a connection whose session is not known yet."""
        conn.pending += data
        if conn.held_until is None and conn.closing_since is None:  # not held, not refused
            self.route(conn)

    def tick(self, conn: Connection, now: float) -> None:
        if conn.held_until is not None:
            if now >= conn.held_until:
                conn.held_until = None
                conn.accepted_at = now
                self.route(conn)
        elif conn.session is None and now - conn.accepted_at > LOGON_WAIT_S:
            logger.warning("connection from %s sent no Logon within %g s; closed", peer(conn.sock), LOGON_WAIT_S)
            self.engine.close_now(conn)

    def route(self, conn: Connection) -> None:
        """Finds the session named by the first message's comp ids and hands it the connection."""
        try:
            n = wire.frame_length(conn.pending, 0)
            if n == 0:
                return
            first = wire.parse(bytes(conn.pending[:n]), validate=False)
        except wire.FixParseError as exc:
            logger.warning("connection from %s: first message unreadable (%s); closed", peer(conn.sock), exc)
            self.engine.close_now(conn)
            return
        key = (first.get_str(admin.TARGET_COMP_ID), first.get_str(admin.SENDER_COMP_ID))
        routes = self.routes.get(conn.listen_addr, {}) if conn.listen_addr is not None else {}
        session = routes.get(key)
        if session is None:
            logger.warning("connection from %s: no session %s -> %s here; closed", peer(conn.sock), key[1], key[0])
            self.engine.close_now(conn)
            return
        if session.link is not None:
            session.event(f"second connection from {peer(conn.sock)} refused: session already connected",
                          logging.WARNING)
            self.engine.close_now(conn)
            return
        if not conn.logon_checked:
            conn.logon_checked = True
            policy = self.engine.logon_policy
            decision = policy(session) if policy is not None else logon.ACCEPT
            if decision.action == "refuse":
                logon.refuse(session, conn, bytes(conn.pending[:n]), decision.text)
                return
            if decision.action == "hold":
                conn.held_until = time.monotonic() + decision.hold_s
                return
        conn.session = session
        data, conn.pending = bytes(conn.pending), bytearray()
        session.event(f"accepted connection from {peer(conn.sock)}")
        session.connected(conn)
        session.data_received(data)

    def close(self) -> None:
        for ls in self.listeners:
            self.engine.sel.unregister(ls)
            ls.close()
        self.listeners.clear()


def peer(sock: socket.socket) -> str:
    try:
        host, port = sock.getpeername()[:2]
        return f"{host}:{port}"
    except OSError:
        return "?"
