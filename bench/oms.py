"""OMS benchmark: what one order lifecycle costs, in the order book alone and in the whole oms
stage, at C level and through the Python API; orders/s sustained against the venue simulator
over loopback FIX; and NautilusTrader's backtest engine as the peer, in the same run.

    book only:  OrderIntent ─book_new_order─► ack ─book_apply_report─► fill + delta
    oms stage:  OrderIntent ─risk─► book ─► NewOrderSingle bytes (FIX encode)
                ExecutionReport bytes ─parse─► OrderUpdate + Fill ─► book ─► delta ─► position ─► risk
    live:       OrderGateway ──FIX 4.2 over loopback──► `fxpipe venue` (ECN), market IOC orders
    peer:       NautilusTrader BacktestEngine, quotes with one market order per 100 vs none

The C-level stage loop (fxpipe.oms.stageloops) runs every step through the C APIs the stage's
hot path uses; the Python path is OmsStage.on_event with the venue adapter's encode and the
FIX bridge's parse around it. The NautilusTrader figure is the extra run time per order of its
backtest engine (order, risk, matching, fill, position, portfolio), measured in its own venv.
"""
from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._harness import Results, histogram_from_ns, parse_args, pick_cores, pin  # noqa: E402
from bench._oms_stage import live_orders_per_s, nautilus_peer, stage_c_level, stage_python  # noqa: E402
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
    args = parse_args("oms", "OMS: cost of an order lifecycle (book, whole stage; C level and Python "
                      "API), orders/s over loopback FIX, NautilusTrader's backtest engine", argv)
    n = 50_000 if args.quick else 500_000
    n_stage = 20_000 if args.quick else 200_000
    core = pick_cores(args.cores, 1)[0]
    pin(core)
    res = Results("oms")
    res.notes.append(f"book: {n} lifecycles (new order, ack, full fill); stage: {n_stage} lifecycles "
                     f"(intent, risk, book, NewOrderSingle encode; ExecutionReport parse, book, position, "
                     f"risk); pinned to core {core}; gc disabled in the measured loops")
    gc.collect()
    gc.disable()
    try:
        c_mean = c_level(res, n)
        py_mean = python_api(res, n)
        sc_mean = stage_c_level(res, n_stage)
        sp_mean = stage_python(res, n_stage // 10)
    finally:
        gc.enable()
    res.add("ratio", "book: Python API / C level, lifecycle mean", "x", round(py_mean / c_mean, 2))
    res.add("ratio", "stage: Python API / C level, lifecycle mean", "x", round(sp_mean / sc_mean, 2))
    live_orders_per_s(res, 500 if args.quick else 3000)
    naut = nautilus_peer(res, 20_000 if args.quick else 100_000)
    if naut is not None:
        res.add("ratio", "NautilusTrader extra per order / fxpipe stage C lifecycle", "x", round(naut / sc_mean, 1))
        res.add("ratio", "NautilusTrader extra per order / fxpipe stage Python lifecycle", "x", round(naut / sp_mean, 1))
    res.finish(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
