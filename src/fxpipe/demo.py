"""`fxpipe demo`: a ring pipeline between pinned processes, measured.

    feed ──md ring──► audit ──(gates)──► decision ──intent ring──► oms

The feed publishes a seeded stream of EUR/USD Quote events (exact price_e8 integers) into the
md ring; `audit` checks every quote (sequence gaps, crossed or off-tick prices) before
`decision` may read it (the dependency graph the journal will use); `decision` answers each
quote with an OrderIntent (a limit buy at the bid: the demo's stand-in for a strategy);
`oms` takes the intents and measures each hop from the timestamps the events carry. First a paced phase (latency), then a burst (throughput). Layout `compact` shares two
cores with blocking (futex) waits; `pinned` gives each stage its own core with busy-spin waits.
"""
from __future__ import annotations

import gc
import multiprocessing as mp
import os
import struct
import time

import numpy as np

import fxpipe.model.events as ev
from fxpipe.cli import CliError

QUOTE = ev.dtype_for(ev.EventType.QUOTE)
INTENT = ev.dtype_for(ev.EventType.ORDER_INTENT)
PIPETTE_E8 = 1000          # EUR/USD tick: 0.00001
EURUSD, DEMO_VENUE = 1, 1
BURST = 1                  # quote_cond marks burst quotes: decision batches them

STAGES = ("feed", "audit", "decision", "oms")


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the embedded demo pipeline and print what it measured")
    p.add_argument("--layout", choices=("auto", "compact", "pinned"), default="auto",
                   help="compact: 2 cores, blocking waits; pinned: a core per stage, busy-spin (default: pinned if >= 4 cores)")
    p.add_argument("--quotes", type=int, default=20_000, help="quotes in the paced latency phase")
    p.add_argument("--interval-us", type=float, default=None,
                   help="gap between paced quotes (default 20 pinned, 50 compact: two Python stages and "
                        "their wake-ups share a core there)")
    p.add_argument("--burst", type=int, default=400_000, help="quotes in the throughput burst")
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=run_demo)


def plan_layout(layout: str) -> tuple[str, dict[str, int], str]:
    cores = sorted(os.sched_getaffinity(0))
    if layout == "auto":
        layout = "pinned" if len(cores) >= 4 else "compact"
    if layout == "pinned":
        if len(cores) < 4:
            raise CliError(f"layout pinned needs 4 cores, this process may use {len(cores)}: {cores}")
        return layout, dict(zip(STAGES, cores[-4:], strict=True)), "spin"
    a, b = (cores[-2], cores[-1]) if len(cores) >= 2 else (cores[0], cores[0])
    # Two stages share each core: a stage with nothing to do must leave the core to its
    # neighbour at once, so compact waits block on the ring's futex (yield is not enough
    # under CFS: a yielding spinner keeps most of its slice).
    return layout, {"feed": a, "audit": b, "decision": b, "oms": a}, "block"


def _quote_stream(seed: int, n: int, start_seq: int) -> np.ndarray:
    """Seeded EUR/USD random walk in whole pipettes, one pipette either side of the mid."""
    rng = np.random.default_rng(seed + start_seq)
    mid = 108_500_000 + np.cumsum(rng.integers(-2, 3, size=n, dtype=np.int64) * PIPETTE_E8)
    q = ev.empty(ev.EventType.QUOTE, n)
    q["venue_id"] = DEMO_VENUE
    q["instrument_id"] = EURUSD
    q["sequence"] = np.arange(start_seq, start_seq + n)
    q["md_seq"] = q["sequence"]
    q["bid_px_e8"] = mid - PIPETTE_E8
    q["ask_px_e8"] = mid + PIPETTE_E8
    q["bid_qty_e2"] = q["ask_qty_e2"] = 100_000_000   # 1,000,000.00 EUR
    return q


def _bad_quotes(q: np.ndarray) -> int:
    """Crossed or locked, off-tick, or without size: what a desk's md audit refuses."""
    return int(np.count_nonzero((q["bid_px_e8"] >= q["ask_px_e8"]) | (q["bid_px_e8"] % PIPETTE_E8 != 0)
                                | (q["ask_px_e8"] % PIPETTE_E8 != 0) | (q["bid_qty_e2"] <= 0)))


def _offset(dt: np.dtype, name: str) -> int:
    fields = dt.fields
    assert fields is not None  # only called with the structured event dtypes
    return fields[name][1]


def _intents_for(q: np.ndarray, now: int) -> np.ndarray:
    it = ev.empty(ev.EventType.ORDER_INTENT, len(q))
    for f in ("venue_id", "instrument_id", "ts_receive_ns"):
        it[f] = q[f]
    it["sequence"] = it["trigger_seq"] = q["sequence"]
    it["cl_ord_id"] = q["sequence"] + 1
    it["price_e8"] = q["bid_px_e8"]
    it["qty_e2"] = 100_000_000
    it["ts_decide_ns"] = now
    it["action"] = ev.IntentAction.NEW
    it["side"] = ev.Side.BUY
    it["ord_type"] = ev.OrdType.LIMIT
    it["time_in_force"] = ev.TimeInForce.IOC
    return it


def _enter_stage(core: int) -> None:
    """Pin this stage's process and keep the garbage collector off its hot path: everything
    set up so far is frozen out of collection, and no collection runs while it trades."""
    os.sched_setaffinity(0, {core})
    gc.collect()
    gc.freeze()
    gc.disable()


def _feed(names, core, wait, seed, quotes, interval_ns, burst, ready):
    from fxpipe.ring import Ring

    _enter_stage(core)
    md = Ring.attach(names["md"], dtype=QUOTE)
    p = md.producer(wait=wait)
    paced = _quote_stream(seed, quotes, 0)
    burst_q = _quote_stream(seed, burst, quotes)
    burst_q["quote_cond"] = BURST
    ready.wait()
    raw = memoryview(paced.tobytes())
    size, ts_off = QUOTE.itemsize, _offset(QUOTE, "ts_receive_ns")
    buf = bytearray(size)
    t_next = time.perf_counter_ns()
    # Sharing a core (compact), the feed must yield while it paces or the stage beside it
    # cannot run; on its own core (pinned) it spins.
    idle = os.sched_yield if wait != "spin" else (lambda: None)
    for i in range(quotes):
        while time.perf_counter_ns() < t_next:
            idle()
        buf[:] = raw[i * size:(i + 1) * size]
        struct.pack_into("<q", buf, ts_off, time.perf_counter_ns())
        p.send(buf)
        t_next += interval_ns
    t0 = time.perf_counter_ns()
    for lo in range(0, burst, 256):
        chunk = burst_q[lo:lo + 256]
        chunk["ts_receive_ns"] = t0
        p.send_batch(chunk)
    md.close_stream()
    md.close()


def _audit(names, core, wait, out):
    from fxpipe.ring import Ring, RingClosed

    _enter_stage(core)
    md = Ring.attach(names["md"], dtype=QUOTE)
    c = md.consumer("audit", wait=wait)
    expected, bad = 0, 0
    while True:
        try:
            batch = c.read_batch(256)
        except RingClosed:
            break
        seqs = batch["sequence"]
        n = len(seqs)
        if seqs[0] != expected or seqs[n - 1] != expected + n - 1:
            bad += 1
        bad += _bad_quotes(batch)
        expected += n
    c.release()
    out.send({"audited": expected, "audit_errors": bad})
    md.close()


def _decision(names, core, wait):
    from fxpipe.ring import Ring, RingClosed

    _enter_stage(core)
    md = Ring.attach(names["md"], dtype=QUOTE)
    intents = Ring.attach(names["intent"], dtype=INTENT)
    c = md.consumer("decision", wait=wait)
    p = intents.producer(wait=wait)
    # Paced: one quote at a time, fields read and written at fixed offsets (struct), so the
    # Python cost per quote stays around a microsecond. Burst: whole batches, vectorised.
    qbuf = bytearray(QUOTE.itemsize)
    ibuf = bytearray(_intents_for(_quote_stream(0, 1, 0), 0).tobytes())
    q_seq, q_ts, q_bid, q_cond = (_offset(QUOTE, f) for f in ("sequence", "ts_receive_ns", "bid_px_e8", "quote_cond"))
    i_seq, i_trig, i_clid, i_px, i_ts, i_dec = (_offset(INTENT, f) for f in (
        "sequence", "trigger_seq", "cl_ord_id", "price_e8", "ts_receive_ns", "ts_decide_ns"))
    assert QUOTE.fields["quote_cond"][0] == np.uint8
    while True:
        try:
            c.recv_into(qbuf)
        except RingClosed:
            break
        seq = struct.unpack_from("<q", qbuf, q_seq)[0]
        for off in (i_seq, i_trig):
            struct.pack_into("<q", ibuf, off, seq)
        struct.pack_into("<q", ibuf, i_clid, seq + 1)
        struct.pack_into("<q", ibuf, i_px, struct.unpack_from("<q", qbuf, q_bid)[0])
        struct.pack_into("<q", ibuf, i_ts, struct.unpack_from("<q", qbuf, q_ts)[0])
        struct.pack_into("<q", ibuf, i_dec, time.perf_counter_ns())
        p.send(ibuf)
        if qbuf[q_cond] == BURST:
            while True:
                try:
                    quotes = c.read_batch(256)
                except RingClosed:
                    break
                p.send_batch(_intents_for(quotes, time.perf_counter_ns()))
            c.release()
            break
    intents.close_stream()
    md.close()
    intents.close()


def _oms(names, core, wait, quotes, out):
    from fxpipe.ring import Ring, RingClosed

    _enter_stage(core)
    intents = Ring.attach(names["intent"], dtype=INTENT)
    c = intents.consumer("oms", wait=wait)
    hop1 = np.empty(quotes, dtype=np.int64)
    hop2 = np.empty(quotes, dtype=np.int64)
    buf = bytearray(INTENT.itemsize)
    view = np.frombuffer(buf, dtype=INTENT)
    for i in range(quotes):
        c.recv_into(buf)
        now = time.perf_counter_ns()
        hop1[i] = view[0]["ts_decide_ns"] - view[0]["ts_receive_ns"]
        hop2[i] = now - view[0]["ts_decide_ns"]
    got, last_t, t_feed = 0, 0, 0
    while True:
        try:
            batch = c.read_batch(1024)
        except RingClosed:
            break
        if got == 0:
            t_feed = int(batch["ts_receive_ns"][0])
        got += len(batch)
        last_t = time.perf_counter_ns()
    c.release()
    out.send({"hop1": hop1, "hop2": hop2, "burst_got": got, "burst_ns": last_t - t_feed})
    intents.close()


def run_demo(args) -> int:
    from fxpipe.ring import Ring

    layout, cores, wait = plan_layout(args.layout)
    if args.interval_us is None:
        args.interval_us = 20.0 if layout == "pinned" else 50.0
    tag = f"demo{os.getpid()}"
    names = {"md": f"{tag}.md", "intent": f"{tag}.intent"}
    ctx = mp.get_context("fork")
    print(f"fxpipe demo: layout {layout}, waits {wait}, cores {cores}")
    print("  feed --md ring--> audit --gates--> decision --intent ring--> oms")
    blocking = wait == "block"
    md = Ring.create(names["md"], slot_size=ev.SLOT_SIZE, slot_count=4096, dtype=QUOTE, blocking=blocking,
                     consumers=["audit", ("decision", ["audit"])], replace_stale=True)
    intent = Ring.create(names["intent"], slot_size=ev.SLOT_SIZE, slot_count=4096, dtype=INTENT,
                         blocking=blocking, consumers=["oms"], replace_stale=True)
    ready = ctx.Event()
    a_out, a_in = ctx.Pipe(duplex=False)
    o_out, o_in = ctx.Pipe(duplex=False)
    procs = [
        ctx.Process(target=_feed, name="feed", args=(names, cores["feed"], wait, args.seed, args.quotes,
                                                      int(args.interval_us * 1000), args.burst, ready)),
        ctx.Process(target=_audit, name="audit", args=(names, cores["audit"], wait, a_in)),
        ctx.Process(target=_decision, name="decision", args=(names, cores["decision"], wait)),
        ctx.Process(target=_oms, name="oms", args=(names, cores["oms"], wait, args.quotes, o_in)),
    ]
    try:
        for p in procs:
            p.start()
        time.sleep(0.2)  # let every stage attach and pin before the clock starts
        ready.set()
        deadline = time.monotonic() + 120
        if not o_out.poll(max(1, deadline - time.monotonic())):
            raise CliError("the pipeline did not finish within 120 s")
        res = o_out.recv()
        audit = a_out.recv() if a_out.poll(30) else {"audited": -1, "audit_errors": -1}
        status = {n: r.status() for n, r in (("md", md), ("intent", intent))}
        for p in procs:
            p.join(30)
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join(5)
        md.close()
        intent.close()
    _report(args, res, audit, status)
    failed = [p.name for p in procs if p.exitcode != 0]
    if failed or audit["audit_errors"] != 0 or audit["audited"] != args.quotes + args.burst:
        print(f"FAILED: stages {failed or 'ok'}, audit {audit}")
        return 1
    return 0


def _pct(a: np.ndarray) -> str:
    p = np.percentile(a, [50, 99, 99.9]) / 1000.0
    return f"p50 {p[0]:8.2f}  p99 {p[1]:8.2f}  p99.9 {p[2]:8.2f}  max {a.max() / 1000.0:9.2f}"


def _report(args, res, audit, status) -> None:
    hop1, hop2 = res["hop1"], res["hop2"]
    total = hop1 + hop2
    print(f"\npaced phase: {args.quotes} quotes, one every {args.interval_us:g} µs (latency in µs)")
    print(f"  feed -> decision (via audit gate)  {_pct(hop1)}")
    print(f"  decision -> oms                    {_pct(hop2)}")
    print(f"  feed -> oms                        {_pct(total)}")
    rate = res["burst_got"] / (res["burst_ns"] / 1e9) if res["burst_ns"] > 0 else 0.0
    print(f"\nburst phase: {res['burst_got']:,} quotes through 3 stages in {res['burst_ns'] / 1e6:.1f} ms "
          f"= {rate / 1e6:.2f} M quotes/s end to end")
    print(f"audit: {audit['audited']:,} quotes checked, {audit['audit_errors']} errors")
    for name, s in status.items():
        pr = s["producer"]
        print(f"ring {name}: cursor {s['cursor']:,}, back-pressure waits {pr['full_waits']:,} "
              f"({pr['full_wait_s'] * 1000:.1f} ms), consumers "
              + ", ".join(f"{c['name']} seq {c['sequence']:,}" for c in s["consumers"]))
