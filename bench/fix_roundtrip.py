"""Loopback order round trip over FIX 4.2/TCP: fxpipe <-> fxpipe against QuickFIX <-> QuickFIX.

    client process (core B)                         venue process (core A)
    NewOrderSingle  ── TCP 127.0.0.1, TCP_NODELAY ──►  on NewOrderSingle: ExecutionReport (filled)
    on ExecutionReport: record, send the next  ◄──────┘

fxpipe runs three ways: its engine sleeping in epoll between messages (wait="block"),
polling for 200 µs after each socket event before it sleeps (wait="backoff": compact layouts
that trade in bursts), and spinning on its pinned core (wait="spin", the pinned layout);
QuickFIX's socket threads always sleep. Closed loop, one order in flight, measured from just before the client's send call to the
client's callback for the fill, so each sample is one full trip through both engines: encode,
store, socket, parse, validate, session checks, application callback, and back. Both engines
run the same way: file message store (no fsync), a message log, full FIX 4.2 validation
(QuickFIX: UseDataDictionary=Y), the loop driven from the application callback, GC off while
measuring. Venue and client are separate processes pinned to separate cores.

    ./scripts/bench fix-roundtrip [--quick] [--json FILE]
"""
from __future__ import annotations

import argparse
import gc
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from bench._harness import (  # noqa: E402
    Results,
    histogram_from_ns,
    parse_args,
    pick_cores,
    pin,
    plot_latency_cdf,
)
from fxpipe.loopback import unused_port  # noqa: E402

ORDER = [(11, "ORD"), (21, "1"), (55, "EUR/USD"), (54, "1"), (60, "20240306-12:00:00.000"),
         (38, "1000000"), (40, "2"), (44, "1.08512")]
WARMUP = 300


def _free_port() -> int:
    return unused_port(socket.SOCK_STREAM)


# --- fxpipe ------------------------------------------------------------------------------------

def _fx_config(tmp: str, role: str, sender: str, target: str, port: int):
    from fxpipe.fix.session.config import SessionConfig
    return SessionConfig(name=f"{sender}-{target}", role=role, sender_comp_id=sender, target_comp_id=target,
                         host="127.0.0.1", port=port, store_dir=f"{tmp}/store", log_dir=f"{tmp}/log",
                         fsync="never", validate=True, heartbeat_s=30)


def fx_venue(tmp: str, port: int, wait: str) -> None:
    from fxpipe.fix.session.session import Application
    from fxpipe.fix.session.transport import Engine

    class FillingVenue(Application):
        n = 0

        def on_message(self, session, msg):
            if msg.msg_type == "D":
                self.n += 1
                qty, px = msg.get(38), msg.get(44)
                session.send("8", [(37, b"V%d" % self.n), (17, b"E%d" % self.n), (20, b"0"), (150, b"2"),
                                   (39, b"2"), (11, msg.get(11)), (55, msg.get(55)), (54, msg.get(54)),
                                   (38, qty), (32, qty), (31, px), (151, b"0"), (14, qty), (6, px)])

    engine = Engine(wait=wait)
    engine.add_session(_fx_config(tmp, "acceptor", "VENUE", "CLIENT", port), FillingVenue())
    engine.start()
    print("ready", flush=True)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), stop.set(), engine.call_soon_threadsafe(lambda: None)),
                     daemon=True).start()
    gc.freeze()
    engine.run(stop)
    engine.stop(1.0)


def fx_client(tmp: str, port: int, n: int, wait: str) -> list[int]:
    from fxpipe.fix.session.session import Application
    from fxpipe.fix.session.transport import Engine

    samples: list[int] = []
    total = WARMUP + n
    clock = time.perf_counter_ns

    class Client(Application):
        t0 = 0

        def on_logon(self, session):
            self.t0 = clock()
            session.send("D", ORDER)

        def on_message(self, session, msg):
            samples.append(clock() - self.t0)
            if len(samples) < total:
                self.t0 = clock()
                session.send("D", ORDER)

    engine = Engine(wait=wait)
    engine.add_session(_fx_config(tmp, "initiator", "CLIENT", "VENUE", port), Client())
    engine.start()
    gc.collect()
    gc.freeze()
    gc.disable()
    deadline = time.monotonic() + 120
    while len(samples) < total and time.monotonic() < deadline:
        engine.poll()
    gc.enable()
    engine.stop(1.0)
    return samples[WARMUP:]


# --- QuickFIX -------------------------------------------------------------------------------------

def _qf_settings(tmp: str, role: str, sender: str, target: str, port: int) -> str:
    dd = Path(sys.prefix) / "share" / "quickfix" / "FIX42.xml"
    where = (f"SocketAcceptPort={port}\nSocketAcceptHost=127.0.0.1" if role == "acceptor"
             else f"SocketConnectPort={port}\nSocketConnectHost=127.0.0.1")
    text = (f"[DEFAULT]\nConnectionType={role}\nFileStorePath={tmp}/qf-store-{role}\nFileLogPath={tmp}/qf-log-{role}\n"
            f"StartTime=00:00:00\nEndTime=00:00:00\nHeartBtInt=30\nReconnectInterval=1\nUseDataDictionary=Y\n"
            f"DataDictionary={dd}\nSocketNodelay=Y\n\n[SESSION]\nBeginString=FIX.4.2\nSenderCompID={sender}\n"
            f"TargetCompID={target}\n{where}\n")
    path = f"{tmp}/qf-{role}.cfg"
    Path(path).write_text(text)
    return path


def _qf_message(msg_type: str, fields):
    import quickfix as fix
    m = fix.Message()
    m.getHeader().setField(fix.MsgType(msg_type))
    for tag, value in fields:
        m.setField(tag, value)
    return m


def qf_venue(tmp: str, port: int) -> None:
    import quickfix as fix

    class FillingVenue(fix.Application):
        n = 0

        def onCreate(self, sid): pass
        def onLogon(self, sid): pass
        def onLogout(self, sid): pass
        def toAdmin(self, m, sid): pass
        def fromAdmin(self, m, sid): pass
        def toApp(self, m, sid): pass

        def fromApp(self, m, sid):
            if m.getHeader().getField(35) == "D":
                self.n += 1
                qty, px = m.getField(38), m.getField(44)
                er = _qf_message("8", [(37, f"V{self.n}"), (17, f"E{self.n}"), (20, "0"), (150, "2"), (39, "2"),
                                       (11, m.getField(11)), (55, m.getField(55)), (54, m.getField(54)),
                                       (38, qty), (32, qty), (31, px), (151, "0"), (14, qty), (6, px)])
                fix.Session.sendToTarget(er, sid)

    settings = fix.SessionSettings(_qf_settings(tmp, "acceptor", "VENUE", "CLIENT", port))
    app = FillingVenue()
    acceptor = fix.SocketAcceptor(app, fix.FileStoreFactory(settings), settings, fix.FileLogFactory(settings))
    acceptor.start()
    print("ready", flush=True)
    gc.freeze()
    sys.stdin.readline()
    acceptor.stop()


def qf_client(tmp: str, port: int, n: int) -> list[int]:
    import quickfix as fix

    samples: list[int] = []
    total = WARMUP + n
    done = threading.Event()
    clock = time.perf_counter_ns

    class Client(fix.Application):
        t0 = 0
        sid = None

        def onCreate(self, sid): self.sid = sid
        def onLogout(self, sid): pass
        def toAdmin(self, m, sid): pass
        def fromAdmin(self, m, sid): pass
        def toApp(self, m, sid): pass

        def onLogon(self, sid):
            self.t0 = clock()
            fix.Session.sendToTarget(_qf_message("D", ORDER), sid)

        def fromApp(self, m, sid):
            samples.append(clock() - self.t0)
            if len(samples) < total:
                self.t0 = clock()
                fix.Session.sendToTarget(_qf_message("D", ORDER), sid)
            else:
                done.set()

    settings = fix.SessionSettings(_qf_settings(tmp, "initiator", "CLIENT", "VENUE", port))
    app = Client()
    initiator = fix.SocketInitiator(app, fix.FileStoreFactory(settings), settings, fix.FileLogFactory(settings))
    gc.collect()
    gc.freeze()
    gc.disable()
    initiator.start()
    done.wait(120)
    gc.enable()
    initiator.stop()
    return samples[WARMUP:]


# --- driver --------------------------------------------------------------------------------------

def run_pair(system: str, n: int, cores: list[int]) -> list[int]:
    """system: fxpipe-block, fxpipe-backoff, fxpipe-spin or quickfix."""
    with tempfile.TemporaryDirectory(prefix=f"fxpipe-bench-{system}-") as tmp:
        port = _free_port()
        venue = subprocess.Popen([sys.executable, __file__, "--role", system, "--dir", tmp,
                                  "--port", str(port), "--core", str(cores[0])],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            if venue.stdout.readline().strip() != "ready":
                raise SystemExit(f"{system} venue did not start")
            pin(cores[1])
            if system == "quickfix":
                samples = qf_client(tmp, port, n)
            else:
                samples = fx_client(tmp, port, n, system.split("-")[1])
        finally:
            venue.stdin.write("stop\n")
            venue.stdin.close()
            try:
                venue.wait(15)
            except subprocess.TimeoutExpired:
                venue.kill()
                venue.wait(5)
            venue.stdout.close()
    if len(samples) < n:
        raise SystemExit(f"{system}: only {len(samples)} of {n} round trips completed")
    return samples


def roundtrip_section(results: Results, args) -> None:
    """The loopback order round trip for fxpipe (blocking, backoff, spinning) and QuickFIX, with
    speed-up rows; also a section of `./scripts/bench fix`."""
    n = getattr(args, "orders", None) or (3000 if args.quick else 20000)
    cores = pick_cores(args.cores)
    hists = {}
    for system in ("fxpipe-block", "fxpipe-backoff", "fxpipe-spin", "quickfix"):
        samples = run_pair(system, n, cores)
        hists[system] = histogram_from_ns(samples)
        results.add_latency(system, "order round trip", hists[system])
        results.add(system, "round trips", "count", len(samples))
    for system in ("fxpipe-block", "fxpipe-backoff", "fxpipe-spin"):
        for q in ("p50", "p99", "max"):
            fx = results.value(system, f"order round trip {q}")
            qf = results.value("quickfix", f"order round trip {q}")
            results.add(system, f"speed-up vs quickfix {q}", "x", round(qf / fx, 2))
    results.notes.append(f"round trip: cores venue={cores[0]} client={cores[1]}; closed loop, one order in "
                         "flight; target: fxpipe >= 3x faster than QuickFIX <-> QuickFIX")
    plot_latency_cdf(args.plot, hists, "FIX 4.2 order round trip over loopback TCP (NewOrderSingle -> ExecutionReport)")


def main(argv=None) -> int:
    def extra(p):
        # --role/--dir/--port/--core: how the driver starts a venue process; not for users.
        p.add_argument("--role", help=argparse.SUPPRESS)
        p.add_argument("--dir", help=argparse.SUPPRESS)
        p.add_argument("--port", type=int, help=argparse.SUPPRESS)
        p.add_argument("--core", type=int, help=argparse.SUPPRESS)
        p.add_argument("--orders", type=int, help="round trips measured per system")

    args = parse_args("fix_roundtrip", __doc__.splitlines()[0], argv, extra)
    if args.role:
        pin(args.core)
        if args.role == "quickfix":
            qf_venue(args.dir, args.port)
        else:
            fx_venue(args.dir, args.port, args.role.split("-")[1])
        return 0
    results = Results("fix_roundtrip")
    roundtrip_section(results, args)
    results.finish(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
