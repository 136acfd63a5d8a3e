"""Venue simulator throughput, the simulator pinned to one core and its counterparty to another:
quotes per second over the binary feed and over FIX, and order round trips per second.

    binary feed   [fxpipe venue, core A] --UDP BookRefresh--> [FeedReceiver, core B]
    FIX quotes    [fxpipe venue, core A] --FIX X-----------> [fxpipe initiator, core B]
                  [QuickFIX acceptor, core A, X from Python] --> (same initiator)          peer
    round trips   [fxpipe initiator, core B] --D--> [fxpipe venue, core A] --8 (fill)--> back
                  (same initiator) --D--> [QuickFIX acceptor answering with a fill]        peer

A quote is one instrument's ladder update (a BookRefresh, or one X message). Round trips are
market IOC orders answered with one fill report (the venue's profile has ack_new = false, as the
QuickFIX peer sends one report too): closed loop (one order in flight, latency percentiles) and
pipelined (32 in flight). The decode row times FeedBooks.on_packet on captured packets.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from bench._harness import Results, new_histogram, parse_args, pick_cores, pin  # noqa: E402
from fxpipe.loopback import unused_port  # noqa: E402

WINDOW = 32


def free_port() -> int:
    return unused_port(socket.SOCK_STREAM)


def venue_config(tmp: Path, port: int, pace: str, rate: float, feed: str = "", ack_new: bool = True) -> Path:
    text = f"""
[market]
seed = 1
pace = "{pace}"
rate = {rate}
step_updates = 0
[session]
store_dir = "{tmp / 'store'}"
log_dir = "{tmp / 'log'}"
fsync = "never"
reset_on_logon = true
[venues.ecn]
port = {port}
comp_id = "ECN1"
clients = ["BENCH"]
level_sizes = [1000000000, 1000000000, 1000000000, 1000000000, 1000000000]
max_order_qty = 100000000
ack_new = {"true" if ack_new else "false"}
{feed}
"""
    path = tmp / f"venue-{port}.toml"
    path.write_text(text)
    return path


class Proc:
    """A child process pinned to one core; for the venue, reads its ready line."""

    def __init__(self, args: list[str], core: int, ready: bool = True):
        env = dict(os.environ, PYTHONPATH=f"{ROOT / 'src'}:{ROOT}")
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                                  preexec_fn=lambda: os.sched_setaffinity(0, {core}))
        self.ready = json.loads(self.p.stdout.readline()) if ready else None

    def status(self) -> dict:
        from fxpipe.venue.control import send_command

        return json.loads(send_command(self.ready["control_port"], "status"))

    def stop(self) -> None:
        self.p.terminate()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def start_venue(cfg: Path, core: int, wait: str = "block") -> Proc:
    return Proc([sys.executable, "-m", "fxpipe", "venue", "--config", str(cfg), "--control-port", "0",
                 "--wait", wait], core)


# -- an fxpipe initiator counting what comes back ----------------------------------------------
class Client:
    def __init__(self, tmp: Path, port: int, target: str, wait: str = "block"):
        from fxpipe.fix.session.config import SessionConfig
        from fxpipe.fix.session.session import Application
        from fxpipe.fix.session.transport import Engine

        outer = self

        class App(Application):
            def on_logon(self, session):
                outer.logged_on = True

            def on_message(self, session, msg):
                mt = msg.msg_type
                if mt == "X":
                    outer.quotes += 1
                elif mt == "8" and msg.get(39) in (b"2", b"4", b"8"):
                    outer.done[msg.get(11)] = time.perf_counter_ns()

        self.logged_on = False
        self.quotes = 0
        self.done: dict[bytes, int] = {}
        cfg = SessionConfig(name=f"bench-{port}", role="initiator", sender_comp_id="BENCH", target_comp_id=target,
                            host="127.0.0.1", port=port, store_dir=str(tmp / "cstore"), log_dir=str(tmp / "clog"),
                            fsync="never", reset_on_logon=True, reconnect_min_s=0.2)
        self.engine = Engine(wait=wait)
        self.session = self.engine.add_session(cfg, App())
        self.engine.start()
        end = time.monotonic() + 20
        while not self.logged_on:
            if time.monotonic() > end:
                raise SystemExit(f"bench venue: no logon to 127.0.0.1:{port}")
            self.engine.poll(0.01)

    def run_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.engine.poll(0.002)

    def subscribe_all(self, symbols) -> None:
        body = [(262, "ALL"), (263, "1"), (264, 0), (265, "1"), (267, 2), (269, "0"), (269, "1"), (146, len(symbols))]
        self.session.send("V", body + [(55, s) for s in symbols])

    def order(self, cl: str) -> None:
        from fxpipe.fix.codec import format_utc_timestamp

        self.session.send("D", [(11, cl), (21, "1"), (55, "EUR/USD"), (54, "1"),
                                (60, format_utc_timestamp(time.time_ns())), (38, "1000000"), (40, "1"), (59, "3")])

    def round_trips(self, seconds: float, window: int, hist=None) -> float:
        sent: dict[bytes, int] = {}
        n = 0
        end = time.monotonic() + seconds
        t0 = time.perf_counter()
        while time.monotonic() < end:
            while len(sent) < window:
                n += 1
                cl = f"RT{window}-{n}"
                sent[cl.encode()] = time.perf_counter_ns()
                self.order(cl)
            self.engine.poll(0)
            for cl in [c for c in sent if c in self.done]:
                if hist is not None:
                    hist.record_value(max(1, self.done[cl] - sent[cl]))
                del sent[cl]
        while sent and time.monotonic() < end + 5:
            self.engine.poll(0.001)
            for cl in [c for c in sent if c in self.done]:
                del sent[cl]
        return (n - len(sent)) / (time.perf_counter() - t0)

    def close(self) -> None:
        self.engine.stop(timeout_s=1.0)


# -- QuickFIX acceptor: the peer ---------------------------------------------------------------
def qf_peer(port: int, store: str) -> None:
    """Runs as a child: a QuickFIX FIX 4.2 acceptor that answers each NewOrderSingle with one
    filled ExecutionReport and, once subscribed, sends MarketDataIncrementalRefresh messages
    (ten entries, like the simulator's) as fast as Python can hand them to QuickFIX."""
    import quickfix as fix

    state = {"sid": None, "stream": False, "n": 0}

    class App(fix.Application):
        def onCreate(self, sid):
            state["sid"] = sid

        def onLogon(self, sid):
            pass

        def onLogout(self, sid):
            state["stream"] = False

        def toAdmin(self, m, sid):
            pass

        def fromAdmin(self, m, sid):
            pass

        def toApp(self, m, sid):
            pass

        def fromApp(self, m, sid):
            mt = m.getHeader().getField(35)
            if mt == "V":
                state["stream"] = True
            elif mt == "D":
                state["n"] += 1
                er = fix.Message()
                er.getHeader().setField(fix.MsgType("8"))
                for tag, v in ((37, f"Q{state['n']}"), (11, m.getField(11)), (17, f"QE{state['n']}"), (20, "0"),
                               (150, "2"), (39, "2"), (55, "EUR/USD"), (54, "1"), (38, "1000000"), (32, "1000000"),
                               (31, "1.08501"), (151, "0"), (14, "1000000"), (6, "1.08501")):
                    er.setField(tag, v)
                fix.Session.sendToTarget(er, sid)

    cfg = Path(store) / f"qf-{port}.cfg"
    cfg.write_text("\n".join([
        "[DEFAULT]", "ConnectionType=acceptor", f"FileStorePath={store}/qfstore", f"FileLogPath={store}/qflog",
        "StartTime=00:00:00", "EndTime=00:00:00", "HeartBtInt=30", "UseDataDictionary=Y",
        f"DataDictionary={Path(sys.prefix) / 'share' / 'quickfix' / 'FIX42.xml'}", "ResetOnLogon=Y", "",
        "[SESSION]", "BeginString=FIX.4.2", "SenderCompID=QFV", "TargetCompID=BENCH",
        f"SocketAcceptPort={port}", "SocketAcceptHost=127.0.0.1", ""]))
    s = fix.SessionSettings(str(cfg))
    acceptor = fix.SocketAcceptor(App(), fix.FileStoreFactory(s), s, fix.ScreenLogFactory(False, False, False))
    acceptor.start()
    print(json.dumps({"event": "ready"}), flush=True)
    entries = [(279, "1"), (269, "0"), (55, "EUR/USD"), (270, "1.08501"), (271, "1000000"), (290, "1")] * 10
    try:
        while True:
            if state["stream"]:
                x = fix.Message()
                x.getHeader().setField(fix.MsgType("X"))
                x.setField(262, "ALL")
                x.setField(268, "10")
                group = fix.Group(268, 279)
                for k in range(10):
                    for tag, v in entries[k * 6:(k + 1) * 6]:
                        group.setField(tag, v)
                    x.addGroup(group)
                try:
                    fix.Session.sendToTarget(x, state["sid"])
                except fix.SessionNotFound:
                    state["stream"] = False
            else:
                time.sleep(0.001)
    finally:
        acceptor.stop()


# -- the scenarios ------------------------------------------------------------------------------
def bench_feed(res: Results, tmp: Path, cores, seconds: float) -> None:
    from fxpipe.feed.receiver import FeedReceiver

    rx_port, snap_port, port = free_port(), free_port(), free_port()
    feed = f'[venues.ecn.feed]\nchannel_id = 1\ndestinations = ["127.0.0.1:{rx_port}"]\nsnapshot_port = {snap_port}\n'
    rx = FeedReceiver(1, rx_port, ("127.0.0.1", snap_port))
    v = start_venue(venue_config(tmp, port, "wall", 2_000_000, feed), cores[0])
    try:
        rx.poll(0.5)
        s0, r0, t0 = v.status()["venues"]["ecn"]["feed"], rx.stats(), time.perf_counter()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            rx.poll(0.01)
        s1, r1, dt = v.status()["venues"]["ecn"]["feed"], rx.stats(), time.perf_counter() - t0
    finally:
        v.stop()
        rx.close()
    sent = (s1["refreshes"] - s0["refreshes"]) / dt
    got = (r1["refreshes"] - r0["refreshes"]) / dt
    res.add("fxpipe", "binary feed quotes/s published", "1/s", round(sent))
    res.add("fxpipe", "binary feed quotes/s received", "1/s", round(got))
    res.add("fxpipe", "binary feed packets/s", "1/s", round((s1["packets_sent"] - s0["packets_sent"]) / dt))
    res.add("fxpipe", "binary feed packets lost", "count", r1["lost_packets"] - r0["lost_packets"])


def bench_decode(res: Results, seconds: float) -> None:
    from fxpipe.feed import books as fb
    from fxpipe.feed.sbe import PacketWriter
    from fxpipe.venue.book import build_ladder
    from fxpipe.venue.pairs import load
    from fxpipe.venue.prices import PriceProcess

    PAIRS = load()
    pp = PriceProcess(PAIRS, 1)
    w = PacketWriter()
    packets, refreshes = [], 0
    for seq in range(1, 2001):
        w.start(seq, 0, 1, 1, 1)
        for k in range(7):
            pp.advance()
            i = (seq * 7 + k) % len(PAIRS)
            b, a = build_ladder(pp.bid_e8[i], pp.ask_e8[i], PAIRS[i].tick_e8, 1, (100_000_000,) * 5)
            w.add_book(PAIRS[i].instrument_id, seq, 0, b, a)
            refreshes += 1
        packets.append(w.finish())
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        books = fb.FeedBooks(1)
        on_packet = books.on_packet
        for p in packets:
            on_packet(p)
        n += 1
    dt = time.perf_counter() - t0
    res.add("fxpipe", "binary feed decode, FeedBooks.on_packet", "quotes/s", round(n * refreshes / dt))
    res.add("fxpipe", "binary feed decode, FeedBooks.on_packet", "packets/s", round(n * len(packets) / dt))


def bench_fix_quotes(res: Results, tmp: Path, cores, seconds: float) -> None:
    from fxpipe.venue.pairs import load

    port = free_port()
    v = start_venue(venue_config(tmp, port, "wall", 2_000_000), cores[0])
    try:
        c = Client(tmp / "fq", port, "ECN1")
        c.subscribe_all([p.symbol for p in load()])
        c.run_for(0.5)
        q0, s0, t0 = c.quotes, v.status()["venues"]["ecn"]["md_messages"], time.perf_counter()
        c.run_for(seconds)
        q1, s1, dt = c.quotes, v.status()["venues"]["ecn"]["md_messages"], time.perf_counter() - t0
        c.close()
    finally:
        v.stop()
    res.add("fxpipe", "FIX quotes/s sent (X messages)", "1/s", round((s1 - s0) / dt))
    res.add("fxpipe", "FIX quotes/s received by the initiator", "1/s", round((q1 - q0) / dt))
    port = free_port()
    peer = Proc([sys.executable, __file__, "--qf-peer", str(port), str(tmp)], cores[0])
    try:
        c = Client(tmp / "fqq", port, "QFV")
        c.subscribe_all(["EUR/USD"])
        c.run_for(0.5)
        q0, t0 = c.quotes, time.perf_counter()
        c.run_for(seconds)
        q1, dt = c.quotes, time.perf_counter() - t0
        c.close()
    finally:
        peer.stop()
    res.add("quickfix", "FIX quotes/s received by the initiator", "1/s", round((q1 - q0) / dt))


def bench_round_trips(res: Results, tmp: Path, cores, seconds: float) -> dict:
    hists = {}
    for system in ("fxpipe", "fxpipe-backoff", "quickfix"):
        port = free_port()
        if system.startswith("fxpipe"):
            wait = "backoff" if system == "fxpipe-backoff" else "block"
            proc = start_venue(venue_config(tmp, port, "step", 0, ack_new=False), cores[0], wait)
            target = "ECN1"
        else:
            proc = Proc([sys.executable, __file__, "--qf-peer", str(port), str(tmp)], cores[0])
            target = "QFV"
        try:
            c = Client(tmp / f"rt-{system}", port, target, "backoff" if system == "fxpipe-backoff" else "block")
            c.round_trips(0.3, 1)  # warm up
            h = new_histogram()
            closed = c.round_trips(seconds / 2, 1, h)
            piped = c.round_trips(seconds / 2, WINDOW)
            c.close()
        finally:
            proc.stop()
        res.add(system, "order round trips/s, one in flight", "1/s", round(closed))
        res.add(system, f"order round trips/s, {WINDOW} in flight", "1/s", round(piped))
        res.add_latency(system, "order round trip", h)
        hists[f"{system} round trip"] = h
    return hists


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--qf-peer":
        qf_peer(int(sys.argv[2]), sys.argv[3])
        return
    args = parse_args("venue", __doc__.splitlines()[0])
    cores = pick_cores(args.cores, 2)
    pin(cores[1])
    seconds = 2.0 if args.quick else 8.0
    res = Results("venue")
    res.notes.append(f"venue (or QuickFIX peer) pinned to core {cores[0]}, counterparty to core {cores[1]}")
    with tempfile.TemporaryDirectory(prefix="fxpipe-bench-venue-") as d:
        tmp = Path(d)
        bench_feed(res, tmp, cores, seconds)
        bench_decode(res, seconds / 2)
        bench_fix_quotes(res, tmp, cores, seconds)
        hists = bench_round_trips(res, tmp, cores, seconds)
    fx, qf = (res.value(s, "FIX quotes/s received by the initiator") for s in ("fxpipe", "quickfix"))
    if fx and qf:
        res.add("fxpipe/quickfix", "FIX quotes/s received", "ratio", round(fx / qf, 2))
    for what in ("order round trips/s, one in flight", f"order round trips/s, {WINDOW} in flight"):
        qf = res.value("quickfix", what)
        for system in ("fxpipe", "fxpipe-backoff"):
            fx = res.value(system, what)
            if fx and qf:
                res.add(f"{system}/quickfix", what, "ratio", round(fx / qf, 2))
    from bench._harness import plot_latency_cdf

    plot_latency_cdf(args.plot, hists, "order round trip: fxpipe initiator -> venue -> fill")
    res.finish(args)


if __name__ == "__main__":
    main()
