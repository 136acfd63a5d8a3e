"""`fxpipe replay JOURNAL`: re-run the recorded stages of a journal and compare bit for bit."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "replay", help="re-run a journal's recorded stages and compare every output and state hash",
        description="Feed the recorded inputs of every stage in JOURNAL through the same stage code "
                    "and check each output event and state hash against the recording, bit for bit. "
                    "Exit status 0: equal; 1: diverged (the first divergence is printed).")
    p.add_argument("journal", help="journal directory")
    p.add_argument("--speed", type=float, default=0.0, metavar="FACTOR",
                   help="pace inputs at the recorded speed times FACTOR (default 0: as fast as possible)")
    p.add_argument("--stage", type=int, metavar="ID", help="replay only this stage id")
    p.set_defaults(func=_replay)


def _replay(args) -> int:
    from fxpipe.cli import CliError
    from fxpipe.journal.errors import JournalError
    from fxpipe.replay.replayer import format_report, replay_journal

    try:
        report = replay_journal(args.journal, speed=args.speed, stage_id=args.stage)
    except (JournalError, ValueError) as exc:
        raise CliError(str(exc)) from None
    print(format_report(report))
    return 0 if report.ok else 1
