"""Sessions over non-blocking TCP: initiators that reconnect with back-off, acceptors that route
incoming connections to their session by comp ids, many sessions in one event loop (epoll via
`selectors`), TCP_NODELAY on every socket.

An Engine owns its sessions' sockets, stores and message logs and runs on one thread: poll()
waits for socket events and the next timer tick, then feeds the sessions. Other threads hand
it work with call_soon_threadsafe(), which wakes the loop through a socket pair. A Connection
is the session's link: write() sends at once and keeps only what the kernel would not take,
backlog() tells the resend streamer how much is waiting, close() closes once that is flushed.
"""
from __future__ import annotations

import collections
import errno
import logging
import selectors
import socket
import threading
import time

from . import wire
from .msglog import MessageLog
from .session import Application, Session
from .store import FileStore

logger = logging.getLogger("fxpipe.fix.session")
_NS = 1_000_000_000
CLOSE_FLUSH_S = 2.0


class Connection:
    """One TCP connection: the link of the session it carries (acceptors learn which at Logon)."""

    def __init__(self, engine: Engine, sock: socket.socket, session: Session | None):
        self.engine = engine
        self.sock = sock
        self.session = session
        self.wbuf = bytearray()
        self.closing_since: float | None = None
        self.open = True
        self.pending = bytearray()  # acceptor: bytes before the session is known
        self.accepted_at = time.monotonic()

    def write(self, data: bytes) -> None:
        if not self.open or self.closing_since is not None:
            return
        if self.wbuf:
            self.wbuf += data
            return
        try:
            n = self.sock.send(data)
        except BlockingIOError:
            n = 0
        except OSError as exc:
            self.engine._lost(self, f"send failed: {exc.strerror}")
            return
        if n < len(data):
            self.wbuf += data[n:]
            self.engine._want_write(self, True)

    def backlog(self) -> int:
        return len(self.wbuf)

    def close(self) -> None:
        """Close once what is queued has gone (a Logout before the close must arrive)."""
        if not self.open:
            return
        if self.wbuf:
            self.closing_since = time.monotonic()
        else:
            self.engine._close(self)

    def flush(self) -> None:
        try:
            n = self.sock.send(self.wbuf)
        except BlockingIOError:
            return
        except OSError as exc:
            self.engine._lost(self, f"send failed: {exc.strerror}")
            return
        del self.wbuf[:n]
        if not self.wbuf:
            self.engine._want_write(self, False)
            if self.closing_since is not None:
                self.engine._close(self)
            elif self.session is not None and self.session.link is self:
                self.session.on_drain()


class _Initiator:
    def __init__(self, session: Session):
        self.session = session
        self.next_attempt = 0.0
        self.backoff = session.cfg.reconnect_min_s
        self.connecting: socket.socket | None = None


class Engine:
    """The event loop of a process's FIX sessions."""

    def __init__(self, clock=time.time_ns, tick_s: float = 0.05, wait: str = "block"):
        """wait: "block" sleeps in epoll until a socket or the next tick wakes it (compact
        layouts); "spin" polls without sleeping, for a pinned core (pinned layout): the wake-up
        of a sleeping process costs tens of microseconds on a VM, a spinning one sees data at once."""
        if wait not in ("block", "spin"):
            raise ValueError(f"wait must be 'block' or 'spin', got {wait!r}")
        self.clock = clock
        self.tick_s = tick_s
        self.spin = wait == "spin"
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
        self._stopped = False

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
        wait = 0.0 if self.spin else max(0.0, self._next_tick - now)
        if timeout is not None:
            wait = min(wait, timeout)
        for key, mask in self.sel.select(wait):
            kind, obj = key.data
            if kind == "conn":
                self._on_conn_event(obj, mask)
            elif kind == "listen":
                self._accept(key.fileobj, obj)
            elif kind == "connect":
                self._connect_done(obj)
            else:
                self._run_calls()
        if now >= self._next_tick:
            self._tick()

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
        for key in list(self.sel.get_map().values()):
            kind, conn = key.data
            if kind == "conn":
                if conn.closing_since is not None and now - conn.closing_since > CLOSE_FLUSH_S:
                    self._close(conn)
                elif conn.session is None and now - conn.accepted_at > 10:
                    logger.warning("connection from %s sent no Logon within 10 s; closed", _peer(conn.sock))
                    self._close(conn)

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
        ini.connecting = None
        self.sel.unregister(sock)
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            sock.close()
            self._retry(ini, errno.errorcode.get(err, str(err)))
            return
        conn = Connection(self, sock, ini.session)
        self.sel.register(sock, selectors.EVENT_READ, ("conn", conn))
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
        self.sel.register(sock, selectors.EVENT_READ, ("conn", conn))

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
        session = self._acceptors.get(conn.listen_addr, {}).get(key)
        if session is None:
            logger.warning("connection from %s: no session %s -> %s here; closed", _peer(conn.sock), key[1], key[0])
            self._close(conn)
            return
        if session.link is not None:
            session._event(f"second connection from {_peer(conn.sock)} refused: session already connected",
                           logging.WARNING)
            self._close(conn)
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
        if mask & selectors.EVENT_READ and conn.open:
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
                self._route(conn)
            elif conn.session.link is conn:
                conn.session.data_received(data)

    def _want_write(self, conn: Connection, on: bool) -> None:
        if conn.open:
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if on else 0)
            self.sel.modify(conn.sock, events, ("conn", conn))

    def _lost(self, conn: Connection, reason: str) -> None:
        self._close(conn)
        if conn.session is not None and conn.session.link is conn:
            conn.session.disconnected(reason)

    def _close(self, conn: Connection) -> None:
        if conn.open:
            conn.open = False
            self.sel.unregister(conn.sock)
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
        for key in list(self.sel.get_map().values()):
            kind, obj = key.data
            if kind == "conn":
                if obj.session is not None and obj.session.link is obj:
                    obj.session.disconnected("engine closed")
                self._close(obj)
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
