"""Tick to trade: a quote on the desk's feed socket → the NewOrderSingle it causes leaving the
oms's FIX socket, measured on the wire by the harness, per layout; and the quotes/s the desk
sustains with its strategy on, against NautilusTrader's backtest engine on the same quotes.

    bench process (pinned to the journal's core)                 the desk (run_desk, supervisor thread)
    ┌──────────────────────────────────────────┐  UDP quotes   ┌────────────────────────────────────┐
    │ C pacer thread ───── sent_ns at send()   ├──────────────►│ feed → decision → oms ──► journal  │
    │ FIX acceptor ECN1 ── recv_ns: kernel rx  │◄──────────────┤   (EveryNthQuote: an IOC on every  │
    │   answers each order with a full fill    ├──────────────►│    Nth quote at its own price)     │
    └──────────────────────────────────────────┘  FIX 35=D / 8 └────────────────────────────────────┘

Open loop: quotes go out at fixed rates on a schedule (quote j is due at t0 + j/rate) whatever
the desk does; a quote sent late is sent at once. They are sent by a C loop on a thread of its
own (fxpipe.benchsupport.feed_pacer), SCHED_FIFO where the host permits: a Python publisher that
also answers the orders and shares its core with the journal sent them milliseconds late at the
99th percentile, and the corrected figures charged that to the desk. Every quote's price is unique within a cycle,
so an order's price names its quote: latency = order received − quote sent (tick to trade) and
− quote due (corrected for coordinated omission: the harness's own lateness counts). Each
order's hop stamps come from the journal by ClOrdID: wire in (quote sent → the feed's receive
stamp), inside fxpipe (receive → decode → decide → risk → send), wire out (send stamp → the
order's arrival on the acceptor's socket). An order is stamped with the kernel's receive time
of its bytes (SO_TIMESTAMPNS): the venue is Python and shares its core with the journal and the
pacer, so the moment it reads a socket is its own delay, not the desk's; the
harness's delay from arrival to handling an order is its own row. All stamps are the wall
clock (CLOCK_REALTIME), one host.

Throughput (burst): quotes as fast as the kernel takes them (sendmmsg) for a few seconds; what the trader
handled is the Quote events in the journal (the md ring's content) by their receive stamp; the
feed conflates what waits on its socket (one Quote per changed book per read), so the packets
absorbed (sent − lost) are reported too; lost = the kernel's UDP receive-buffer drops over the
window (/proc/net/snmp, host-wide) and the gaps the feed reported. Beside them, like for like with
NautilusTrader's backtest engine: fxpipe's own backtest engine (the same decision stage and a
simulated venue) over the same quotes, each with a strategy that counts them.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import fxpipe.model.events as ev  # noqa: E402
from bench._harness import Results, histogram_from_ns, parse_args, pin  # noqa: E402
from bench._t2t_feed import (  # noqa: E402
    ACCEPTOR_PRIORITY,
    BASE,
    CYCLE,
    PACER_PRIORITY,
    SPREAD,
    TICK,
    QuoteStream,
    latest_with_index,
    make_publisher,
    price_index,
    realtime,
    schedule,
)
from bench._t2t_floor import Floor  # noqa: E402
from bench._t2t_journal import read_desk, stamps_of  # noqa: E402
from bench._t2t_plot import plot_layout  # noqa: E402
from bench._t2t_venue import free_udp_port, make_venue, parse_cost_ns  # noqa: E402
from fxpipe.oms.gateway import VenueLink  # noqa: E402
from fxpipe.runtime.desk import BinaryFeedSpec, DeskSpec  # noqa: E402
from fxpipe.runtime.layout import HostCores, Layout, load  # noqa: E402
from fxpipe.runtime.run import run_desk  # noqa: E402

ECN = 1
LIMITS = """
[global]
max_order_qty = "10000000"
order_rate = 1000000
order_burst = 1000000
max_open_orders = 100000
"""
RATES = (1_000, 10_000, 50_000)
QUICK_RATES = (1_000, 10_000)
HOPS = (("wire in", None, 0), ("receive→decode", 0, 1), ("decode→decide", 1, 2), ("decide→risk", 2, 3),
        ("risk→send", 3, 4), ("wire out", 4, None), ("receive→send", 0, 4))
clock = time.time_ns


def label(rate: int) -> str:
    return f"{rate // 1000}k" if rate % 1000 == 0 else str(rate)


def extra_args(p) -> None:
    p.add_argument("--layouts", default="fused,compact,pinned",
                   help="layouts to run, in order (plots: tick_to_trade-LAYOUT.png beside --plot)")
    p.add_argument("--rates", help="quotes/s of the paced phases, comma separated (default 1k,10k,50k; quick 1k,10k)")
    p.add_argument("--seconds", type=float, help="each paced phase (default 10; quick 3)")
    p.add_argument("--burst-seconds", type=float, help="the throughput burst (default 5; quick 2)")
    p.add_argument("--every", type=int, default=10, help="the strategy orders on every Nth quote")
    p.add_argument("--no-peer", action="store_true", help="skip NautilusTrader")
    p.add_argument("--no-floor", action="store_true", help="skip the floor (the harness and wire with an echo)")
    p.add_argument("--oms-fsync", help="the oms write-ahead journal's fsync policy (default: the desk's)")
    p.add_argument("--pacer-fixed-spin", action="store_true",
                   help="the pacer spins a tenth of the interval at most (20 us) before each quote, instead of "
                        "as long as its own wake-ups are late (up to a fifth): less of the core it shares with "
                        "the venue and the journal, quotes late where the host's timer wakes threads late")


# --- the harness -----------------------------------------------------------------------------------

class Harness:
    """The publisher and the venue. While the desk comes up, both are driven from one loop on the
    bench's thread (`block`: waiting in epoll, else spinning and yielding the core to the journal
    whenever it has work). The measured phases are sent by the C pacer on a thread of its own
    (QuoteStream), SCHED_FIFO where permitted, while this thread answers the orders, itself
    SCHED_FIFO below the pacer unless the core is shared with a trading stage (`block`)."""

    def __init__(self, work: Path, block: bool, follow_wake_ups: bool = True):
        self.engine, self.venue, self.fix_port = make_venue(work)
        self.follow_wake_ups = follow_wake_ups
        self.feed_port = free_udp_port()
        self.pub = make_publisher(self.feed_port)
        self.block = block
        self.engine.wait = "block" if block else "spin"
        self.g = 0                   # quotes published so far (the next one's number)
        self._next_snap = 0
        self.pids: dict[str, int] = {}   # the desk's processes, for their CPU share per phase

    def service(self, timeout_s: float = 0.0) -> None:
        if self.block:
            self.engine.poll(timeout_s)
        else:
            self.engine.poll(0.0)
            os.sched_yield()         # spinning, but the journal on this core runs when it has work
        now = clock()
        if now >= self._next_snap:
            self.pub.on_readable(now)
            self.pub.heartbeat(now)
            self._next_snap = now + 1_000_000

    def idle(self, seconds: float) -> None:
        end = clock() + int(seconds * 1e9)
        while clock() < end:
            self.service(0.001)

    def settle(self, at_least_s: float, quiet_s: float = 0.5, at_most_s: float = 60.0) -> float:
        """After a phase: the venue served for at least at_least_s, then until no order has come
        for quiet_s (the desk has worked off what the phase left it, so the next phase, or the
        burst, starts from a quiet desk and this phase keeps its late orders), at most
        at_most_s. Returns the seconds it took."""
        start = time.monotonic()
        self.idle(at_least_s)
        n, last = len(self.venue.orders), time.monotonic()
        while time.monotonic() - start < at_most_s:
            self.service(0.001)
            if len(self.venue.orders) != n:
                n, last = len(self.venue.orders), time.monotonic()
            elif time.monotonic() - last >= quiet_s:
                break
        return time.monotonic() - start

    def warm_up(self, timeout_s: float = 60.0) -> None:
        """Quotes at 1k/s until the order session is logged on, the feed has its snapshot and
        orders come back: the whole path is up."""
        end = time.monotonic() + timeout_s
        step = 1_000_000
        due = clock()
        while time.monotonic() < end:
            if clock() >= due:
                self.pub.quote(self.g)
                self.g += 1
                due += step
            self.service(0.0005)
            if self.venue.logged_on and self.pub.snapshots_served and len(self.venue.orders) >= 5:
                return
        raise RuntimeError(f"the desk did not come up within {timeout_s} s: logged on {self.venue.logged_on}, "
                           f"snapshots served {self.pub.snapshots_served}, orders {len(self.venue.orders)}")

    def paced(self, rate: int, seconds: float, drain_s: float = 0.3) -> dict:
        due = schedule(rate, seconds)
        n = len(due)
        sent = np.zeros(n, dtype=np.int64)
        g0 = self.g
        first_order = len(self.venue.orders)
        cpu0, w0, faults0 = schedstat(self.pids), clock(), page_faults(self.pids)
        switches0 = context_switches(self.pids)
        stream = QuoteStream(self.pub, g0)
        # sharing its core with a trading stage (compact), the harness must not take it from
        # that stage: the pacer sleeps to each due time without spinning and the venue runs in
        # the normal class
        stream.paced(due, sent, PACER_PRIORITY, spin=not self.block, follow_wake_ups=self.follow_wake_ups)
        self._serve(stream, priority=0 if self.block else ACCEPTOR_PRIORITY)
        pacer = stream.done()
        self.g = g0 + n
        cpu = cpu_share(cpu0, schedstat(self.pids), clock() - w0)
        faults1 = page_faults(self.pids)
        faults = {k: faults1[k] - faults0[k] for k in faults0 if k in faults1}
        switches1 = context_switches(self.pids)
        switches = {k: (switches1[k][0] - v[0], switches1[k][1] - v[1]) for k, v in switches0.items() if k in switches1}
        settled = self.settle(drain_s)
        return {"rate": rate, "g0": g0, "cpu": cpu, "faults": faults, "switches": switches, "due": due,
                "sent": sent, "pacer": pacer,
                "orders": self.venue.orders.arrays(first_order), "settled_s": settled}

    def burst(self, seconds: float, drain_s: float = 0.5) -> dict:
        drops0 = udp_rcvbuf_errors()
        stream = QuoteStream(self.pub, self.g)
        stream.burst(seconds)
        self._serve(stream, priority=0)
        r = stream.done()
        self.g += r["sent"]
        self.idle(drain_s)
        return {"t0": r["t0"], "t1": r["t1"], "sent": r["sent"] - r["lost"], "refused": r["lost"],
                "drops": udp_rcvbuf_errors() - drops0}

    def _serve(self, stream: QuoteStream, priority: int = ACCEPTOR_PRIORITY) -> None:
        """While the pacer sends: orders answered as they come (this thread waits in epoll, so
        the core is the pacer's and the journal's when no order is in), snapshot requests served
        from the state of the last quote sent."""
        wait = self.engine.wait
        self.engine.wait = "block"
        policy = realtime(priority) if priority else None
        try:
            while stream.running():
                self.engine.poll(0.001)
                now = clock()
                if now >= self._next_snap:
                    stream.sync(now)
                    self.pub.on_readable(now)
                    self._next_snap = now + 1_000_000
        finally:
            self.engine.wait = wait
            if policy is not None:
                os.sched_setscheduler(0, *policy)

    def close(self) -> None:
        try:
            self.engine.stop(1.0)
        finally:
            self.pub.close()


def schedstat(pids: dict[str, int]) -> dict[str, tuple[int, int]]:
    """name -> (ns on a CPU, ns runnable but waiting for one) of each process so far."""
    out = {}
    for name, pid in pids.items():
        try:
            on, wait, _ = Path(f"/proc/{pid}/schedstat").read_text().split()
            out[name] = (int(on), int(wait))
        except (OSError, ValueError):
            pass
    return out


def context_switches(pids: dict[str, int]) -> dict[str, tuple[int, int]]:
    """name -> (times it blocked in the kernel, times it was preempted) of each process's main
    thread so far. A spinning trading stage never sleeps of its own accord, so the first counts
    its waits on a disk or a lock; the second counts what took its core from it (a kernel worker,
    an interrupt's thread, another process), each a stall of tens of microseconds to whatever
    order was being made then."""
    out = {}
    for name, pid in pids.items():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            out[name] = (int(fields["voluntary_ctxt_switches"]), int(fields["nonvoluntary_ctxt_switches"]))
        except (OSError, ValueError, KeyError):
            pass
    return out


def page_faults(pids: dict[str, int]) -> dict[str, int]:
    """name -> page faults (minor and major) of each process so far: a first write to a page of a
    mapped journal or store costs a fault, on the order path when it falls there."""
    out = {}
    for name, pid in pids.items():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[name] = int(fields[7]) + int(fields[9])     # minflt, majflt (fields 10 and 12)
        except (OSError, ValueError, IndexError):
            pass
    return out


def cpu_share(a: dict, b: dict, wall_ns: int) -> dict[str, tuple[float, float]]:
    """name -> (share of the wall time on a CPU, share runnable but waiting for one)."""
    return {k: ((b[k][0] - a[k][0]) / wall_ns, (b[k][1] - a[k][1]) / wall_ns) for k in a if k in b and wall_ns > 0}


def udp_rcvbuf_errors() -> int:
    """The kernel's UDP receive-buffer drops so far (host-wide; -1 where not readable)."""
    try:
        lines = [ln.split() for ln in Path("/proc/net/snmp").read_text().splitlines() if ln.startswith("Udp:")]
        return int(lines[1][lines[0].index("RcvbufErrors")])
    except (OSError, ValueError, IndexError):
        return -1


# --- one layout ------------------------------------------------------------------------------------

def desk_for(work: Path, h: Harness, every: int, oms_fsync: str | None = None) -> DeskSpec:
    strategy = {"strategy": "bench._t2t_strategy:EveryNthQuote", "strategy_id": 1, "venue_id": ECN,
                "params": {"every": every}}
    return DeskSpec(run_dir=work / "run", strategies=[strategy],
                    venues=[VenueLink(ECN, h.fix_port, "ECN1", kind="ecn")],
                    binary_feeds=[BinaryFeedSpec(1, ECN, h.feed_port, "127.0.0.1", h.pub.snapshot_port)],
                    limits_text=LIMITS, reset_on_logon=True,
                    **({"oms_fsync": oms_fsync} if oms_fsync else {}))


def run_layout(layout: Layout, work: Path, rates, seconds: float, burst_s: float, every: int,
               oms_fsync: str | None = None, follow_wake_ups: bool = True) -> dict:
    journal_core = layout.process_of("journal").core
    shares = any(p.core == journal_core and "journal" not in p.stages for p in layout.processes.values())
    pin(journal_core)
    h = Harness(work, block=shares, follow_wake_ups=follow_wake_ups)
    desk = desk_for(work, h, every, oms_fsync)
    stop = threading.Event()
    started = threading.Event()
    alarms: list[str] = []
    out: dict = {}

    def on_started(sup) -> None:
        h.pids = {w.spec.name: w.proc.pid for w in sup.workers.values() if w.proc is not None}
        started.set()

    def supervise() -> None:
        try:
            out["summary"] = run_desk(layout, desk, prefix=f"t2t{uuid.uuid4().hex[:8]}", until=stop.is_set,
                                      on_started=on_started, alarm=alarms.append)
        except BaseException as exc:       # noqa: BLE001 - reported by the bench thread
            out["error"] = exc
            started.set()

    t = threading.Thread(target=supervise, name="supervisor", daemon=True)
    t.start()
    phases: list[dict] = []
    burst: dict = {}
    try:
        started.wait(60)
        if "error" in out:
            raise out["error"]
        h.warm_up()
        h.paced(rates[0], min(1.0, seconds))                   # warm: caches, the first orders
        for rate in rates:
            phases.append(h.paced(rate, seconds))
        if burst_s > 0:
            burst = h.burst(burst_s)
    finally:
        stop.set()
        # the supervisor stops the desk (its session logs out) while the venue still answers
        deadline = time.monotonic() + 30
        while t.is_alive() and time.monotonic() < deadline:
            h.service(0.001)
        t.join(5)
        h.close()
    if "error" in out:
        raise out["error"]
    return {"layout": layout.name, "harness_block": shares, "journal_core": journal_core, "phases": phases,
            "burst": burst, "summary": out["summary"], "record": read_desk(desk.journal_dir),
            "sample": h.engine.sample, "alarms": alarms, "other_msgs": dict(h.venue.other),
            "clock_stamps": h.engine.clock_stamps}


# --- figures ---------------------------------------------------------------------------------------

def phase_figures(ph: dict, record) -> dict:
    o = ph["orders"]
    k = price_index(o["side"], o["price_e8"])
    st = stamps_of(record, o["cl_ord_id"])
    # the quote was sent before the desk received it (its journaled stamp), else before the order
    seen = np.where(st[:, 0] > 0, st[:, 0], o["recv_ns"])
    j = latest_with_index(ph["g0"], ph["sent"], seen, k)
    ok = j >= 0
    jj = j[ok]
    recv = o["recv_ns"][ok]
    st = st[ok]
    sent = ph["sent"][jj]
    hops: dict[str, np.ndarray] = {}
    for name, a, b in HOPS:
        ta = sent if a is None else st[:, a]
        tb = recv if b is None else st[:, b]
        good = (ta > 0) & (tb > 0)
        hops[name] = (tb - ta)[good]
    return {"matched": int(ok.sum()), "unmatched": int((~ok).sum()), "journaled": int((st[:, 4] > 0).sum()),
            "t2t": recv - sent, "corrected": recv - ph["due"][jj], "lag": ph["sent"] - ph["due"],
            "accept": (o["deliver_ns"] - o["recv_ns"])[ok], "hops": hops, "recv": recv}


def add_rows(res: Results, name: str, figs: dict, ph: dict, seconds: float) -> dict:
    key = f"t2t_{name}_{label(ph['rate'])}"
    res.add("fxpipe", f"{key}_orders", "count", figs["matched"])
    if figs["unmatched"]:
        res.add("fxpipe", f"{key}_orders_unmatched", "count", figs["unmatched"])
    sent_rate = len(ph["sent"]) / max(1e-9, (ph["sent"][-1] - ph["sent"][0]) / 1e9) if len(ph["sent"]) > 1 else 0
    res.add("harness", f"{key}_quotes_per_s_sent", "quotes/s", round(sent_rate))
    hists = {}
    for what, suffix in (("t2t", ""), ("corrected", "_corrected")):
        v = figs[what]
        if not len(v):
            res.add("fxpipe", f"{key}{suffix}", "text", "no orders matched")
            continue
        hist = histogram_from_ns(np.maximum(v, 1))
        hists[what] = hist
        for lab, q in (("p50", 50.0), ("p99", 99.0), ("p99.9", 99.9)):
            res.add("fxpipe", f"{key}{suffix}_{lab}", "us", round(hist.get_value_at_percentile(q) / 1e3, 2))
        res.add("fxpipe", f"{key}{suffix}_max", "us", round(hist.get_max_value() / 1e3, 2))
    for name_, v in figs["hops"].items():
        if len(v):
            hv = histogram_from_ns(np.maximum(v, 1))
            slug = name_.replace("→", "_").replace(" ", "_")
            res.add("fxpipe", f"{key}_hop_{slug}_p50", "us", round(hv.get_value_at_percentile(50) / 1e3, 2))
            res.add("fxpipe", f"{key}_hop_{slug}_p99", "us", round(hv.get_value_at_percentile(99) / 1e3, 2))
            backwards = int(np.count_nonzero(v < 0))
            if backwards:
                # two stamps out of order: the histogram counts them as 1 ns; say how many
                res.add("fxpipe", f"{key}_hop_{slug}_ran_backwards", "count", backwards)
    for proc, (on, wait) in sorted(ph.get("cpu", {}).items()):
        res.add("host", f"{key}_{proc}_on_cpu", "%", round(100 * on, 1))
        res.add("host", f"{key}_{proc}_waiting_for_cpu", "%", round(100 * wait, 1))
    for proc, n in sorted(ph.get("faults", {}).items()):
        res.add("host", f"{key}_{proc}_page_faults", "count", n)
    for proc, (blocked, preempted) in sorted(ph.get("switches", {}).items()):
        res.add("host", f"{key}_{proc}_blocked", "count", blocked)
        res.add("host", f"{key}_{proc}_preempted", "count", preempted)
    lag = histogram_from_ns(np.maximum(figs["lag"], 1))
    res.add("harness", f"{key}_send_lag_p50", "us", round(lag.get_value_at_percentile(50) / 1e3, 2))
    res.add("harness", f"{key}_send_lag_p99", "us", round(lag.get_value_at_percentile(99) / 1e3, 2))
    if "settled_s" in ph:
        res.add("harness", f"{key}_desk_quiet_after", "s", round(ph["settled_s"], 2))
    pacer = ph.get("pacer", {})
    if pacer:
        res.add("harness", f"{key}_pacer_scheduling", "text", "SCHED_FIFO" if pacer["fifo"] else "SCHED_OTHER")
        res.add("harness", f"{key}_pacer_spin_at_end", "us", round(pacer["spin_ns"] / 1000, 2))
        res.add("harness", f"{key}_pacer_wake_late_max", "us", round(pacer["wake_late_max_ns"] / 1000, 2))
        if pacer["lost"]:
            res.add("harness", f"{key}_quotes_refused_by_the_kernel", "count", pacer["lost"])
    if len(figs["accept"]):
        acc = histogram_from_ns(np.maximum(figs["accept"], 1))
        res.add("harness", f"{key}_acceptor_recv_to_delivery_p50", "us", round(acc.get_value_at_percentile(50) / 1e3, 2))
    return hists


def burst_rows(res: Results, name: str, b: dict, record) -> float:
    if not b:
        return 0.0
    window = (b["t1"] - b["t0"]) / 1e9
    q = record.quote_recv_ns
    handled = int(np.count_nonzero((q >= b["t0"]) & (q <= b["t1"])))
    gaps = int(np.count_nonzero((record.gap_ns >= b["t0"]) & (record.gap_ns <= b["t1"] + 500_000_000)))
    key = f"burst_{name}"
    res.add("harness", f"{key}_quotes_per_s_sent", "quotes/s", round(b["sent"] / window))
    if b.get("refused"):
        res.add("harness", f"{key}_quotes_refused_by_the_kernel", "count", b["refused"])
    res.add("fxpipe", f"{key}_quote_events_per_s", "quotes/s", round(handled / window))
    lost = b["drops"]
    res.add("fxpipe", f"{key}_lost_at_socket", "packets", lost if lost >= 0 else "n/a")
    res.add("fxpipe", f"{key}_feed_gaps", "count", gaps)
    absorbed = (b["sent"] - max(lost, 0)) / window
    res.add("fxpipe", f"{key}_updates_absorbed_per_s", "quotes/s", round(absorbed))
    return handled / window


def nautilus_row(res: Results, n: int) -> float | None:
    from bench.positions import nautilus_worker

    out, why = nautilus_worker("_t2t_nautilus.py", tuple(str(v) for v in (n, BASE, TICK, SPREAD, CYCLE)))
    if out is None:
        res.add("NautilusTrader", "backtest_quotes_per_s", "text", why)
        return None
    res.add(f"NautilusTrader {out['version']}", "backtest_quotes_per_s", "quotes/s", round(out["quotes_per_s"]))
    res.add(f"NautilusTrader {out['version']}", "backtest_quotes", "count", out["quotes"])
    return float(out["quotes_per_s"])


def backtest_row(res: Results, n: int) -> float:
    """fxpipe's backtest engine (the decision stage and its simulated venue, one process) over the
    quotes NautilusTrader's row uses, with a strategy that counts them, as NautilusTrader's does:
    the like-for-like figure beside the live pipeline's. The quotes are made before the clock
    starts, as NautilusTrader's ticks are; a warm-up run of 2,000 quotes goes first, as there."""
    from fxpipe.runtime.backtest import run_backtest
    from fxpipe.stages.decision import DecisionStage

    def quotes(count: int) -> list[bytes]:
        q = ev.empty(ev.EventType.QUOTE, count)
        i = np.arange(count, dtype=np.int64)
        ask = BASE + (i % CYCLE) * TICK
        q["venue_id"], q["instrument_id"] = ECN, 1
        q["ask_px_e8"], q["bid_px_e8"] = ask, ask - SPREAD
        q["ask_qty_e2"] = q["bid_qty_e2"] = 1_000_000_00
        q["ts_receive_ns"], q["sequence"] = 1_000_000 * (i + 1), i + 1
        rows = q.view(np.uint8).reshape(count, -1)
        return [r.tobytes() for r in rows]

    spec = [{"strategy": "bench._t2t_strategy:CountQuotes", "strategy_id": 1, "venue_id": ECN}]
    run_backtest(DecisionStage(spec), quotes(2_000))
    data = quotes(n)
    stage = DecisionStage(spec)
    t0 = time.perf_counter_ns()
    out = run_backtest(stage, data)
    elapsed = time.perf_counter_ns() - t0
    if out.quotes != n or stage.strategy(1).seen != n:
        raise RuntimeError(f"the backtest saw {stage.strategy(1).seen} of {n} quotes")
    rate = n / (elapsed / 1e9)
    res.add("fxpipe", "backtest_quotes_per_s", "quotes/s", round(rate))
    res.add("fxpipe", "backtest_quotes", "count", n)
    return rate


# --- main --------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    args = parse_args("tick_to_trade", "tick to trade on the wire per layout (quote on the feed socket → "
                      "NewOrderSingle off the oms socket); quotes/s sustained vs NautilusTrader", argv, extra_args)
    rates = tuple(int(float(r)) for r in args.rates.split(",")) if args.rates else (QUICK_RATES if args.quick else RATES)
    seconds = args.seconds if args.seconds is not None else (3.0 if args.quick else 10.0)
    burst_s = args.burst_seconds if args.burst_seconds is not None else (2.0 if args.quick else 5.0)
    host = HostCores.read()
    res = Results("tick_to_trade")
    res.notes.append(f"strategy: an IOC on every {args.every}th quote at its own price; rates {rates} quotes/s, "
                     f"{seconds} s each; burst {burst_s} s; stamps: quote right before the pacer's send(), order "
                     f"at the kernel's receive time on the acceptor's socket; corrected = from the quote's "
                     f"scheduled time")
    base_affinity = os.sched_getaffinity(0)
    load0 = os.getloadavg()
    runs: dict[str, dict] = {}
    extra: dict = {"hop_percentiles": {}, "plots": {}}
    burst_fused = 0.0
    for name in args.layouts.split(","):
        if name == "pinned" and len(host.allowed) < 4:
            res.add("fxpipe", "t2t_pinned", "text", f"not run: needs 4 cores ({len(host.allowed)} allowed)")
            continue
        layout = load(name, host)
        work = Path(tempfile.mkdtemp(prefix=f"t2t-{name}-"))
        try:
            run = run_layout(layout, work, rates, seconds, burst_s, args.every, args.oms_fsync,
                             not args.pacer_fixed_spin)
        finally:
            os.sched_setaffinity(0, base_affinity)
            shutil.rmtree(work, ignore_errors=True)
        runs[name] = run
        series = {}
        for ph in run["phases"]:
            figs = phase_figures(ph, run["record"])
            hists = add_rows(res, name, figs, ph, seconds)
            series[label(ph["rate"])] = (figs, hists)
        rate = burst_rows(res, name, run["burst"], run["record"])
        res.add("harness", f"{name}_reads_stamped_by_the_harness_clock", "count", run["clock_stamps"])
        if name == "fused":
            burst_fused = rate
        extra["hop_percentiles"][name] = run["summary"].hop_percentiles()
        if run["alarms"]:
            res.notes.append(f"{name}: supervisor alarms: {run['alarms'][:5]}")
        res.notes.append(f"{name}: harness pinned to core {run['journal_core']} "
                         f"({'blocking' if run['harness_block'] else 'spinning'}); summary: "
                         + run["summary"].text().splitlines()[1])
        path = str(Path(args.plot).with_name(f"tick_to_trade-{name}.png"))
        if plot_layout(path, name, series):
            extra["plots"][name] = path
    if not args.no_floor:
        floor_rows(res, host, rates, seconds, args.every)
    sample = next((r["sample"] for r in runs.values() if r["sample"]), [])
    costs = parse_cost_ns(sample) if sample else []
    if len(costs):
        cost = histogram_from_ns(costs)
        res.add("harness", "acceptor_parse_NewOrderSingle_p50", "us", round(cost.get_value_at_percentile(50) / 1e3, 2))
    n_peer = 20_000 if args.quick else 100_000
    backtest = backtest_row(res, n_peer)
    if not args.no_peer:
        naut = nautilus_row(res, n_peer)
        if naut:
            res.add("ratio", "fxpipe backtest quotes/s / NautilusTrader backtest quotes/s (same quotes, a "
                    "strategy that counts them)", "x", round(backtest / naut, 2))
        if naut and burst_fused:
            res.add("ratio", "fxpipe fused quote events/s (burst, strategy on) / NautilusTrader backtest quotes/s",
                    "x", round(burst_fused / naut, 2))
    targets(res, rates)
    res.notes.append("load average at the start {:.1f} {:.1f} {:.1f}, at the end {:.1f} {:.1f} {:.1f}".format(
        *load0, *os.getloadavg()))
    res.finish(args)
    if extra["plots"]:
        print("plots: " + ", ".join(extra["plots"].values()))
    res.write(args.json, extra)
    return 0


def floor_rows(res: Results, host: HostCores, rates, seconds: float, every: int) -> None:
    """The same harness and wire with an echo in place of the desk (bench/_t2t_floor.py), on the
    cores the fused layout uses: the trader's for the echo, the journal's for the harness."""
    layout = load("fused", host)
    base = os.sched_getaffinity(0)
    pin(layout.process_of("journal").core)
    floor = Floor(layout.process_of("feed").core, every)
    try:
        floor.run(rates[0], min(1.0, seconds))                  # warm
        for rate in rates:
            ph = floor.run(rate, seconds)
            key = f"t2t_floor_{label(rate)}"
            res.add("floor", f"{key}_echoed", "count", len(ph["recv"]))
            for what, start in (("", ph["sent"]), ("_corrected", ph["due"])):
                v = ph["recv"] - start
                if not len(v):
                    continue
                hist = histogram_from_ns(np.maximum(v, 1))
                for lab, q in (("p50", 50.0), ("p99", 99.0), ("p99.9", 99.9)):
                    res.add("floor", f"{key}{what}_{lab}", "us", round(hist.get_value_at_percentile(q) / 1e3, 2))
        res.add("floor", "reads_stamped_by_the_harness_clock", "count", floor.clock_stamps)
    finally:
        floor.close()
        os.sched_setaffinity(0, base)


def targets(res: Results, rates) -> None:
    p50 = res.value("fxpipe", "t2t_fused_10k_p50")
    p99c = res.value("fxpipe", "t2t_fused_10k_corrected_p99")
    floor50 = res.value("floor", "t2t_floor_10k_p50")
    if isinstance(p50, float) and isinstance(floor50, float) and floor50 > 0:
        res.add("ratio", "fused 10k tick-to-trade p50 / the floor's p50 (harness and wire, no desk)", "x",
                round(p50 / floor50, 2))
    if isinstance(p50, float) and isinstance(p99c, float):
        res.add("target", "fused 10k p50 <= 20 us", "text", f"{'met' if p50 <= 20 else 'missed'} ({p50} us)")
        res.add("target", "fused 10k corrected p99 <= 3x p50", "text",
                f"{'met' if p99c <= 3 * p50 else 'missed'} ({p99c / p50:.1f}x)")
    # both ways of counting, each its own row: the engines like for like (the same quotes, the
    # same counting strategy), and the live desk's Quote events to its strategy under a burst
    # (the feed conflates what waits on its socket, so that counts books seen, not updates)
    for start, how in (("fxpipe backtest quotes/s", "backtest engines, like for like"),
                       ("fxpipe fused quote events/s", "live desk, Quote events to the strategy in a burst")):
        ratio = [r for r in res.rows if r["system"] == "ratio" and r["metric"].startswith(start)]
        if ratio:
            v = ratio[-1]["value"]
            res.add("target", f"quotes/s >= 3x NautilusTrader ({how})", "text",
                    f"{'met' if v >= 3 else 'missed'} ({v}x)")


if __name__ == "__main__":
    raise SystemExit(main())
