"""The oms stage's part of bench/oms.py (a helper module, not a benchmark of its own): the
stage's lifecycle at C level and through Python, orders/s against the venue simulator over
loopback FIX, and the NautilusTrader peer."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._harness import Results
from fxpipe.fix import codec, direct
from fxpipe.loopback import unused_port
from fxpipe.model import events as ev
from fxpipe.model.refdata import parse_refdata
from fxpipe.oms.gateway import OrderGateway, VenueLink
from fxpipe.oms.stage import OmsStage
from fxpipe.oms.stageloops import c_stage_lifecycles
from fxpipe.oms.venues.adapters import EcnAdapter
from fxpipe.positions.book import PositionEngine
from fxpipe.risk.engine import RiskEngine

ROOT = Path(__file__).resolve().parent.parent
REFDATA_TEXT = (ROOT / "config" / "refdata.toml").read_text()
T0 = 1_700_000_000_000_000_000
QTY, PX = 100_000_000, 108_500_000


def fill_report(cl_ord_id: int, exec_id: str, side: str = "1", seq: int = 1) -> bytes:
    fields = dict(order_id="ECN1-O1", cl_ord_id=str(cl_ord_id), exec_id=exec_id, exec_trans_type="0",
                  exec_type="2", ord_status="2", symbol="EUR/USD", side=side, order_qty_e2=QTY,
                  ord_type="2", price_e8=PX, time_in_force="0", last_qty_e2=QTY, last_px_e8=PX,
                  leaves_qty_e2=0, cum_qty_e2=QTY, avg_px_e8=PX)
    return direct.encode_execution_report(codec.Encoder("ECN1", "FXPIPE"), seq, T0, fields)


def stage_c_level(res: Results, n: int) -> float:
    refdata = parse_refdata(REFDATA_TEXT, "config/refdata.toml")
    pe = PositionEngine(refdata)
    risk = RiskEngine(pe, refdata)
    mean, nos, moved = c_stage_lifecycles(n, risk, pe, codec.Encoder("FXPIPE", "ECN1"),
                                          fill_report(1, "E1"), b"EUR/USD", T0)
    if not nos.startswith(b"8=FIX.4.2") or b"35=D" not in nos or moved != QTY:
        raise RuntimeError("the C-level stage loop did not make a NewOrderSingle and a fill")
    res.add("fxpipe stage, C level", "lifecycle mean incl. FIX encode + parse (no clock in loop)", "ns",
            round(mean, 1))
    return float(mean)


def stage_python(res: Results, n: int) -> float:
    stage = OmsStage(REFDATA_TEXT, "", prefix=1, request_timeout_ms=0)
    adapter = EcnAdapter()
    refdata = stage.numbers.refdata
    intents = [ev.make(ev.EventType.ORDER_INTENT, venue_id=1, instrument_id=1, qty_e2=QTY, price_e8=PX,
                       action=ev.IntentAction.NEW, side=ev.Side.BUY if i % 2 == 0 else ev.Side.SELL,
                       ord_type=ev.OrdType.LIMIT, time_in_force=ev.TimeInForce.DAY, strategy_id=1,
                       ts_decide_ns=T0 + i * 1000) for i in range(n)]
    reports = [fill_report(1_000_000_000_001 + i, f"E{i + 1}", "1" if i % 2 == 0 else "2", i + 1)
               for i in range(n)]
    clock = time.perf_counter_ns
    t0 = clock()
    for i in range(n):
        out = stage.on_event(intents[i])
        req = out[-1]
        mt, body = adapter.request_body(refdata, req.tobytes(), T0 + i * 1000)
        codec.encode(mt, "FXPIPE", "ECN1", i + 1, T0 + i * 1000, body)
        update, fill = adapter.report("8", reports[i], 1, T0 + i * 1000 + 500)
        stage.on_event(update)
        stage.on_event(fill)
    mean = (clock() - t0) / n
    if stage.positions.net_qty(1, "EUR/USD") != (QTY if n % 2 else 0):
        raise RuntimeError("the Python stage loop did not move the position")
    res.add("fxpipe stage, Python API", "lifecycle mean incl. FIX encode + parse", "ns", round(mean, 1))
    return mean


def _free_port() -> int:
    return unused_port(socket.SOCK_STREAM)


def live_orders_per_s(res: Results, n: int) -> None:
    """n market IOC orders through the OrderGateway to `fxpipe venue` (ECN) over loopback FIX,
    at most 50 in flight; orders/s from the first send to the last order done."""
    tmp = Path(tempfile.mkdtemp(prefix="fxpipe-bench-oms-"))
    port = _free_port()
    cfg = tmp / "venues.toml"
    cfg.write_text(f"[market]\nseed = 3\npace = \"step\"\nrate = 0\n[session]\nstore_dir = \"{tmp / 'vs'}\"\n"
                   f"log_dir = \"{tmp / 'vl'}\"\nfsync = \"never\"\nreset_on_logon = true\n"
                   f"[venues.ecn]\nport = {port}\ncomp_id = \"ECN1\"\nclients = [\"FXPIPE\"]\n"
                   f"level_sizes = [100000000, 100000000, 100000000]\ndepth = 3\n")
    env = dict(os.environ, PYTHONPATH=f"{ROOT / 'src'}:{ROOT}")
    venue = subprocess.Popen([sys.executable, "-m", "fxpipe", "venue", "--config", str(cfg)],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    gw = None
    try:
        assert venue.stdout is not None
        if not venue.stdout.readline().startswith('{"event": "ready"'):
            raise RuntimeError("the venue simulator did not start")
        stage = OmsStage(REFDATA_TEXT, "", prefix=2, request_timeout_ms=5000)
        gw = OrderGateway(stage, [VenueLink(1, port, "ECN1")], tmp / "journal", tmp / "oms",
                          reset_on_logon=True)
        deadline = time.monotonic() + 30
        while not gw.logged_on(1):
            gw.poll(0.01)
            if time.monotonic() > deadline:
                raise RuntimeError("no logon to the venue simulator")
        book = stage.book
        sent = 0
        t0 = time.perf_counter()
        deadline = time.monotonic() + 120
        while True:
            open_n = len(book.open_orders(1))
            while sent < n and open_n < 50:
                gw.submit(ev.make(ev.EventType.ORDER_INTENT, venue_id=1, instrument_id=1, qty_e2=QTY,
                                  action=ev.IntentAction.NEW, side=ev.Side.BUY if sent % 2 == 0 else ev.Side.SELL,
                                  ord_type=ev.OrdType.MARKET, time_in_force=ev.TimeInForce.IOC, strategy_id=1))
                sent += 1
                open_n += 1
            if sent >= n and not book.open_orders(1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"orders still open after 120 s ({len(book.open_orders(1))})")
            gw.poll(0.0)
        elapsed = time.perf_counter() - t0
        filled = sum(1 for o in book.orders() if o.status == ev.OrdStatus.FILLED)
        res.add("fxpipe over loopback FIX", f"orders/s sustained ({n} market IOC, <= 50 in flight)", "orders/s",
                round(n / elapsed, 1))
        res.notes.append(f"loopback FIX: {filled}/{n} filled; gateway and simulator share the machine's cores")
    finally:
        if gw is not None:
            gw.close()
        venue.terminate()
        venue.wait(15)
        shutil.rmtree(tmp, ignore_errors=True)


def nautilus_peer(res: Results, n_quotes: int) -> float | None:
    """Extra ns per order of NautilusTrader's BacktestEngine, or None (the reason is recorded)."""
    from bench.positions import nautilus_worker

    out, why = nautilus_worker("_oms_nautilus.py", (str(n_quotes),))
    if out is None:
        res.add("nautilus_trader", "backtest extra per order", "text", why)
        return None
    name = f"nautilus_trader {out['version']}"
    res.add(name, f"backtest run, {out['quotes']} quotes, no orders", "ms", round(out["run_no_orders_ns"] / 1e6, 1))
    res.add(name, f"backtest run, same quotes, {out['orders']} market orders", "ms",
            round(out["run_with_orders_ns"] / 1e6, 1))
    res.add(name, "extra per order (order lifecycle)", "ns", round(out["extra_ns_per_order"], 1))
    return float(out["extra_ns_per_order"])
