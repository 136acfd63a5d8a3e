"""`fxpipe status`, `fxpipe ctl`, `fxpipe metrics`: what the people who run the book use.

    fxpipe status [--prefix P] [--json] [--once] [--interval S]
    fxpipe ctl [--prefix P] kill-switch on|off [--strategy N] | cancel-all [--strategy N]
               | pause N | resume N | set-limit LIMIT VALUE [--strategy N] [--ccy CCY]
    fxpipe metrics [--prefix P] [--port 9464] [--addr 127.0.0.1]
"""
from __future__ import annotations

import json
import os
import time

DEFAULT_PREFIX = os.environ.get("FXPIPE_PREFIX", "live")


def register(subparsers) -> None:
    st = subparsers.add_parser("status", help="live view of rings, latency, sessions, orders, positions, PnL, "
                                              "risk, alarms and workers (shared memory only)")
    st.add_argument("--prefix", default=DEFAULT_PREFIX, help=f"ring prefix (default {DEFAULT_PREFIX}, or $FXPIPE_PREFIX)")
    st.add_argument("--json", action="store_true", help="print one JSON document and exit")
    st.add_argument("--once", action="store_true", help="render once and exit")
    st.add_argument("--interval", type=float, default=1.0, help="refresh every S seconds (default 1)")
    st.add_argument("--stale-after", type=float, default=5.0, help="a section older than this is stale (s)")
    st.set_defaults(func=_status)

    c = subparsers.add_parser("ctl", help="operator commands: kill switch, cancel all, pause/resume a strategy, "
                                          "change a limit; waits for the answer")
    c.add_argument("--prefix", default=DEFAULT_PREFIX, help=f"ring prefix (default {DEFAULT_PREFIX})")
    c.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the answer (default 5)")
    c.add_argument("--no-wait", action="store_true", help="publish and return without waiting for the answer")
    cs = c.add_subparsers(dest="ctl_command", metavar="COMMAND")
    cs.required = True
    k = cs.add_parser("kill-switch", help="stop (on) or allow (off) new orders; on also cancels open orders")
    k.add_argument("state", choices=("on", "off"))
    k.add_argument("--strategy", type=int, default=0, help="one strategy (default 0: the whole desk)")
    ca = cs.add_parser("cancel-all", help="cancel every open order (of one strategy); trading continues")
    ca.add_argument("--strategy", type=int, default=0)
    for name, what in (("pause", "no more quotes or timers to a strategy (it still sees its fills)"),
                       ("resume", "quotes and timers to a paused strategy again")):
        p = cs.add_parser(name, help=what)
        p.add_argument("strategy", type=int, help="strategy id (0: every hosted strategy)")
    sl = cs.add_parser("set-limit", help="change a pre-trade risk limit live (VALUE 'none' removes it)")
    sl.add_argument("limit", help="e.g. max-order-qty, max-position, max-loss, order-rate (see docs/risk.md)")
    sl.add_argument("value", help="exact decimal at the limit's unit (quantity, money or count), or none")
    sl.add_argument("--strategy", type=int, default=0)
    sl.add_argument("--ccy", default="", help="currency of a max-ccy-exposure limit")
    sl.add_argument("--instrument", default=None, help="instrument of a max-position limit, e.g. EUR/USD")
    sl.add_argument("--venue", default=None, help="venue of a venue-order-rate/burst limit")
    c.set_defaults(func=_ctl)

    m = subparsers.add_parser("metrics", help="Prometheus exposition of the status sections and ring headers")
    m.add_argument("--prefix", default=DEFAULT_PREFIX, help=f"ring prefix (default {DEFAULT_PREFIX})")
    m.add_argument("--port", type=int, default=9464)
    m.add_argument("--addr", default="127.0.0.1", help="listen address (default loopback only)")
    m.add_argument("--stale-after", type=float, default=5.0)
    m.set_defaults(func=_metrics)


def _status(args) -> int:
    from fxpipe.cli import CliError
    from fxpipe.ops.status import collect, render
    from fxpipe.ops.status_shm import StatusError

    if args.interval <= 0:
        raise CliError(f"--interval must be > 0, got {args.interval}")
    try:
        doc = collect(args.prefix, args.stale_after)
    except StatusError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps(doc, indent=1, sort_keys=True))
        return 0
    from rich.console import Console
    from rich.live import Live

    console = Console()
    if args.once:
        console.print(render(doc))
        return 0
    with Live(render(doc), console=console, refresh_per_second=max(1.0, 1 / args.interval), screen=False) as live:
        while True:
            time.sleep(args.interval)
            live.update(render(collect(args.prefix, args.stale_after)))


def _ctl(args) -> int:
    import fxpipe.model.events as ev
    from fxpipe.cli import CliError
    from fxpipe.ops import ctl

    C = ev.ControlCommand
    try:
        kw: dict = {}
        cmd = args.ctl_command
        if cmd == "kill-switch":
            command = C.KILL_SWITCH_ON if args.state == "on" else C.KILL_SWITCH_OFF
            kw["strategy_id"] = args.strategy
        elif cmd == "cancel-all":
            command, kw["strategy_id"] = C.CANCEL_ALL, args.strategy
        elif cmd in ("pause", "resume"):
            command = C.PAUSE if cmd == "pause" else C.RESUME
            kw["strategy_id"] = args.strategy
        else:
            command = C.SET_LIMIT
            limit = ctl.parse_limit(args.limit)
            kw.update(strategy_id=args.strategy, limit=int(limit), arg=ctl.parse_limit_value(limit, args.value),
                      ccy=args.ccy.upper())
            if args.instrument or args.venue:
                from fxpipe.model.refdata import RefDataError, load_refdata
                try:
                    ref = load_refdata()
                    if args.instrument:
                        kw["instrument_id"] = ref.instrument(args.instrument).id
                    if args.venue:
                        kw["venue_id"] = ref.venue(args.venue).id
                except (RefDataError, KeyError, LookupError, ValueError) as exc:
                    raise ctl.CtlError(f"reference data: {exc}") from None
        control = ctl.build_control(command, **kw)
        rid = int(control["request_id"])
        seq = ctl.publish(args.prefix, control)
        print(f"sent {C(command).name} request {rid} as control seq {seq}")
        if args.no_wait:
            return 0
        answer = ctl.wait_answer(args.prefix, rid, seq, args.timeout)
    except ctl.CtlError as exc:
        raise CliError(str(exc)) from None
    for line in answer.lines():
        print(line)
    return 0 if answer.ok else 1


def _metrics(args) -> int:
    from fxpipe.cli import CliError
    from fxpipe.ops.metrics import serve

    try:
        server, _ = serve(args.prefix, args.port, args.addr, args.stale_after)
    except OSError as exc:
        raise CliError(f"cannot listen on {args.addr}:{args.port}: {exc}") from None
    print(f"serving Prometheus metrics of {args.prefix!r} on http://{args.addr}:{server.server_port}/metrics")
    try:
        while True:
            time.sleep(3600)
    finally:
        server.shutdown()
