"""Test harness for the venue simulator: the simulator as a real process (`python -m fxpipe
venue`) on free loopback ports, and FIX clients built on fxpipe's own engine (initiator
sessions) that record every application message they receive.

VenueProcess writes a config into a tmp dir, starts the simulator, reads its ready line, talks
to its control port (faults, status), and stops it with SIGTERM. FixClient drives its engine
in the test's own thread: wait() polls until a predicate holds or fails with what it saw.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from session_doubles import RecordingApp, free_port

from fxpipe.fix.codec import format_utc_timestamp
from fxpipe.fix.session.config import SessionConfig
from fxpipe.fix.session.transport import Engine
from fxpipe.venue.control import send_command

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 20.0
START_TRIES = 5          # ports taken by another process between free_port() and the bind

ECN = """
[venues.ecn]
port = {ecn_port}
comp_id = "ECN1"
clients = {clients}
symbol_format = "slash"
depth = 5
level_sizes = [1000000, 2000000, 3000000, 5000000, 10000000]
required_tags = {{ D = [21, 60] }}
{ecn_extra}
"""
LP = """
[venues.lp]
port = {lp_port}
comp_id = "LP1"
clients = {clients}
symbol_format = "concat"
depth = 3
level_sizes = [2000000, 3000000, 5000000]
markup_ticks = 1
time_in_force = ["ioc", "fok"]
ack_new = false
ioc_remainder = "on_fill"
settlement_date = true
required_tags = {{ D = [1, 15, 60] }}
last_look = {{ hold_ms = {hold_ms}, tolerance_pips = 0.2 }}
{lp_extra}
"""


class VenueProcess:
    """`fxpipe venue` in its own process with an ECN and an LP (and any extra TOML)."""

    def __init__(self, tmp: Path, clients=("C1",), pace: str = "step", rate: float = 0, seed: int = 7,
                 ecn_extra="", lp_extra: str = "", hold_ms: float = 30, market_extra: str = "",
                 args=(), with_lp: bool = True, reset_on_logon: bool = True):
        """ecn_extra: TOML text, or a callable making it (called again when the ports are picked
        again: a port another process took between free_port() and the venue's bind is retried)."""
        self.tmp = tmp
        tmp.mkdir(parents=True, exist_ok=True)
        for attempt in range(START_TRIES):
            self._new_ports()
            text = (f"[market]\nseed = {seed}\npace = \"{pace}\"\nrate = {rate}\n{market_extra}\n"
                    f"[session]\nstore_dir = \"{tmp / 'venue-store'}\"\nlog_dir = \"{tmp / 'venue-log'}\"\n"
                    f"heartbeat_s = 30\nfsync = \"never\"\nreset_on_logon = {str(reset_on_logon).lower()}\n")
            cl = json.dumps(list(clients))
            text += ECN.format(ecn_port=self.ecn_port, clients=cl,
                               ecn_extra=ecn_extra() if callable(ecn_extra) else ecn_extra)
            if with_lp:
                text += LP.format(lp_port=self.lp_port, clients=cl, lp_extra=lp_extra, hold_ms=hold_ms)
            self.config = tmp / "venues.toml"
            self.config.write_text(text)
            if self._start(args):
                break
            why = "".join(self.stderr)[-2000:]
            if "Address already in use" not in why or attempt == START_TRIES - 1:
                raise AssertionError(f"venue did not start: {why}")
        self.ready = json.loads(self.lines[0])
        self.control_port = self.ready["control_port"]

    def _new_ports(self) -> None:
        self.ecn_port = free_port()
        self.lp_port = free_port()

    def _start(self, args) -> bool:
        """Starts the simulator; True once it says it is ready, False if it exited first."""
        env = dict(os.environ, PYTHONPATH=f"{ROOT / 'src'}:{ROOT}")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fxpipe", "venue", "--config", str(self.config), "--control-port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.lines: list[str] = []
        self.stderr: list[str] = []
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        err = threading.Thread(target=self._read_err, daemon=True)
        err.start()
        deadline = time.monotonic() + WAIT_S
        while not self._ready.wait(0.05):
            if self.proc.poll() is not None:
                err.join(2.0)            # its last words, for the caller
                return False
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"venue did not start: {''.join(self.stderr)[-2000:]}")
        return True

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)
            if line.startswith('{"event": "ready"'):
                self._ready.set()

    def _read_err(self) -> None:
        for line in self.proc.stderr:
            self.stderr.append(line)

    def fault(self, spec: str) -> str:
        reply = send_command(self.control_port, f"fault {spec}")
        assert reply.startswith("ok"), reply
        return reply

    def status(self) -> dict:
        return json.loads(send_command(self.control_port, "status"))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


class FixClient:
    """An fxpipe initiator session to a venue, driven from the test's thread."""

    def __init__(self, tmp: Path, port: int, sender: str, target: str, name: str | None = None,
                 logon: bool = True, heartbeat_s: int = 30):
        name = name or f"{sender}-{target}"
        self.cfg = SessionConfig(name=name, role="initiator", sender_comp_id=sender, target_comp_id=target,
                                 host="127.0.0.1", port=port, heartbeat_s=heartbeat_s,
                                 store_dir=str(tmp / "client-store"), log_dir=str(tmp / "client-log"),
                                 fsync="never", reset_on_logon=True, reconnect_min_s=0.2, reconnect_max_s=1.0)
        self.app = RecordingApp()
        self.engine = Engine()
        self.session = self.engine.add_session(self.cfg, self.app)
        self.engine.start()
        self.log_path = tmp / "client-log" / f"{name}.messages.log"
        self.events_path = tmp / "client-log" / f"{name}.events.log"
        if logon:
            self.wait(lambda: self.app.logons > 0, "logon")

    def poll(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.engine.poll(0.005)

    def wait(self, pred, what: str = "condition", timeout: float = WAIT_S):
        deadline = time.monotonic() + timeout
        while True:
            got = pred()
            if got:
                return got
            if time.monotonic() > deadline:
                seen = [(m.msg_type, m.get_str(11), m.get_str(150), m.get_str(39)) for m in self.app.messages[-15:]]
                raise AssertionError(f"{self.cfg.name}: no {what} within {timeout} s; last messages: {seen}; "
                                     f"logouts: {self.app.logouts}")
            self.engine.poll(0.005)

    def send(self, msg_type: str, body: list) -> int:
        return self.session.send(msg_type, body)

    def of_type(self, msg_type: str, **tags) -> list:
        out = []
        for m in self.app.messages:
            if m.msg_type == msg_type and all(m.get_str(int(t[1:])) == v for t, v in tags.items()):
                out.append(m)
        return out

    def wait_for(self, msg_type: str, count: int = 1, timeout: float = WAIT_S, **tags) -> list:
        """The first `count` messages of a type whose tags match (t11="ORD-1" means tag 11)."""
        return self.wait(lambda: (lambda ms: ms[:count] if len(ms) >= count else None)(self.of_type(msg_type, **tags)),
                         f"{count} x {msg_type} {tags}", timeout)

    def wire_log(self) -> str:
        self.session.log.flush() if self.session.log else None
        return self.log_path.read_text() if self.log_path.exists() else ""

    def events_log(self) -> str:
        self.session.log.flush() if self.session.log else None
        return self.events_path.read_text() if self.events_path.exists() else ""

    def close(self) -> None:
        try:
            self.engine.stop(timeout_s=1.0)
        except Exception:
            self.engine.close()


def new_order(cl_ord_id: str, symbol: str = "EUR/USD", side: str = "1", qty: str = "1000000",
              ord_type: str = "2", price: str | None = None, tif: str = "0", extra=()) -> list:
    body = [(11, cl_ord_id), (21, "1"), (55, symbol), (54, side), (60, format_utc_timestamp(time.time_ns())),
            (38, qty), (40, ord_type)]
    if price is not None:
        body.append((44, price))
    body.append((59, tif))
    return body + list(extra)


def cancel(cl_ord_id: str, orig: str, symbol: str = "EUR/USD", side: str = "1") -> list:
    return [(41, orig), (11, cl_ord_id), (55, symbol), (54, side), (60, format_utc_timestamp(time.time_ns()))]


def replace(cl_ord_id: str, orig: str, qty: str, price: str, symbol: str = "EUR/USD", side: str = "1",
            tif: str = "0") -> list:
    return [(41, orig), (11, cl_ord_id), (21, "1"), (55, symbol), (54, side),
            (60, format_utc_timestamp(time.time_ns())), (38, qty), (40, "2"), (44, price), (59, tif)]


def md_request(req_id: str, symbols, depth: int = 0, sub: str = "1") -> list:
    body = [(262, req_id), (263, sub), (264, depth), (265, "1"), (267, 2), (269, "0"), (269, "1"),
            (146, len(symbols))]
    for s in symbols:
        body.append((55, s))
    return body


def levels(msg) -> tuple[list, list]:
    """(bids, asks) as [(px_e8, qty_e2)] from a W message, best first."""
    bids, asks = [], []
    for g in msg.groups(268):
        entry = (g.get_scaled(270, 8), g.get_scaled(271, 2))
        (bids if g.get_str(269) == "0" else asks).append(entry)
    return bids, asks
