"""Test harness: a QuickFIX peer process and an fxpipe Engine on a thread, both on 127.0.0.1.

QfPeer writes QuickFIX's settings into a tmp dir, starts qf_peer.py, and collects its JSON
events; wait() returns the first event matching a predicate or fails with what it did see.
FxSide runs an Engine on a background thread and records what its Application is told.
Both stop and clean up whatever they started.
"""
from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from session_doubles import free_port  # noqa: F401  (the session tests take it from here)

from fxpipe.fix.session.config import SessionConfig
from fxpipe.fix.session.session import Application
from fxpipe.fix.session.transport import Engine

HERE = Path(__file__).resolve().parent
QF_DICT = Path(sys.prefix) / "share" / "quickfix" / "FIX42.xml"
WAIT_S = 20.0


def qf_settings(tmp: Path, role: str, sender: str, target: str, port: int, heartbeat_s: int = 30) -> Path:
    lines = [
        "[DEFAULT]",
        f"ConnectionType={role}",
        f"FileStorePath={tmp / 'qf-store'}",
        f"FileLogPath={tmp / 'qf-log'}",
        "StartTime=00:00:00",
        "EndTime=00:00:00",
        f"HeartBtInt={heartbeat_s}",
        "ReconnectInterval=1",
        "UseDataDictionary=Y",
        f"DataDictionary={QF_DICT}",
        "ResetOnLogon=N",
        "",
        "[SESSION]",
        "BeginString=FIX.4.2",
        f"SenderCompID={sender}",
        f"TargetCompID={target}",
    ]
    if role == "acceptor":
        lines += [f"SocketAcceptPort={port}", "SocketAcceptHost=127.0.0.1"]
    else:
        lines += [f"SocketConnectPort={port}", "SocketConnectHost=127.0.0.1"]
    path = tmp / f"qf-{role}.cfg"
    path.write_text("\n".join(lines) + "\n")
    return path


class QfPeer:
    def __init__(self, settings: Path, role: str, auto_fill: bool = False):
        args = [sys.executable, str(HERE / "qf_peer.py"), str(settings), role] + (["--auto-fill"] if auto_fill else [])
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.events: queue.Queue = queue.Queue()
        self.seen: list[dict] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.wait(lambda e: e["event"] == "ready")

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.events.put(json.loads(line))
        self.events.put({"event": "exited"})

    def cmd(self, op: str, **kw) -> None:
        self.proc.stdin.write(json.dumps({"cmd": op, **kw}) + "\n")
        self.proc.stdin.flush()

    def send(self, msg_type: str, fields: list) -> None:
        self.cmd("send", msg_type=msg_type, fields=fields)

    def wait(self, pred, timeout: float = WAIT_S) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"QuickFIX peer: no matching event in {timeout} s; saw "
                                     f"{[e['event'] + ' ' + e.get('raw', '')[:90] for e in self.seen[-12:]]}")
            try:
                ev = self.events.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.append(ev)
            if ev["event"] == "error":
                raise AssertionError(f"QuickFIX peer error: {ev['text']}")
            if pred(ev):
                return ev
            if ev["event"] == "exited":
                raise AssertionError("QuickFIX peer exited")

    def drain(self, timeout: float = 0.0) -> list[dict]:
        """Every event not read yet (waiting up to timeout for each), appended to seen."""
        while True:
            try:
                ev = self.events.get(timeout=timeout) if timeout else self.events.get_nowait()
            except queue.Empty:
                return self.seen
            self.seen.append(ev)
            if ev["event"] == "exited":
                return self.seen

    def kill(self) -> None:
        """SIGKILL, as a crash: QuickFIX's store is left as the kill finds it."""
        self.proc.kill()
        self.proc.wait(10)
        self.drain(timeout=5.0)
        self.proc.stdin.close()
        self.proc.stdout.close()

    def set_next(self, sender: int | None = None, target: int | None = None) -> tuple[int, int]:
        """Moves QuickFIX's numbers; returns once it has done so (the seqnums reply follows)."""
        if sender is not None:
            self.cmd("set_next_sender", n=sender)
        if target is not None:
            self.cmd("set_next_target", n=target)
        return self.seqnums()

    def seqnums(self) -> tuple[int, int]:
        self.cmd("seqnums")
        ev = self.wait(lambda e: e["event"] == "seqnums")
        return ev["sender"], ev["target"]

    def stop(self) -> None:
        if self.proc.stdin.closed:
            return  # killed already
        if self.proc.poll() is None:
            try:
                self.cmd("stop")
                self.proc.wait(15)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(5)
        self.proc.stdin.close()
        self.proc.stdout.close()


def fields_of(raw: str) -> dict[int, str]:
    """Tag -> value of a '|'-separated message (last occurrence wins)."""
    out = {}
    for part in raw.strip("|").split("|"):
        tag, _, value = part.partition("=")
        out[int(tag)] = value
    return out


class Recorder(Application):
    def __init__(self):
        self.events: queue.Queue = queue.Queue()

    def on_logon(self, session):
        self.events.put(("logon", None))

    def on_logout(self, session, reason):
        self.events.put(("logout", reason))

    def on_message(self, session, msg):
        self.events.put(("app", msg))


class FxSide:
    """An fxpipe Engine with one session on a background thread."""

    def __init__(self, cfg: SessionConfig, app: Application | None = None):
        self.app = app or Recorder()
        self.engine = Engine()
        self.session = self.engine.add_session(cfg, self.app)
        self.engine.start()
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.engine.run, args=(self.stop_flag,), daemon=True)
        self.thread.start()

    def call(self, fn, *args):
        """Run fn on the engine thread and return its result."""
        done: queue.Queue = queue.Queue()

        def run():
            try:
                done.put((True, fn(*args)))
            except Exception as exc:  # handed back to the test thread
                done.put((False, exc))
        self.engine.call_soon_threadsafe(run)
        ok, value = done.get(timeout=WAIT_S)
        if not ok:
            raise value
        return value

    def wait(self, kind: str, pred=lambda v: True, timeout: float = WAIT_S):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"fxpipe side: no {kind} event within {timeout} s")
            try:
                k, v = self.app.events.get(timeout=left)
            except queue.Empty:
                continue
            if k == kind and pred(v):
                return v

    def stop(self, logout: bool = True) -> None:
        if logout:
            self.call(lambda: None)
            self.stop_flag.set()
            self.thread.join(10)
            self.engine.stop()
        else:
            self.stop_flag.set()
            self.thread.join(10)
            self.engine.close()


class Venue(Recorder):
    """fxpipe as the venue: every NewOrderSingle is filled in full at its price."""

    def __init__(self):
        super().__init__()
        self.exec_id = 0

    def on_message(self, session, msg):
        super().on_message(session, msg)
        if msg.msg_type == "D":
            self.exec_id += 1
            qty = msg.get(38)
            px = msg.get(44) or b"1"
            session.send("8", [(37, f"FX-{self.exec_id}"), (17, f"FXE-{self.exec_id}"), (20, "0"), (150, "2"),
                               (39, "2"), (11, msg.get(11)), (55, msg.get(55)), (54, msg.get(54)),
                               (38, qty), (32, qty), (31, px), (151, "0"), (14, qty), (6, px)])


def new_order(cl_ord_id: str, qty: str = "1000000", px: str = "1.08512") -> list:
    return [(11, cl_ord_id), (21, "1"), (55, "EUR/USD"), (54, "1"), (60, "20240306-12:00:00"),
            (38, qty), (40, "2"), (44, px)]


def fx_config(tmp: Path, role: str, sender: str, target: str, port: int, **over) -> SessionConfig:
    values = dict(name=f"{sender}-{target}", role=role, sender_comp_id=sender, target_comp_id=target,
                  host="127.0.0.1", port=port, store_dir=str(tmp / "fx-store"), log_dir=str(tmp / "fx-log"),
                  heartbeat_s=30, fsync="never", reconnect_min_s=0.2, reconnect_max_s=1.0)
    values.update(over)
    return SessionConfig(**values)


def message_log(cfg: SessionConfig) -> str:
    return (Path(cfg.log_dir) / f"{cfg.name}.messages.log").read_text()


def wait_until(pred, what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
