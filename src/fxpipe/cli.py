"""The `fxpipe` command line.

Each command lives in the module that owns its domain and exposes `register(subparsers)`;
this file only lists them, so adding a command is one line here. Modules are imported when
the parser is built, which keeps `fxpipe --help` honest about what is installed.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# Each module defines register(subparsers), adding its own commands.
COMMAND_MODULES: list[str] = [
    "fxpipe.demo",
    "fxpipe.ring.cli",
    "fxpipe.tuning.cli",
    "fxpipe.fix.session.cli",
    "fxpipe.journal.cli",
    "fxpipe.replay.cli",
    "fxpipe.venue.cli",
    "fxpipe.runtime.cli",
    "fxpipe.ops.cli",
]


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fxpipe", description="fxpipe: low-latency FX trading backend")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"fxpipe {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
