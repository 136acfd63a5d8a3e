"""`fxpipe backtest` (a strategy over a journal or CSV of quotes) and `fxpipe layout`
(show and check a layout against this host)."""
from __future__ import annotations

import json


def register(subparsers) -> None:
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
