"""The venue simulator's control port: a loopback TCP socket taking one-line commands, so a
test, a demo script or `fxpipe venue-fault` can inject faults into a running simulator.

    fault SPEC      arm a fault (faults.py grammar)   -> "ok armed N" | "error WHY"
    faults          the faults still armed            -> one JSON line
    status          venues, sessions, counters        -> one JSON line

Commands are answered in order, one line each. The socket never blocks the venue's loop.
"""
from __future__ import annotations

import json
import selectors
import socket

from fxpipe.venue.faults import FaultSpecError, parse


class ControlServer:
    def __init__(self, port: int, handler):
        """handler: the VenueServer, with arm(fault) -> int and status() -> dict."""
        self.handler = handler
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind(("127.0.0.1", port))
        except OSError as exc:
            self.sock.close()
            raise OSError(exc.errno, f"control port 127.0.0.1:{port}: {exc.strerror}") from None
        self.sock.listen(8)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.clients: dict[socket.socket, bytearray] = {}
        self.sel: selectors.BaseSelector | None = None

    def register(self, sel: selectors.BaseSelector) -> None:
        """Watch the listening socket and every client through the owner's selector; each key's
        data is this server, so the owner hands readable keys to on_readable()."""
        self.sel = sel
        sel.register(self.sock, selectors.EVENT_READ, self)

    def on_readable(self, s: socket.socket) -> None:
        if s is self.sock:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return
            conn.setblocking(False)
            self.clients[conn] = bytearray()
            if self.sel is not None:
                self.sel.register(conn, selectors.EVENT_READ, self)
            return
        try:
            data = s.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(s)
            return
        buf = self.clients[s]
        buf += data
        while b"\n" in buf:
            line, _, rest = bytes(buf).partition(b"\n")
            buf[:] = rest
            reply = self.command(line.decode("utf-8", "replace").strip())
            try:
                s.sendall(reply.encode() + b"\n")
            except OSError:
                self._drop(s)
                return

    def command(self, line: str) -> str:
        verb, _, rest = line.partition(" ")
        if verb == "fault":
            try:
                return f"ok armed {self.handler.arm(parse(rest))}"
            except (FaultSpecError, ValueError) as exc:
                return f"error {exc}"
        if verb == "faults":
            return json.dumps(self.handler.pending_faults())
        if verb == "status":
            return json.dumps(self.handler.status())
        return f"error unknown command {verb!r}: use fault SPEC, faults or status"

    def _drop(self, s: socket.socket) -> None:
        self.clients.pop(s, None)
        if self.sel is not None:
            self.sel.unregister(s)
        s.close()

    def close(self) -> None:
        for s in list(self.clients):
            self._drop(s)
        if self.sel is not None:
            self.sel.unregister(self.sock)
        self.sock.close()


def send_command(port: int, line: str, timeout_s: float = 5.0) -> str:
    """One command to a running simulator's control port; its one-line answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as s:
        s.sendall(line.encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    return buf.decode().strip()
