"""Positions and pre-trade risk benchmark: cost per fill (position + PnL update) and per risk
check, at C level and through the Python API, against NautilusTrader's own Position and
Portfolio applying OrderFilled events and a plain-Python Decimal book, for the same fills, in
the same run.

    fills (numpy Fill events, built before timing)
      ├─► fxpipe PositionEngine.apply_fills   C loop, GIL released      (position, flows, value date)
      ├─► fxpipe apply_fills + PositionUpdate  C loop, the event the oms stage publishes per fill
      ├─► fxpipe PositionEngine.apply + last_position_event   one Python call each per fill
      ├─► plain Python Decimal average-cost book (same exact results, checked)
      └─► NautilusTrader Position.apply, and + Cache + Portfolio.update_position
          (its own venv under bench/out/, Python >= 3.12, nautilus_trader pinned below)

    intents (numpy OrderIntent events) ─► fxpipe RiskEngine.check_intents (C loop) / .check (Python)
        every check enabled: size, notional, worst-case position and currency, gross exposure,
        collar, stale mark, open orders, order-rate buckets (strategy, desk, venue)

Times are thread CPU time, the median of several runs. 1,000,000 distinct fills put the ExecID
index (32 MiB) and the fill history (100 MiB) far out of cache, so each new fill pays a miss;
the same loop over 20,000 fills (all in cache) shows the floor without them. Instructions per
fill and per check come from callgrind (repeatable on a loaded machine), counted over the C
loop alone (the engine is built before the counted section).
"""
from __future__ import annotations

import gc
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._harness import OUT_DIR, Results, parse_args, pick_cores, pin  # noqa: E402
from fxpipe.model import events as ev  # noqa: E402
from fxpipe.model.refdata import load_refdata  # noqa: E402
from fxpipe.positions import PositionEngine  # noqa: E402
from fxpipe.risk import RiskEngine  # noqa: E402

NAUTILUS = "nautilus_trader==1.231.0"
NAUTILUS_VENV = OUT_DIR / "venv-nautilus"
REFDATA = load_refdata()
SYMBOLS = {"EUR/USD": (108_000_000, 5), "USD/JPY": (15_000_000_000, 3)}
T0 = 1_800_000_000_000_000_000
L = ev.RiskLimit


def make_fills(n: int, seed: int = 3) -> np.ndarray:
    """n fills over two strategies and two pairs: adds, reductions, closes and flips."""
    rng = np.random.default_rng(seed)
    f = ev.empty(ev.EventType.FILL, n)
    syms = list(SYMBOLS)
    pick = rng.integers(0, len(syms), n)
    f["instrument_id"] = [REFDATA.instrument(syms[k]).id for k in pick]
    f["venue_id"] = 1
    f["strategy_id"] = rng.integers(1, 3, n)
    f["side"] = np.where(rng.integers(0, 2, n) == 1, int(ev.Side.BUY), int(ev.Side.SELL))
    f["last_qty_e2"] = rng.integers(1, 50, n) * 1_000_000            # 10,000 .. 490,000 units
    base = np.array([SYMBOLS[syms[k]][0] for k in pick], dtype=np.int64)
    tick = np.array([10 ** (8 - SYMBOLS[syms[k]][1]) for k in pick], dtype=np.int64)
    f["last_px_e8"] = base + rng.integers(-2000, 2000, n) * tick
    f["exec_trans_type"] = int(ev.ExecTransType.NEW)
    f["exec_id"] = [f"E{i}".encode() for i in range(n)]
    f["sequence"] = np.arange(1, n + 1)
    f["ts_receive_ns"] = T0 + np.arange(n) * 1000
    return f


def timed(fn, repeat: int) -> float:
    """Median CPU time of this thread over `repeat` runs (seconds). The machine is shared: wall
    time counts the slices other tenants take on the pinned core, CPU time what the code costs
    (both are in the record, see WALL)."""
    cpu, wall = [], []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        t, w = time.thread_time(), time.perf_counter()
        fn()
        cpu.append(time.thread_time() - t)
        wall.append(time.perf_counter() - w)
        gc.enable()
    WALL.append(statistics.median(wall) / max(statistics.median(cpu), 1e-12))
    return statistics.median(cpu)


WALL: list[float] = []   # wall / CPU time of each measurement: how much the shared host got in the way


# --- fxpipe ----------------------------------------------------------------------------------

def fxpipe_c(fills: np.ndarray, with_event: bool, repeat: int = 5) -> tuple[float, PositionEngine]:
    """The C loop over every fill; the engine (its history sized for the session, as the oms
    stage sizes it) is built outside the timed window."""
    out = ev.empty(ev.EventType.POSITION_UPDATE, len(fills)) if with_event else None
    holder = {}
    times = []

    def run():
        pe = PositionEngine(REFDATA, fill_capacity=len(fills))
        gc.disable()
        t = time.thread_time()
        applied, _, bad = pe.apply_fills(fills, out)
        times.append(time.thread_time() - t)
        assert applied == len(fills) and bad == -1
        holder["pe"] = pe
    for _ in range(repeat):
        gc.collect()
        run()
        gc.enable()
    return statistics.median(times), holder["pe"]


def fxpipe_python(fills: np.ndarray) -> float:
    recs = list(fills)
    fill_reason = ev.PositionReason.FILL

    def run():
        pe = PositionEngine(REFDATA)
        apply, event = pe.apply, pe.last_position_event
        for r in recs:
            apply(r)
            event(fill_reason)
    return timed(run, 2)


# --- plain Python Decimal ------------------------------------------------------------------------

class DecimalBooks:
    """Average cost in Decimal, as a Python user would write it: net, cost, realized per book,
    exposure per currency; the cost share a reduction takes is rounded half to even at 1e-10,
    so its results equal fxpipe's exactly (checked)."""

    E10 = Decimal("1e-10")

    def __init__(self):
        self.books: dict[tuple[int, str], list[Decimal]] = {}
        self.exposure: dict[str, Decimal] = {}

    def apply(self, strategy: int, symbol: str, qty: Decimal, px: Decimal) -> None:
        b = self.books.setdefault((strategy, symbol), [Decimal(0), Decimal(0), Decimal(0)])
        net, cost, realized = b
        if net == 0 or (net > 0) == (qty > 0):
            net, cost = net + qty, cost + qty * px
        else:
            closing = net if abs(qty) >= abs(net) else -qty
            removed = cost if closing == net else (cost * closing / net).quantize(self.E10, ROUND_HALF_EVEN)
            realized += closing * px - removed
            cost -= removed
            net -= closing
            rest = qty + closing
            if rest:
                net, cost = net + rest, cost + rest * px
        b[0], b[1], b[2] = net, cost, realized
        base, quote = symbol[:3], symbol[4:]
        self.exposure[base] = self.exposure.get(base, Decimal(0)) + qty
        self.exposure[quote] = self.exposure.get(quote, Decimal(0)) - qty * px


def decimal_rows(fills: np.ndarray) -> list[tuple[int, str, Decimal, Decimal]]:
    names = {REFDATA.instrument(s).id: s for s in SYMBOLS}
    return [(int(f["strategy_id"]), names[int(f["instrument_id"])],
             Decimal(int(f["last_qty_e2"]) * (1 if int(f["side"]) == ev.Side.BUY else -1)).scaleb(-2),
             Decimal(int(f["last_px_e8"])).scaleb(-8)) for f in fills]


def decimal_run(rows) -> tuple[float, DecimalBooks]:
    holder = {}

    def run():
        with localcontext() as ctx:
            ctx.prec = 50
            books = DecimalBooks()
            apply = books.apply
            for r in rows:
                apply(*r)
            holder["b"] = books
    return timed(run, 2), holder["b"]


# --- NautilusTrader ------------------------------------------------------------------------------

def _python_312() -> str | None:
    """A Python >= 3.12 for NautilusTrader's venv (it needs one; fxpipe's venv may be 3.11)."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [shutil.which(name) for name in ("python3.13", "python3.12")]
    candidates += [str(d / "bin" / "python") for d in sorted(pyenv.glob("3.1[23]*"), reverse=True)]
    for py in candidates:
        if py and "shims" not in py and subprocess.run(   # a pyenv shim may name a Python it lacks
                [py, "-c", "import sys, venv; sys.exit(sys.version_info < (3, 12))"], capture_output=True).returncode == 0:
            return py
    return None


def nautilus_python() -> tuple[str | None, str]:
    """The venv's python with NautilusTrader installed (made on first use), or (None, why)."""
    py = NAUTILUS_VENV / "bin" / "python"
    stamp = NAUTILUS_VENV / ".installed"
    if py.exists() and stamp.exists() and stamp.read_text().strip() == NAUTILUS:
        return str(py), ""
    base = _python_312()
    if base is None:
        return None, f"{NAUTILUS} needs Python >= 3.12 and none was found (python3.12/3.13 or pyenv)"
    print(f"== making {NAUTILUS_VENV} with {base} and installing {NAUTILUS} (once)", flush=True)
    shutil.rmtree(NAUTILUS_VENV, ignore_errors=True)
    r = subprocess.run([base, "-m", "venv", str(NAUTILUS_VENV)], capture_output=True, text=True)
    if r.returncode == 0:
        r = subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", NAUTILUS],
                           capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        return None, f"could not install {NAUTILUS}: {(r.stderr or r.stdout).strip().splitlines()[-1:]}"
    stamp.write_text(NAUTILUS + "\n")
    return str(py), ""


def nautilus_worker(script: str, args: tuple[str, ...] = (), stdin: str | None = None) -> tuple[dict | None, str]:
    """Runs bench/SCRIPT under NautilusTrader's Python (FXPIPE_NAUTILUS_PYTHON, else the venv
    made on first use): the JSON of its last output line, or (None, "not available: ..." or
    "failed: ...") for the benchmark's record."""
    py = os.environ.get("FXPIPE_NAUTILUS_PYTHON")
    why = ""
    if not py:
        py, why = nautilus_python()
    if not py:
        return None, f"not available: {why}"
    worker = Path(__file__).resolve().parent / script
    try:
        r = subprocess.run([py, str(worker), *args], input=stdin, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"not available: {exc}"
    if r.returncode != 0:
        return None, f"failed: {r.stderr.strip()[-300:]}"
    return json.loads(r.stdout.strip().splitlines()[-1]), ""


def nautilus_run(fills: np.ndarray) -> tuple[dict | None, str]:
    names = {REFDATA.instrument(s).id: s for s in SYMBOLS}
    lines = "".join(json.dumps({
        "strategy": int(f["strategy_id"]), "symbol": names[int(f["instrument_id"])],
        "side": "buy" if int(f["side"]) == ev.Side.BUY else "sell", "qty": str(int(f["last_qty_e2"]) // 100),
        "px": str(Decimal(int(f["last_px_e8"])).scaleb(-8))}) + "\n" for f in fills)
    return nautilus_worker("_positions_nautilus.py", stdin=lines)


# --- callgrind ----------------------------------------------------------------------------------

CALLGRIND_N = 20_000


def callgrind_counts(n: int = CALLGRIND_N) -> dict[str, int] | str:
    """{section: instructions per fill or check}, or why they could not be counted."""
    from fxpipe.fix import timing
    if not shutil.which("valgrind"):
        return "valgrind not installed (Debian: apt-get install valgrind)"
    if not timing.HAVE_CALLGRIND:
        return "fxpipe was built without valgrind/callgrind.h; rebuild with valgrind installed"
    with tempfile.TemporaryDirectory(prefix="fxpipe-cg-") as tmp:
        out = os.path.join(tmp, "cg.out")
        # one file per thread: only the main thread's count (numpy's helper threads run apart)
        r = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no",
                            "--separate-threads=yes", sys.executable, __file__, "--callgrind-child", str(n)],
                           capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            return f"valgrind failed ({r.returncode}): {r.stderr.strip().splitlines()[-1:]}"
        counts = {}
        for path in Path(tmp).glob("cg.out*-01"):
            text = path.read_text(errors="replace")
            m = re.search(r"^desc: Trigger: Client Request: (.+)$", text, re.M)
            t = re.search(r"^(?:totals|summary): (\d+)", text, re.M)
            if m and t and m.group(1).startswith("fxpipe|"):
                counts[m.group(1).split("|", 1)[1]] = round(int(t.group(1)) / n)
        return counts or "callgrind produced no section dumps"


def callgrind_child(n: int) -> None:
    from fxpipe.fix import timing
    fills = make_fills(n)
    out = ev.empty(ev.EventType.POSITION_UPDATE, n)
    for name, event in (("fill, C level (position + flows)", None),
                        ("fill, C level (+ PositionUpdate with PnL)", out)):
        pe = PositionEngine(REFDATA, fill_capacity=n)
        timing.callgrind_zero()
        pe.apply_fills(fills, event)
        timing.callgrind_dump(f"fxpipe|{name}")
    intents, rout = make_intents(fills), ev.empty(ev.EventType.RISK, n)
    _, risk = risk_setup()
    timing.callgrind_zero()
    risk.check_intents(intents, rout)
    timing.callgrind_dump("fxpipe|risk check, C level (every check enabled)")


# --- risk ---------------------------------------------------------------------------------------

def risk_setup() -> tuple[PositionEngine, RiskEngine]:
    pe = PositionEngine(REFDATA)
    risk = RiskEngine(pe, REFDATA)
    for sym, (px, _) in SYMBOLS.items():
        q = ev.make(ev.EventType.QUOTE, instrument_id=REFDATA.instrument(sym).id, venue_id=1, bid_px_e8=px,
                    ask_px_e8=px, bid_qty_e2=10**8, ask_qty_e2=10**8, quote_cond=1, ts_receive_ns=T0)
        pe.apply(q)
    big = 10**15
    for sid in (0, 1, 2):
        for limit, value in ((L.MAX_ORDER_QTY, big), (L.MAX_ORDER_NOTIONAL, big), (L.MAX_POSITION, big),
                             (L.MAX_GROSS_EXPOSURE, big), (L.PRICE_COLLAR_BPS, 500), (L.STALE_QUOTE_MS, 10**9),
                             (L.ORDER_RATE, 10**9), (L.ORDER_BURST, 10**9), (L.MAX_OPEN_ORDERS, 10**6)):
            risk.set(limit, value, strategy_id=sid)
        for ccy in ("EUR", "USD", "JPY"):
            risk.set(L.MAX_CCY_EXPOSURE, big, strategy_id=sid, ccy=ccy)
    risk.set(L.VENUE_ORDER_RATE, 10**9, venue="ECN1")
    return pe, risk


def make_intents(fills: np.ndarray) -> np.ndarray:
    it = ev.empty(ev.EventType.ORDER_INTENT, len(fills))
    for k in ("instrument_id", "venue_id", "strategy_id", "side", "sequence"):
        it[k] = fills[k]
    it["price_e8"], it["qty_e2"] = fills["last_px_e8"], fills["last_qty_e2"]
    it["cl_ord_id"] = 1 + np.arange(len(fills)) % 1000     # a working set of 1,000 live orders
    it["action"], it["ord_type"] = int(ev.IntentAction.NEW), int(ev.OrdType.LIMIT)
    it["ts_decide_ns"] = T0 + np.arange(len(fills)) * 10
    return it


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 2 and argv[0] == "--callgrind-child":
        callgrind_child(int(argv[1]))
        return
    args = parse_args("positions", __doc__.splitlines()[0], argv)
    pin(pick_cores(args.cores, 1)[0])
    n = 100_000 if args.quick else 1_000_000
    n_py = 30_000 if args.quick else 200_000
    n_peer = 20_000 if args.quick else 100_000
    res = Results("positions")
    fills = make_fills(n)

    t, pe = fxpipe_c(fills, with_event=False)
    res.add("fxpipe", "fill, C level (position + flows)", "ns/fill", round(t / n * 1e9, 1))
    t, _ = fxpipe_c(fills, with_event=True)
    c_fill = t / n * 1e9
    res.add("fxpipe", "fill, C level (+ PositionUpdate with PnL)", "ns/fill", round(c_fill, 1))
    small = fills[:CALLGRIND_N]
    t, _ = fxpipe_c(small, with_event=False, repeat=15)
    res.add("fxpipe", f"fill, C level (position + flows), {len(small):,} fills: all in cache", "ns/fill",
            round(t / len(small) * 1e9, 1))
    t, _ = fxpipe_c(small, with_event=True, repeat=15)
    res.add("fxpipe", f"fill, C level (+ PositionUpdate), {len(small):,} fills: all in cache", "ns/fill",
            round(t / len(small) * 1e9, 1))
    t = fxpipe_python(fills[:n_py])
    res.add("fxpipe", "fill, Python API (apply + last_position_event)", "ns/fill", round(t / n_py * 1e9, 1))

    rows = decimal_rows(fills[:n_peer])
    t, books = decimal_run(rows)
    res.add("python Decimal", "fill, average cost + exposure", "ns/fill", round(t / n_peer * 1e9, 1))
    check = PositionEngine(REFDATA)
    check.apply_fills(fills[:n_peer])
    for (sid, sym), (net, _, realized) in books.books.items():
        p = check.position(sid, sym)
        assert p["net_qty_e2"] == int(net * 100) and p["realized_e10"] == int(realized.scaleb(10)), (sid, sym)
    res.notes.append(f"the Decimal book's net and realized PnL equal fxpipe's exactly over {n_peer:,} fills")

    naut, why = nautilus_run(fills[:n_peer])
    if naut is None:
        res.add("nautilus_trader", "fill", "text", why)
    else:
        name = f"nautilus_trader {naut['version']}"
        res.add(name, "fill, Position.apply", "ns/fill", round(naut["position_apply_ns_per_fill"], 1))
        res.add(name, "fill, Position.apply + Cache + Portfolio.update_position", "ns/fill",
                round(naut["portfolio_ns_per_fill"], 1))
        res.add("fxpipe", "speed-up per fill vs NautilusTrader Position.apply (C level, + PositionUpdate)", "x",
                round(naut["position_apply_ns_per_fill"] / c_fill, 1))
        res.add("fxpipe", "speed-up per fill vs NautilusTrader Position.apply + Cache + "
                "Portfolio.update_position (C level, + PositionUpdate)", "x",
                round(naut["portfolio_ns_per_fill"] / c_fill, 1))
        for key, qty in naut["net"].items():
            sid, sym = key.split(" ")
            assert check.net_qty(int(sid), sym) == int(Decimal(qty) * 100), key
        res.notes.append("NautilusTrader's net positions equal fxpipe's for the same fills")

    intents = make_intents(fills)
    out = ev.empty(ev.EventType.RISK, n)
    holder = {}

    def run_c():
        _, risk = risk_setup()
        holder["rejected"] = risk.check_intents(intents, out)
    t = timed(run_c, 5)
    assert holder["rejected"] == 0, f"{holder['rejected']} intents rejected; the benchmark limits are meant to pass"
    res.add("fxpipe", "risk check, C level (every check enabled)", "ns/check", round(t / n * 1e9, 1))
    recs = list(intents[:n_py])

    def run_py():
        _, risk = risk_setup()
        chk = risk.check
        for r in recs:
            chk(r)
    t = timed(run_py, 2)
    res.add("fxpipe", "risk check, Python API (RiskEngine.check)", "ns/check", round(t / n_py * 1e9, 1))
    if not args.quick:
        counts = callgrind_counts()
        if isinstance(counts, str):
            res.notes.append(f"callgrind: {counts}")
        else:
            for metric, count in sorted(counts.items()):
                res.add("fxpipe", f"{metric}: instructions", "instr", count)
    res.notes.append(f"fills: {n:,} (C), {n_py:,} (Python API), {n_peer:,} (Decimal, NautilusTrader); "
                     f"median of 2-5 runs (15 for the in-cache rows) by thread CPU time, GC off while "
                     f"timed, one pinned core; the speed-ups use fxpipe's fill with its PositionUpdate")
    res.add("host", "wall time / CPU time of the fxpipe and Decimal measurements (max)", "x",
            round(max(WALL), 2))
    res.finish(args)


if __name__ == "__main__":
    main()
