"""`fxpipe demo`: a real trading session on this machine, nothing external needed.

    venue simulator (ECN + its binary feed, last-look LP)  ◄──FIX 4.2──►  oms
            │ UDP quotes (ECN), FIX market data (LP)                      ▲
            ▼                                                             │ intents
          feed ──md ring──► decision (market maker on the ECN, momentum taker on the LP)

The simulator runs in its own process on free loopback ports (config/venues.toml's venues and
calibrated market, sessions and logs under the run directory); the desk runs under the
supervisor in the layout that suits the machine (`fused` on two cores: feed, decision and oms
run to completion on one core, the journal trails the rings on the other). After `--duration`
seconds everything drains into the journal and the summary is read back from it: orders,
fills, rejects (last look among them), positions and PnL by currency, per-hop latency
percentiles, and where the journal is.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import socket
import time
import tomllib
from pathlib import Path

from fxpipe.cli import CliError
from fxpipe.configdir import config_file
from fxpipe.loopback import unused_port

VENUES = config_file("venues.toml")
LIMITS = config_file("risk.toml")
STRATEGIES = [
    {"strategy": "fxpipe.examples.market_maker:MarketMaker", "strategy_id": 1, "venue_id": 1,
     "params": {"instrument_id": 1, "half_spread_e8": 1_000, "size_e2": 100_000_00, "requote_e8": 500}},
    {"strategy": "fxpipe.examples.momentum:Momentum", "strategy_id": 2, "venue_id": 2,
     "params": {"instrument_id": 1, "lookback": 10, "threshold_e8": 1_000, "size_e2": 100_000_00,
                "cooldown_ns": 200_000_000}},
]


def register(sub) -> None:
    p = sub.add_parser("demo", help="a trading session against the embedded venue simulator, then its summary",
                       description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--layout", default=None, help="a shipped layout or TOML path (default: the one that suits "
                                                  "this host: fused on 2 cores, pinned from 4)")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of trading (default 20)")
    p.add_argument("--run-dir", default=None, help="where the journal goes (default var/demo-<time>)")
    p.add_argument("--rate", type=float, default=2000.0, help="market updates per second at the simulator")
    p.add_argument("--profile", default=None, help="venue profile (e.g. stress: a jumpy market, more "
                                                   "last-look rejects)")
    p.add_argument("--seed", type=int, default=42)
    p.set_defaults(func=run_demo)


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    return unused_port(kind)


def venue_doc(run_dir: Path, seed: int, rate: float) -> dict:
    """config/venues.toml with free loopback ports, its files under the run directory."""
    doc = tomllib.loads(VENUES.read_text())
    doc["market"].update(seed=seed, rate=rate, pace="wall")
    doc["session"].update(store_dir=str(run_dir / "venue" / "store"), log_dir=str(run_dir / "venue" / "log"))
    doc.pop("control", None)
    for v in doc["venues"].values():
        v["port"] = free_port()
        v["clients"] = ["FXPIPE", "FXPIPE-MD"]
        feed = v.get("feed")
        if feed is not None:
            feed["destinations"] = [f"127.0.0.1:{free_port(socket.SOCK_DGRAM)}"]
            feed["snapshot_port"] = free_port()
    return doc


def _venue_main(doc: dict, profile: str | None, ready, stop) -> None:
    import signal

    from fxpipe.venue.config import parse
    from fxpipe.venue.server import VenueServer

    signal.signal(signal.SIGINT, signal.SIG_IGN)          # the demo stops it when the desk has drained
    server = VenueServer(parse(doc, str(VENUES), profile), [])
    try:
        server.start()
        ready.set()
        server.run(stop.is_set, None)
    finally:
        server.close()


def run_demo(args) -> int:
    from fxpipe.runtime.desk import DeskError, DeskSpec
    from fxpipe.runtime.layout import LayoutError, load, suited
    from fxpipe.venue.config import parse

    run_dir = Path(args.run_dir or Path("var") / f"demo-{time.strftime('%Y%m%d-%H%M%S')}").absolute()
    try:
        lay = load(args.layout or suited())
    except LayoutError as exc:
        raise CliError(str(exc)) from None
    run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    doc = venue_doc(run_dir, args.seed, args.rate)
    try:
        sim = parse(doc, str(VENUES), args.profile)
        desk = DeskSpec.from_sim(sim, run_dir, STRATEGIES, limits_text=LIMITS.read_text(), reset_on_logon=True,
                                 fix_market_data=True)
    except (DeskError, ValueError) as exc:
        raise CliError(str(exc)) from None
    ctx = mp.get_context("fork")
    ready, stop = ctx.Event(), ctx.Event()
    venue = ctx.Process(target=_venue_main, args=(doc, args.profile, ready, stop), name="fxpipe-venue")
    venue.start()
    try:
        if not ready.wait(30):
            raise CliError("the venue simulator did not start within 30 s")
        print(f"fxpipe demo: venue simulator up (ECN1 :{desk.venues[0].port}, LP1 :{desk.venues[1].port}, "
              f"binary feed :{desk.binary_feeds[0].listen_port}, FIX market data from "
              f"{', '.join(f.target_comp_id for f in desk.fix_feeds) or 'none'}); layout {lay.name} on cores "
              f"{lay.cores()}; trading for {args.duration:g} s", flush=True)
        summary = run_demo_desk(lay, desk, args.duration)
    finally:
        stop.set()
        venue.join(10)
        if venue.is_alive():
            venue.kill()
    print(summary.text(sim.refdata))
    print(f"journal: {desk.journal_dir}   (fxpipe journal show {desk.journal_dir})")
    print(f"structured log (JSON lines, alarms included): {desk.run_dir / 'fxpipe.jsonl'}")
    print(f"oms journal: {desk.oms_dir}   (fxpipe replay {desk.oms_dir} re-runs the oms and checks its state hash)")
    return 0


def run_demo_desk(lay, desk, duration: float):
    from fxpipe.runtime.run import run_desk

    prefix = f"demo-{os.getpid()}"
    print(f"fxpipe demo: status while it runs: fxpipe status --prefix {prefix}", flush=True)
    return run_desk(lay, desk, prefix=prefix, duration_s=duration, alarm=lambda text: print(text, flush=True),
                    log_path=desk.run_dir / "fxpipe.jsonl")
