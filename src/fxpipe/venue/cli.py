"""`fxpipe venue`: run the venue simulator; `fxpipe venue-fault`: inject a fault into a running one.

    fxpipe venue --config config/venues.toml [--profile NAME] [--fault SPEC ...] [--seed N] [--pace step]
                 [--duration S] [--control-port P] [--run-id ID] [--start-time ISO]
                 [--replay FILE.csv | --replay-journal DIR [--replay-venue V] [--replay-instrument S ...]]
                 [--replay-speed F] [--replay-loop]
    fxpipe venue-fault --control-port P "duplicate_exec mode=plain session=FXPIPE"
    fxpipe venue-fault --list

On start the simulator prints one JSON line {"event": "ready", ...} with every port it
listens on, then runs until interrupted (SIGINT/SIGTERM log every session out first).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import signal

from fxpipe.cli import CliError


def register(subparsers) -> None:
    p = subparsers.add_parser("venue", help="run the FX venue simulator (FIX 4.2 acceptors + binary feed)",
                              description=__doc__, formatter_class=_raw())
    p.add_argument("--config", required=True, metavar="FILE", help="venues TOML (see config/venues.toml)")
    p.add_argument("--profile", metavar="NAME", help="apply the file's [profiles.NAME] overrides (e.g. stress)")
    p.add_argument("--run-id", metavar="ID", help="override market.run_id (in every OrderID and ExecID)")
    p.add_argument("--start-time", metavar="ISO", help="override market.start_time: the venue clock starts "
                                                      "there, e.g. 2024-03-04T21:59:58Z")
    p.add_argument("--fault", action="append", default=[], metavar="SPEC",
                   help="arm a fault at start (repeatable); `fxpipe venue-fault --list` shows them all")
    p.add_argument("--seed", type=int, help="override market.seed")
    p.add_argument("--pace", choices=("wall", "step"), help="override market.pace")
    p.add_argument("--rate", type=float, help="override market.rate (updates per second)")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument("--control-port", type=int, metavar="P", help="listen for fault commands (0: a free port)")
    p.add_argument("--wait", choices=("block", "backoff"), default="block",
                   help="block: sleep until due (default); backoff: poll 200 µs after each socket event first")
    r = p.add_argument_group("replay recorded quotes instead of the price process (override [market])")
    src = r.add_mutually_exclusive_group()
    src.add_argument("--replay", metavar="FILE", help="a quote CSV: time,symbol,bid,ask[,bid_size,ask_size]")
    src.add_argument("--replay-journal", metavar="DIR", help="the Quote events of an fxpipe journal")
    r.add_argument("--replay-venue", metavar="VENUE", help="journal: only this venue's quotes (reference-data "
                                                          "name or id)")
    r.add_argument("--replay-instrument", action="append", metavar="SYMBOL",
                   help="journal: only this instrument's quotes (repeatable), e.g. EUR/USD")
    r.add_argument("--replay-speed", type=_speed, metavar="F", help="play at F times the recorded pace")
    r.add_argument("--replay-loop", action="store_true", default=None, help="start over at the end")
    p.set_defaults(func=run_venue)
    q = subparsers.add_parser("venue-fault", help="inject a fault into a running venue simulator",
                              description=__doc__, formatter_class=_raw())
    q.add_argument("spec", nargs="?", help="fault spec, e.g. \"drop session=FXPIPE at_s=5\"")
    q.add_argument("--control-port", type=int, metavar="P", help="the simulator's control port")
    q.add_argument("--list", action="store_true", help="list every fault and its parameters")
    q.add_argument("--status", action="store_true", help="print the simulator's status instead")
    q.set_defaults(func=run_fault)


def _raw():
    return argparse.RawDescriptionHelpFormatter


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a number >= 0 (1 = the recorded pace)")
    return value


def _market_overrides(args) -> dict:
    """[market] keys the command line sets; a source given here replaces the file's source."""
    from fxpipe.venue.config import RUN_ID, parse_start_time
    from fxpipe.venue.profiles import ConfigError

    out = {k: v for k, v in (("seed", args.seed), ("pace", args.pace), ("rate", args.rate),
                             ("replay_speed", args.replay_speed), ("replay_loop", args.replay_loop)) if v is not None}
    if args.run_id is not None:
        if not RUN_ID.fullmatch(args.run_id):
            raise ConfigError(f"--run-id: 1 to 16 letters or digits, got {args.run_id!r}")
        out["run_id"] = args.run_id
    if args.start_time is not None:
        out["start_time_ns"] = parse_start_time(args.start_time, "--start-time")
    if args.replay is not None:
        out.update(replay=args.replay, replay_journal=None, replay_venue=None, replay_instruments=None)
    if args.replay_journal is not None:
        out.update(replay=None, replay_journal=args.replay_journal)
    if args.replay_venue is not None:
        out["replay_venue"] = args.replay_venue
    if args.replay_instrument:
        out["replay_instruments"] = tuple(args.replay_instrument)
    return out


def run_venue(args) -> int:
    from fxpipe.venue import faults as faultspec
    from fxpipe.venue.config import check_replay, load
    from fxpipe.venue.profiles import ConfigError
    from fxpipe.venue.server import VenueServer

    try:
        cfg = load(args.config, args.profile)
        armed = [faultspec.parse(s) for s in args.fault]
        overrides = _market_overrides(args)
        if overrides:
            cfg.market = dataclasses.replace(cfg.market, **overrides)
            check_replay(cfg.market, cfg.refdata)
    except (ConfigError, faultspec.FaultSpecError) as exc:
        raise CliError(str(exc)) from None
    if args.control_port is not None:
        cfg.control_port = args.control_port
    try:
        server = VenueServer(cfg, armed, wait=args.wait)
    except (OSError, ValueError) as exc:
        raise CliError(str(exc)) from None
    stopping = []

    def stop(signum, frame):
        stopping.append(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        try:
            ready = server.start()
        except OSError as exc:
            raise CliError(str(exc)) from None
        print(json.dumps({"event": "ready", **ready}), flush=True)
        server.run(lambda: bool(stopping), args.duration)
        print(json.dumps({"event": "stopped", **server.status()}), flush=True)
    finally:
        server.close()
    return 0


def run_fault(args) -> int:
    from fxpipe.venue import faults as faultspec
    from fxpipe.venue.control import send_command

    if args.list:
        print("faults (add session=COMPID, venue=NAME, at_s=S | after_orders=N, every_s=S):")
        print(faultspec.help_text())
        return 0
    if args.control_port is None:
        raise CliError("give --control-port (printed by `fxpipe venue` as control_port)")
    if args.status:
        line = "status"
    else:
        if not args.spec:
            raise CliError("give a fault spec, or --list to see them")
        try:
            faultspec.parse(args.spec)
        except faultspec.FaultSpecError as exc:
            raise CliError(str(exc)) from None
        line = f"fault {args.spec}"
    try:
        reply = send_command(args.control_port, line)
    except OSError as exc:
        raise CliError(f"control port 127.0.0.1:{args.control_port}: {exc.strerror or exc}") from None
    print(reply)
    return 0 if not reply.startswith("error") else 1
