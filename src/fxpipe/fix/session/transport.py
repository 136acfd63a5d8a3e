"""Sessions over non-blocking TCP: initiators that reconnect with back-off, acceptors that route
incoming connections to their session by comp ids, many sessions in one event loop (epoll via
`selectors`), TCP_NODELAY on every socket.

An Engine owns its sessions' sockets (connection.py), stores and message logs and runs on one
thread: poll() waits for socket events and the next timer tick, then feeds the sessions. Other
threads hand it work with call_soon_threadsafe(), which wakes the loop through a socket pair.
Two public hooks let an application bend the transport, as a venue simulator must: a logon
policy for acceptors (logon.py: accept, refuse or hold a Logon) and pause_reading() /
resume_reading() per session (a slow consumer, as TCP flow control shows it).
"""
from __future__ import annotations

import collections
import errno
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import cast

from . import logon, wire
from .connection import Connection
from .logon import LogonDecision
from .msglog import MessageLog
from .session import Application, Session
from .store import FileStore

logger = logging.getLogger("fxpipe.fix.session")
_NS = 1_000_000_000
CLOSE_FLUSH_S = 2.0
LOGON_WAIT_S = 10.0  # an accepted connection that sends no Logon within this is closed

__all__ = ["Connection", "Engine", "LogonDecision"]


class _Initiator:
    def __init__(self, session: Session):
        self.session = session
        self.next_attempt = 0.0
        self.backoff = session.cfg.reconnect_min_s
        self.connecting: socket.socket | None = None


WAIT_MODES = ("block", "spin", "backoff")


class Engine:
    """The event loop of a process's FIX sessions."""

    def __init__(self, clock=time.time_ns, tick_s: float = 0.05, wait: str = "block",
                 spin_us: int = 200):
        """wait: "block" sleeps in epoll until a socket or the next tick wakes it (compact
        layouts); "spin" polls without sleeping, for a pinned core (pinned layout): the wake-up
        of a sleeping process costs tens of microseconds on a VM, a spinning one sees data at
        once; "backoff" polls without sleeping for spin_us after the last socket event, then
        sleeps: an answer that comes within the window (an ack to the order just sent) is seen
        at once, and an idle session costs no CPU."""
        if wait not in WAIT_MODES:
            raise ValueError(f"wait must be one of {', '.join(WAIT_MODES)}, got {wait!r}")
        if spin_us < 0:
            raise ValueError(f"spin_us must be >= 0, got {spin_us}")
        self.clock = clock
        self.tick_s = tick_s
        self.wait = wait
        self._spin_s = spin_us / 1e6
        self._last_io = 0.0
        self.sel = selectors.DefaultSelector()
        self.sessions: dict[str, Session] = {}
        self._initiators: list[_Initiator] = []
        self._acceptors: dict[tuple[str, int], dict[tuple[str, str], Session]] = {}
        self._listeners: list[socket.socket] = []
        self._next_tick = 0.0
        self._calls: collections.deque = collections.deque()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.sel.register(self._wake_r, selectors.EVENT_READ, ("wake", None))
        self._conns: dict[Connection, None] = {}  # every open connection, watched or paused
        self._stopped = False
        # Acceptors: called with the session a new connection's Logon names (see logon.py).
        self.logon_policy: Callable[[Session], LogonDecision] | None = None

    # --- set-up -----------------------------------------------------------------------------

    def add_session(self, cfg, app: Application) -> Session:
        """Opens the session's store (recovering it) and message log; listening starts in start()."""
        if cfg.name in self.sessions:
            raise ValueError(f"session {cfg.name!r} is already in this engine")
        store = FileStore(cfg.store_path, cfg.fsync, cfg.fsync_interval_ms * 1_000_000)
        rec = store.open(self.clock())
        log = MessageLog(cfg.log_dir, cfg.name)
        session = Session(cfg, store, app, self.clock, log)
        session._event(f"store {cfg.store_path} opened: {rec.messages} messages, next out {rec.next_sender}, "
                       f"next in {rec.next_target}, {rec.torn_bytes_cut} torn bytes cut",
                       logging.WARNING if rec.torn_bytes_cut else logging.INFO)
        self.sessions[cfg.name] = session
        if cfg.is_initiator:
            self._initiators.append(_Initiator(session))
        else:
            routes = self._acceptors.setdefault((cfg.host, cfg.port), {})
            routes[(cfg.sender_comp_id, cfg.target_comp_id)] = session
        return session

    def start(self) -> None:
        for (host, port) in self._acceptors:
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
            self.sel.register(ls, selectors.EVENT_READ, ("listen", (host, port)))
            self._listeners.append(ls)

    def listen_port(self, index: int = 0) -> int:
        return self._listeners[index].getsockname()[1]

    # --- the loop ---------------------------------------------------------------------------

    def poll(self, timeout: float | None = None) -> None:
        """One round: socket events (waiting at most until the next tick), then due timers."""
        now = time.monotonic()
        if self.wait == "spin" or (self.wait == "backoff" and now - self._last_io < self._spin_s):
            wait = 0.0
        else:
            wait = max(0.0, self._next_tick - now)
        if timeout is not None:
            wait = min(wait, timeout)
        events = self.sel.select(wait)
        if events:
            self._last_io = time.monotonic()
        for key, mask in events:
            kind, obj = key.data
            if kind == "conn":
                self._on_conn_event(obj, mask)
            elif kind == "listen":
                self._accept(cast(socket.socket, key.fileobj), obj)  # listeners are registered as sockets
            elif kind == "connect":
                self._connect_done(obj)
            else:
                self._run_calls()
        if now >= self._next_tick:
            self._tick()

    @property
    def last_io(self) -> float:
        """time.monotonic() of the last round that saw a socket event (0.0: none yet)."""
        return self._last_io

    @property
    def spin_window_s(self) -> float:
        return self._spin_s

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.poll()

    def call_soon_threadsafe(self, fn, *args) -> None:
        self._calls.append((fn, args))
        try:
            self._wake_w.send(b"\0")
        except BlockingIOError:
            pass  # already awake

    def _run_calls(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass
        while self._calls:
            fn, args = self._calls.popleft()
            fn(*args)

    def _tick(self) -> None:
        self._next_tick = time.monotonic() + self.tick_s
        for s in self.sessions.values():
            s.on_timer()
        now = time.monotonic()
        for ini in self._initiators:
            s = ini.session
            if s.is_logged_on:
                ini.backoff = s.cfg.reconnect_min_s
            if s.link is None and ini.connecting is None and now >= ini.next_attempt and not self._stopped \
                    and s.can_connect(self.clock()):
                self._connect(ini)
        for conn in list(self._conns):
            if conn.closing_since is not None and now - conn.closing_since > CLOSE_FLUSH_S:
                self._close(conn)
            elif conn.held_until is not None:
                if now >= conn.held_until:
                    conn.held_until = None
                    conn.accepted_at = now
                    self._route(conn)
            elif conn.session is None and now - conn.accepted_at > LOGON_WAIT_S:
                logger.warning("connection from %s sent no Logon within %g s; closed", _peer(conn.sock),
                               LOGON_WAIT_S)
                self._close(conn)
            elif conn.paused_until is not None and now >= conn.paused_until:
                self._resume(conn)

    # --- initiators ---------------------------------------------------------------------------

    def _connect(self, ini: _Initiator) -> None:
        cfg = ini.session.cfg
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rc = sock.connect_ex((cfg.host, cfg.port))
        if rc not in (0, errno.EINPROGRESS):
            sock.close()
            self._retry(ini, errno.errorcode.get(rc, str(rc)))
            return
        ini.connecting = sock
        self.sel.register(sock, selectors.EVENT_WRITE, ("connect", ini))

    def _connect_done(self, ini: _Initiator) -> None:
        sock = ini.connecting
        assert sock is not None, "registered for 'connect' only while connecting"
        ini.connecting = None
        self.sel.unregister(sock)
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            sock.close()
            self._retry(ini, errno.errorcode.get(err, str(err)))
            return
        conn = Connection(self, sock, ini.session)
        self._conns[conn] = None
        self._watch(conn)
        ini.session._event(f"connected to {ini.session.cfg.host}:{ini.session.cfg.port}")
        ini.session.connected(conn)

    def _retry(self, ini: _Initiator, why: str) -> None:
        cfg = ini.session.cfg
        ini.session._event(f"connect to {cfg.host}:{cfg.port} failed ({why}); next try in {ini.backoff:.1f} s",
                           logging.WARNING)
        ini.next_attempt = time.monotonic() + ini.backoff
        ini.backoff = min(cfg.reconnect_max_s, ini.backoff * 2)

    # --- acceptors ------------------------------------------------------------------------------

    def _accept(self, ls: socket.socket, addr) -> None:
        try:
            sock, peer = ls.accept()
        except BlockingIOError:
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Connection(self, sock, None)
        conn.listen_addr = addr
        self._conns[conn] = None
        self._watch(conn)

    def _route(self, conn: Connection) -> None:
        """Acceptor: find the session named by the first message's comp ids."""
        try:
            n = wire.frame_length(conn.pending, 0)
            if n == 0:
                return
            first = wire.parse(bytes(conn.pending[:n]), validate=False)
        except wire.FixParseError as exc:
            logger.warning("connection from %s: first message unreadable (%s); closed", _peer(conn.sock), exc)
            self._close(conn)
            return
        key = (first.get_str(56), first.get_str(49))
        routes = self._acceptors.get(conn.listen_addr, {}) if conn.listen_addr is not None else {}
        session = routes.get(key)
        if session is None:
            logger.warning("connection from %s: no session %s -> %s here; closed", _peer(conn.sock), key[1], key[0])
            self._close(conn)
            return
        if session.link is not None:
            session._event(f"second connection from {_peer(conn.sock)} refused: session already connected",
                           logging.WARNING)
            self._close(conn)
            return
        if not conn.logon_checked:
            conn.logon_checked = True
            decision = self.logon_policy(session) if self.logon_policy is not None else logon.ACCEPT
            if decision.action == "refuse":
                logon.refuse(session, conn, bytes(conn.pending[:n]), decision.text)
                return
            if decision.action == "hold":
                conn.held_until = time.monotonic() + decision.hold_s
                return
        conn.session = session
        data, conn.pending = bytes(conn.pending), bytearray()
        session._event(f"accepted connection from {_peer(conn.sock)}")
        session.connected(conn)
        session.data_received(data)

    # --- connections ------------------------------------------------------------------------------

    def _on_conn_event(self, conn: Connection, mask: int) -> None:
        if mask & selectors.EVENT_WRITE and conn.open:
            conn.flush()
        if mask & selectors.EVENT_READ and conn.open and conn.reading:
            try:
                data = conn.sock.recv(1 << 16)
            except BlockingIOError:
                return
            except OSError as exc:
                self._lost(conn, f"receive failed: {exc.strerror}")
                return
            if not data:
                self._lost(conn, "counterparty closed the connection")
            elif conn.session is None:
                conn.pending += data
                if conn.held_until is None and conn.closing_since is None:  # not held, not refused
                    self._route(conn)
            elif conn.session.link is conn:
                conn.session.data_received(data)

    def _watch(self, conn: Connection) -> None:
        """Registers the socket for what the connection needs now: reading unless paused,
        writing while something is queued; neither leaves it out of the selector."""
        if not conn.open:
            return
        events = (selectors.EVENT_READ if conn.reading else 0) | (selectors.EVENT_WRITE if conn.wbuf else 0)
        if events == conn.watched:
            return
        if not events:
            self.sel.unregister(conn.sock)
        elif conn.watched:
            self.sel.modify(conn.sock, events, ("conn", conn))
        else:
            self.sel.register(conn.sock, events, ("conn", conn))
        conn.watched = events

    # --- pausing reads ------------------------------------------------------------------------------

    def pause_reading(self, session: Session, seconds: float | None = None) -> bool:
        """Stops reading the session's connection, for `seconds` or until resume_reading(): what
        the counterparty sends waits in the kernel's buffers and TCP flow control slows it, as
        a slow consumer would; writing goes on. False when the session has no open connection
        or its reading is paused already. The pause ends with the connection."""
        conn = session.link
        if conn is None or not conn.open or not conn.reading:
            return False
        conn.reading = False
        conn.paused_until = None if seconds is None else time.monotonic() + seconds
        self._watch(conn)
        return True

    def resume_reading(self, session: Session) -> bool:
        """Reads the session's connection again; False when it was not paused."""
        conn = session.link
        if conn is None or not conn.open or conn.reading:
            return False
        self._resume(conn)
        return True

    def _resume(self, conn: Connection) -> None:
        conn.reading = True
        conn.paused_until = None
        self._watch(conn)

    def _lost(self, conn: Connection, reason: str) -> None:
        self._close(conn)
        if conn.session is not None and conn.session.link is conn:
            conn.session.disconnected(reason)

    def _close(self, conn: Connection) -> None:
        if conn.open:
            conn.open = False
            self._conns.pop(conn, None)
            if conn.watched:
                self.sel.unregister(conn.sock)
                conn.watched = 0
            conn.sock.close()
            for ini in self._initiators:
                if ini.session is conn.session:
                    ini.next_attempt = time.monotonic() + ini.backoff
                    ini.backoff = min(ini.session.cfg.reconnect_max_s, ini.backoff * 2)

    # --- shutdown ---------------------------------------------------------------------------------

    def stop(self, timeout_s: float = 2.0) -> None:
        """Log out every session, wait for the replies (up to timeout_s), close everything."""
        self._stopped = True
        for s in self.sessions.values():
            s.logout("shutting down")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and any(s.link is not None for s in self.sessions.values()):
            self.poll(0.01)
        self.close()

    def close(self) -> None:
        if self.sel.get_map() is None:
            return  # closed already
        self._stopped = True
        for conn in list(self._conns):
            if conn.session is not None and conn.session.link is conn:
                conn.session.disconnected("engine closed")
            self._close(conn)
        for ini in self._initiators:
            if ini.connecting is not None:
                self.sel.unregister(ini.connecting)
                ini.connecting.close()
                ini.connecting = None
        for ls in self._listeners:
            self.sel.unregister(ls)
            ls.close()
        self._listeners.clear()
        for s in self.sessions.values():
            s.store.close()
            if s.log:
                s.log.close()
        self.sel.unregister(self._wake_r)
        self._wake_r.close()
        self._wake_w.close()
        self.sel.close()


def _peer(sock: socket.socket) -> str:
    try:
        host, port = sock.getpeername()[:2]
        return f"{host}:{port}"
    except OSError:
        return "?"
