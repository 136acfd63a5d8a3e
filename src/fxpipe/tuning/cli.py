"""`fxpipe tune check|plan|apply|revert`: the command line of host tuning.

check reports every setting as ok / differs / unknown with its current and wanted value (exit 0
only when all are ok); plan prints the exact changes; apply and revert print what they would do
unless given --yes, and on the real host need root. --root points every path, and every command
such as ethtool, at another tree, which is how the tests (and a rehearsal) run.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import pwd
import sys
from pathlib import Path

from fxpipe.cli import CliError
from fxpipe.tuning import report
from fxpipe.tuning.engine import apply, counts, make_plan, revert, survey
from fxpipe.tuning.host import Host, TuningError
from fxpipe.tuning.layout import Layout, layout_from_cores, load_layout
from fxpipe.tuning.snapshot import STATE_DIR, Snapshot


def register(subparsers: argparse._SubParsersAction) -> None:
    tune = subparsers.add_parser("tune", help="check, plan, apply or revert host tuning for a latency box",
                                 description=__doc__.split("\n\n")[0])
    actions = tune.add_subparsers(dest="tune_action", metavar="ACTION")
    actions.required = True

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", default="/", help="root of the host tree to work on (default: /, this host)")
    common.add_argument("--state-dir", default=STATE_DIR,
                        help=f"where apply keeps its snapshot, under --root (default: {STATE_DIR})")

    layout = argparse.ArgumentParser(add_help=False)
    which = layout.add_mutually_exclusive_group(required=True)
    which.add_argument("--layout", metavar="FILE", help="layout TOML with [cores] trading = [...]")
    which.add_argument("--cores", metavar="LIST", help="trading cores, e.g. 2-5,7")
    layout.add_argument("--housekeeping", metavar="LIST", help="housekeeping cores (default: all other online)")
    layout.add_argument("--user", help="user that runs fxpipe (default: the layout's, else $SUDO_USER or you)")
    layout.add_argument("--nic", action="append", metavar="IF", help="only this NIC (repeatable; default: all)")
    layout.add_argument("--json", action="store_true", help="print JSON instead of text")

    for name, helptext, parents in (
        ("check", "report each setting as ok / differs / unknown", [common, layout]),
        ("plan", "print the exact changes apply would make", [common, layout]),
        ("apply", "make the changes (dry run unless --yes), saving a snapshot", [common, layout]),
        ("revert", "put back what the snapshot saved (dry run unless --yes)", [common]),
    ):
        p = actions.add_parser(name, help=helptext, parents=parents)
        if name in ("apply", "revert"):
            p.add_argument("--yes", action="store_true", help="really change the host")
        p.set_defaults(func=_handler)


def _handler(args: argparse.Namespace) -> int:
    try:
        return _HANDLERS[args.tune_action](args)
    except TuningError as exc:
        raise CliError(str(exc)) from None


def _host(args: argparse.Namespace) -> Host:
    if not Path(args.root).is_dir():
        raise CliError(f"--root {args.root} is not a directory")
    return Host(args.root)


def _layout(args: argparse.Namespace) -> Layout:
    if args.layout:
        if args.housekeeping:
            raise CliError("--housekeeping goes with --cores; a layout file names them in [cores]")
        layout = load_layout(args.layout)
    else:
        layout = layout_from_cores(args.cores, args.housekeeping)
    if args.nic:
        layout = dataclasses.replace(layout, options=dataclasses.replace(layout.options, nics=tuple(args.nic)))
    if args.user:
        layout = dataclasses.replace(layout, options=dataclasses.replace(layout.options, user=args.user))
    return layout


def _user(args: argparse.Namespace) -> str:
    """Who runs fxpipe when neither --user nor the layout says: whoever called sudo, or you."""
    if os.environ.get("SUDO_USER"):
        return os.environ["SUDO_USER"]
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def _need_root(host: Host, what: str) -> None:
    if host.is_real and os.geteuid() != 0:
        raise CliError(f"{what} changes this host's kernel settings and needs root: run it as root "
                       f"(sudo fxpipe tune {what} ...), or drop --yes for a dry run")


def _check(args: argparse.Namespace) -> int:
    host = _host(args)
    target, items = survey(host, _layout(args), _user(args))
    print(report.items_json(target, items) if args.json else report.check_text(target, items))
    return 0 if all(i.status == "ok" for i in items) else 1


def _plan(args: argparse.Namespace) -> int:
    host = _host(args)
    target, items = survey(host, _layout(args), _user(args))
    if args.json:
        print(report.items_json(target, make_plan(items).changes))
    else:
        print(report.plan_text(make_plan(items), Snapshot(host, args.state_dir).path))
    return 0


def _apply(args: argparse.Namespace) -> int:
    host = _host(args)
    layout = _layout(args)
    if args.yes:
        _need_root(host, "apply")
    target, items = survey(host, layout, _user(args))
    snapshot = Snapshot(host, args.state_dir)
    plan = make_plan(items)
    print(report.plan_text(plan, snapshot.path))
    if not args.yes:
        print("\ndry run: nothing changed; add --yes to apply")
        return 0
    changed = apply(host, items, snapshot)
    _, after = survey(host, layout, _user(args))
    c = counts(after)
    print(f"\napplied {len(changed)} change(s); snapshot in {snapshot.path}; now {c['ok']} ok, "
          f"{c['differs']} differ, {c['unknown']} unknown")
    if any(i.reboot and i.action for i in changed):
        print("the kernel command line changes take effect after a reboot (see the boot config note above)")
    return 0


def _revert(args: argparse.Namespace) -> int:
    host = _host(args)
    snapshot = Snapshot(host, args.state_dir)
    if not args.yes:
        entries = snapshot.load()
        if not entries:
            print(f"nothing to revert: no snapshot at {snapshot.path}")
            return 0
        print(report.revert_text(entries, done=False))
        print("\ndry run: nothing changed; add --yes to revert")
        return 0
    _need_root(host, "revert")
    entries = revert(host, snapshot)
    print(report.revert_text(entries, done=True))
    if any(getattr(e.action, "reboot", False) for e in entries):
        print("the boot config is back as it was: rebuild the boot entries and reboot to return to the old "
              "kernel command line")
    return 0


_HANDLERS = {"check": _check, "plan": _plan, "apply": _apply, "revert": _revert}


def main(argv: list[str] | None = None) -> int:
    """`python -m fxpipe.tuning ARGS` is `fxpipe tune ARGS` without loading the other commands, so
    it runs from the source tree on a host's own python3 (3.11+), with no virtualenv or build."""
    parser = argparse.ArgumentParser(prog="fxpipe")
    sub = parser.add_subparsers(dest="command")
    sub.required = True
    register(sub)
    args = parser.parse_args(["tune", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"fxpipe tune: {exc}", file=sys.stderr)
        return 2
