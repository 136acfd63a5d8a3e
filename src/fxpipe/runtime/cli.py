"""`fxpipe run` (a trading desk in a layout), `fxpipe backtest` (a strategy over a journal or
CSV of quotes) and `fxpipe layout` (show and check a layout against this host)."""
from __future__ import annotations

import json


def register(subparsers) -> None:
    r = subparsers.add_parser(
        "run", help="run a trading desk (feed, strategies, oms, journal) in a layout, under the supervisor",
        description="Feeds and order sessions come from a venue configuration (the simulator's, by default: "
                    "start `fxpipe venue --config config/venues.toml` first). Stops on SIGTERM/SIGINT or after "
                    "--duration, drains every ring into the journal and prints what the journal says happened.")
    r.add_argument("layout", nargs="?", default=None, help="a shipped layout name or a TOML path (default: the one "
                                                           "that suits this host)")
    r.add_argument("--venues", default="config/venues.toml", help="venue configuration: order sessions and feeds")
    r.add_argument("--profile", default=None, help="a profile of the venue configuration")
    r.add_argument("--strategy", action="append", default=None,
                   help="module:ClassName (repeatable; default examples.market_maker:MarketMaker)")
    r.add_argument("--params", action="append", default=None, help="JSON parameters, one per --strategy")
    r.add_argument("--limits", default="config/risk.toml", help="risk limits TOML")
    r.add_argument("--oms", default=None, metavar="TOML",
                   help="OMS configuration (e.g. config/oms.toml): order sessions, best-price routing (intents with "
                        "venue 0), risk limits, request timeout; replaces the order sessions taken from --venues")
    r.add_argument("--run-dir", default="var/run", help="journal, oms journal and FIX stores go here")
    r.add_argument("--prefix", default=None, help="ring name prefix (default fxpipe-UID-desk)")
    r.add_argument("--duration", type=float, default=None, help="seconds to run (default: until a signal)")
    r.add_argument("--questdb", default=None, metavar="CONF",
                   help="also send the journal to QuestDB (client configuration, e.g. 'http::addr=localhost:9000;')")
    r.add_argument("--fix-market-data", action="store_true",
                   help="also take each venue's FIX market data (35=V/W/X) besides its binary feed")
    r.set_defaults(func=_run)

    p = subparsers.add_parser(
        "backtest", help="run a strategy over recorded quotes (journal directory or CSV) with a simulated venue",
        description="The same strategy class as live, hosted by the decision stage, over quotes from a journal "
                    "or a CSV (ts_ns,venue_id,instrument_id,bid_px_e8,bid_qty_e2,ask_px_e8,ask_qty_e2).")
    p.add_argument("source", help="journal directory or CSV file")
    p.add_argument("strategy", help="module:ClassName, e.g. examples.market_maker:MarketMaker")
    p.add_argument("--params", default="{}", help="the strategy's parameters as JSON (exact integers)")
    p.add_argument("--strategy-id", type=int, default=1)
    p.add_argument("--venue", type=int, default=1, help="venue id orders go to")
    p.set_defaults(func=_backtest)

    lp = subparsers.add_parser("layout", help="show a layout (stages, processes, cores, rings) checked against this host")
    lp.add_argument("layout", nargs="?", default=None, help="a shipped layout name or a TOML path (default: the "
                                                               "one that suits this host)")
    lp.set_defaults(func=_layout)


def _backtest(args) -> int:
    from fxpipe.cli import CliError
    from fxpipe.runtime.backtest import BacktestError, backtest_file
    from fxpipe.strategy import StrategyError

    try:
        params = json.loads(args.params)
    except json.JSONDecodeError as exc:
        raise CliError(f"--params is not JSON: {exc}") from None
    spec = [{"strategy": args.strategy, "strategy_id": args.strategy_id, "venue_id": args.venue, "params": params}]
    try:
        result = backtest_file(args.source, spec)
    except (BacktestError, StrategyError, OSError) as exc:
        raise CliError(str(exc)) from None
    print(result.summary())
    return 0


def _layout(args) -> int:
    from fxpipe.cli import CliError
    from fxpipe.runtime.layout import LayoutError, load, suited

    try:
        lay = load(args.layout or suited())
    except LayoutError as exc:
        raise CliError(str(exc)) from None
    print(f"layout {lay.name} ({lay.path}): {lay.description}")
    for p in lay.processes.values():
        extra = ", ".join(k for k in ("isolated", "sched_fifo", "mlockall") if getattr(p, k))
        print(f"  process {p.name}: {' → '.join(p.stages)}{' (fused)' if p.fused else ''} on core {p.core}, "
              f"wait {p.wait}{', ' + extra if extra else ''}")
    for r in lay.rings.values():
        print(f"  ring {r.name}: {r.slots} slots, consumers wait {r.wait}")
    return 0


def _run(args) -> int:
    from pathlib import Path

    from fxpipe.cli import CliError
    from fxpipe.runtime.desk import DeskError, DeskSpec
    from fxpipe.runtime.layout import LayoutError, load, suited
    from fxpipe.runtime.run import run_desk
    from fxpipe.runtime.supervisor import SupervisorError

    strategies = args.strategy or ["fxpipe.examples.market_maker:MarketMaker"]
    params = args.params or []
    if len(params) > len(strategies):
        raise CliError("more --params than --strategy")
    specs = []
    for i, strat in enumerate(strategies):
        try:
            p = json.loads(params[i]) if i < len(params) else {}
        except json.JSONDecodeError as exc:
            raise CliError(f"--params {params[i]!r} is not JSON: {exc}") from None
        specs.append({"strategy": strat, "strategy_id": i + 1, "venue_id": 1, "params": p})
    try:
        lay = load(args.layout or suited())
        limits = Path(args.limits).read_text() if args.limits else ""
        desk = DeskSpec.from_venues(args.venues, args.run_dir, specs, profile=args.profile, limits_text=limits,
                                    fix_market_data=args.fix_market_data)
        if args.oms:
            desk.with_oms(args.oms)
    except (LayoutError, DeskError, OSError) as exc:
        raise CliError(str(exc)) from None
    print(f"fxpipe run: layout {lay.name}, run dir {desk.run_dir}; Ctrl-C stops (the rings drain into the journal)",
          flush=True)
    try:
        summary = run_desk(lay, desk, prefix=args.prefix, duration_s=args.duration,
                           log_path=desk.run_dir / "fxpipe.jsonl", questdb=args.questdb)
    except SupervisorError as exc:
        raise CliError(str(exc)) from None
    print(summary.text())
    print(f"journal: {desk.journal_dir}; structured log: {desk.run_dir / 'fxpipe.jsonl'}")
    return 0
