"""The event loop of a process's FIX sessions: many sessions over non-blocking TCP (epoll via
`selectors`), TCP_NODELAY on every socket.

An Engine owns its sessions' sockets (connection.py), stores and message logs and runs on one
thread: poll() waits for socket events and the next timer tick, then feeds the sessions.
Connecting and back-off are initiators.py's, listening and routing acceptors.py's. Other
threads hand it work with call_soon_threadsafe(), which wakes the loop through a socket pair.
Two public hooks let an application bend the transport, as a venue simulator must: a logon
policy for acceptors (logon.py: accept, refuse or hold a Logon) and pause_reading() /
resume_reading() per session (a slow consumer, as TCP flow control shows it).
"""
from __future__ import annotations

import collections
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import cast

from .acceptors import Acceptors
from .connection import Connection
from .initiators import Initiators
from .logon import LogonDecision
from .msglog import MessageLog
from .session import Application, Session
from .store import FileStore

logger = logging.getLogger("fxpipe.fix.session")
CLOSE_FLUSH_S = 2.0

__all__ = ["Connection", "Engine", "LogonDecision"]

WAIT_MODES = ("block", "spin", "backoff")
READ_BYTES = 1 << 16


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
        # bytes one read of a connection takes in a round: the bound on the messages a round
        # handles from one counterparty (a backlog of reports is taken in steps, so a process
        # that serves other sockets between rounds is not held for the whole backlog)
        self.read_bytes = READ_BYTES
        self._spin_s = spin_us / 1e6
        self._last_io = 0.0
        self.sel = selectors.DefaultSelector()
        self.sessions: dict[str, Session] = {}
        self.initiators = Initiators(self)
        self.acceptors = Acceptors(self)
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
        session.event(f"store {cfg.store_path} opened: next out {rec.next_sender}, "
                      f"next in {rec.next_target}, {rec.scanned_bytes} bytes scanned"
                      f"{' (index rebuilt)' if rec.rebuilt_index else ''}, {rec.torn_bytes_cut} torn bytes cut",
                      logging.WARNING if rec.torn_bytes_cut else logging.INFO)
        self.sessions[cfg.name] = session
        (self.initiators if cfg.is_initiator else self.acceptors).add(session)
        return session

    def start(self) -> None:
        self.acceptors.listen()

    def listen_port(self, index: int = 0) -> int:
        return self.acceptors.listeners[index].getsockname()[1]

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
                self.acceptors.accept(cast(socket.socket, key.fileobj), obj)  # listeners are registered as sockets
            elif kind == "connect":
                self.initiators.connect_done(obj)
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
        self.initiators.tick(now, self._stopped)
        for conn in list(self._conns):
            if conn.closing_since is not None and now - conn.closing_since > CLOSE_FLUSH_S:
                self.close_now(conn)
            elif conn.paused_until is not None and now >= conn.paused_until:
                self._resume(conn)
            elif conn.session is None:
                self.acceptors.tick(conn, now)

    # --- connections: the protocol Connection uses ---------------------------------------------

    def adopt(self, conn: Connection) -> None:
        """A new connection (connected or accepted) joins the loop."""
        self._conns[conn] = None
        self.watch(conn)

    def watch(self, conn: Connection) -> None:
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

    def lost(self, conn: Connection, reason: str) -> None:
        """The connection failed under us: closed, and its session told."""
        self.close_now(conn)
        if conn.session is not None and conn.session.link is conn:
            conn.session.disconnected(reason)

    def close_now(self, conn: Connection) -> None:
        if conn.open:
            conn.open = False
            self._conns.pop(conn, None)
            if conn.watched:
                self.sel.unregister(conn.sock)
                conn.watched = 0
            conn.sock.close()
            if conn.session is not None:
                self.initiators.link_closed(conn.session)

    def _on_conn_event(self, conn: Connection, mask: int) -> None:
        if mask & selectors.EVENT_WRITE and conn.open:
            conn.flush()
        if mask & selectors.EVENT_READ and conn.open and conn.reading:
            try:
                data = self._recv(conn)
            except BlockingIOError:
                return
            except OSError as exc:
                self.lost(conn, f"receive failed: {exc.strerror}")
                return
            if not data:
                self.lost(conn, "counterparty closed the connection")
            elif conn.session is None:
                self.acceptors.received(conn, data)
            elif conn.session.link is conn:
                self._feed(conn, conn.session, data)

    def _recv(self, conn: Connection) -> bytes:
        """One read of a connection's socket (a harness may take it with the kernel's receive
        time)."""
        return conn.sock.recv(self.read_bytes)

    def _feed(self, conn: Connection, session: Session, data: bytes) -> None:
        """A defect met while handling one session's input drops that session's link (its
        messages are not counted, so they come again), never the loop every session runs on."""
        try:
            session.data_received(data)
        except Exception as exc:
            logger.exception("%s: failed handling its input; connection dropped", session.cfg.name)
            session.event(f"failed handling input ({type(exc).__name__}: {exc}); connection dropped",
                          logging.ERROR)
            self.lost(conn, f"failed handling input: {type(exc).__name__}")

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
        self.watch(conn)
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
        self.watch(conn)

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
            self.close_now(conn)
        self.initiators.close()
        self.acceptors.close()
        for s in self.sessions.values():
            s.store.close()
            if s.log:
                s.log.close()
        self.sel.unregister(self._wake_r)
        self._wake_r.close()
        self._wake_w.close()
        self.sel.close()
