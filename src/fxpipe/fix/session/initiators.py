"""Our side's sessions: connect to the counterparty, and back off when that fails or the link drops.

One _Initiator per session keeps its connect attempt and back-off. The delay doubles from
reconnect_min_s to reconnect_max_s with each failed attempt or lost link and goes back to the
minimum once the session is logged on; every decision about when to try next is made here.
"""
from __future__ import annotations

import errno
import logging
import selectors
import socket
import time
from typing import TYPE_CHECKING

from .connection import Connection

if TYPE_CHECKING:
    from .session import Session
    from .transport import Engine


class _Initiator:
    def __init__(self, session: Session):
        self.session = session
        self.next_attempt = 0.0
        self.backoff = session.cfg.reconnect_min_s
        self.connecting: socket.socket | None = None


class Initiators:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.all: list[_Initiator] = []

    def add(self, session: Session) -> None:
        self.all.append(_Initiator(session))

    def tick(self, now: float, stopped: bool) -> None:
        """Connects every initiator whose turn has come (and whose schedule is open)."""
        for ini in self.all:
            s = ini.session
            if s.is_logged_on:
                ini.backoff = s.cfg.reconnect_min_s
            if s.link is None and ini.connecting is None and now >= ini.next_attempt and not stopped \
                    and s.can_connect(self.engine.clock()):
                self._connect(ini)

    def _connect(self, ini: _Initiator) -> None:
        cfg = ini.session.cfg
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rc = sock.connect_ex((cfg.host, cfg.port))
        if rc not in (0, errno.EINPROGRESS):
            sock.close()
            self._back_off(ini, f"connect to {cfg.host}:{cfg.port} failed ({errno.errorcode.get(rc, str(rc))})")
            return
        ini.connecting = sock
        self.engine.sel.register(sock, selectors.EVENT_WRITE, ("connect", ini))

    def connect_done(self, ini: _Initiator) -> None:
        sock = ini.connecting
        assert sock is not None, "registered for 'connect' only while connecting"
        ini.connecting = None
        self.engine.sel.unregister(sock)
        cfg = ini.session.cfg
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            sock.close()
            self._back_off(ini, f"connect to {cfg.host}:{cfg.port} failed ({errno.errorcode.get(err, str(err))})")
            return
        conn = Connection(self.engine, sock, ini.session)
        self.engine.adopt(conn)
        ini.session.event(f"connected to {cfg.host}:{cfg.port}")
        ini.session.connected(conn)

    def link_closed(self, session: Session | None) -> None:
        """The session's connection closed: its next attempt waits out the back-off."""
        for ini in self.all:
            if ini.session is session:
                self._back_off(ini, "")

    def _back_off(self, ini: _Initiator, why: str) -> None:
        if why:
            ini.session.event(f"{why}; next try in {ini.backoff:.1f} s", logging.WARNING)
        ini.next_attempt = time.monotonic() + ini.backoff
        ini.backoff = min(ini.session.cfg.reconnect_max_s, ini.backoff * 2)

    def close(self) -> None:
        for ini in self.all:
            if ini.connecting is not None:
                self.engine.sel.unregister(ini.connecting)
                ini.connecting.close()
                ini.connecting = None
