"""OMS order-book benchmark (first part): what one order lifecycle costs in the order book, at
C level (the oms stage's Cython path: cimport of book / intents / reports) and through the
Python API (fxpipe.oms.OrderBook), in the same run.

    OrderIntent (new) ──book_new_order────► IntentOutcome: checks, ClOrdID, request to send
    OrderUpdate (ack) ──book_apply_report─► ReportOutcome: the order's view
    OrderUpdate + Fill ─book_apply_report─► ReportOutcome: the order's view + position delta

Each lifecycle is a new order on a book that keeps growing, as a trading day's does. Per-step
latencies come from a run that reads the clock around each step; the per-lifecycle mean from
a second run with no clock read inside the loop.

Not measured here yet, on purpose: the FIX encode of the NewOrderSingle and the parse of the
ExecutionReport, pre-trade risk and the position update, orders/s against the venue simulator
over loopback FIX, and NautilusTrader's backtest engine as the peer. Those belong to the OMS
stage that integrates this book with the codec, risk, positions and the venue adapters, and
join this benchmark then; no figure for them is printed before it can be measured.
"""
from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._harness import Results, histogram_from_ns, parse_args, pick_cores, pin  # noqa: E402
from fxpipe.oms import CL_ORD_ID_SPAN, Disposition, OrderBook, Verdict  # noqa: E402
from fxpipe.oms.benchloops import c_lifecycles, scripted_events  # noqa: E402


def c_level(res: Results, n: int) -> float:
    steps = {k: np.zeros(n, dtype=np.int64) for k in ("intent", "ack", "fill")}
    mean = c_lifecycles(n, steps["intent"], steps["ack"], steps["fill"])
    for what, ns in steps.items():
        res.add_latency("fxpipe C level", f"{what} step", histogram_from_ns(ns))
    res.add("fxpipe C level", "lifecycle mean (no clock in loop)", "ns", round(mean, 1))
    return mean


def python_api(res: Results, n: int) -> float:
    events = [scripted_events(i, CL_ORD_ID_SPAN + i + 1) for i in range(n)]
    steps = {k: np.zeros(n, dtype=np.int64) for k in ("intent", "ack", "fill")}
    clock = time.perf_counter_ns
    book = OrderBook(1, 0, n + 16)
    for i, (it, ack, done, fill) in enumerate(events):
        t0 = clock()
        r = book.new_order(it)
        t1 = clock()
        a = book.apply_report(ack)
        t2 = clock()
        f = book.apply_report(done, fill)
        t3 = clock()
        steps["intent"][i], steps["ack"][i], steps["fill"][i] = t1 - t0, t2 - t1, t3 - t2
    if r.verdict != Verdict.SEND or a.disposition != Disposition.APPLIED or len(f.fills) != 1:
        raise RuntimeError("the Python API run did not follow the script")
    for what, ns in steps.items():
        res.add_latency("fxpipe Python API", f"{what} step", histogram_from_ns(ns))
    book = OrderBook(1, 0, n + 16)
    t0 = clock()
    for it, ack, done, fill in events:
        book.new_order(it)
        book.apply_report(ack)
        book.apply_report(done, fill)
    mean = (clock() - t0) / n
    res.add("fxpipe Python API", "lifecycle mean (no clock in loop)", "ns", round(mean, 1))
    return mean


def main(argv=None) -> int:
    args = parse_args("oms", "OMS order book: cost of an order lifecycle, C level and Python API", argv)
    n = 50_000 if args.quick else 500_000
    core = pick_cores(args.cores, 1)[0]
    pin(core)
    res = Results("oms")
    res.notes.append(f"{n} lifecycles (new order, ack, full fill) per run, one new order each, "
                     f"pinned to core {core}; gc disabled in the measured loops")
    res.notes.append("not yet in this benchmark: FIX encode/parse, risk, positions, orders/s over "
                     "loopback FIX and the NautilusTrader peer (they come with the OMS stage)")
    gc.collect()
    gc.disable()
    try:
        c_mean = c_level(res, n)
        py_mean = python_api(res, n)
    finally:
        gc.enable()
    res.add("ratio", "Python API / C level, lifecycle mean", "x", round(py_mean / c_mean, 2))
    res.finish(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
