"""`fxpipe journal export|verify|show`: the journal from the command line."""
from __future__ import annotations

import sys

from fxpipe.journal.errors import JournalError


def register(subparsers) -> None:
    p = subparsers.add_parser("journal", help="inspect, verify and export a journal",
                              description="Inspect, verify and export an fxpipe journal directory.")
    sub = p.add_subparsers(dest="journal_command", metavar="ACTION")
    sub.required = True

    v = sub.add_parser("verify", help="check every checksum, sequence, seal and segment")
    v.add_argument("journal", help="journal directory")
    v.add_argument("--truncate-at", metavar="SEGMENT:OFFSET",
                   help="operator cut: drop everything from this record on (after corruption), then verify")
    v.set_defaults(func=_verify)

    s = sub.add_parser("show", help="print records readably")
    s.add_argument("journal", help="journal directory")
    _selection_args(s)
    s.add_argument("-n", "--count", type=int, default=50, help="records to print (default 50; 0: all)")
    s.set_defaults(func=_show)

    e = sub.add_parser("export", help="write records to CSV or Parquet")
    e.add_argument("journal", help="journal directory")
    e.add_argument("--format", choices=("csv", "parquet"), default="parquet")
    e.add_argument("-o", "--out", required=True,
                   help="output file (one type) or directory (one file per type)")
    _selection_args(e)
    e.add_argument("--instrument", action="append", metavar="INSTRUMENT",
                   help="only events of this instrument: id, or symbol from the reference data "
                        "(e.g. EUR/USD; FXPIPE_REFDATA names the file) (repeatable)")
    e.set_defaults(func=_export)


def _selection_args(p) -> None:
    p.add_argument("--type", action="append", metavar="TYPE",
                   help="record type, by name or number (repeatable)")
    p.add_argument("--from", dest="start", metavar="TIME",
                   help="records with timestamp >= TIME (ns since epoch, or ISO-8601, UTC)")
    p.add_argument("--to", dest="end", metavar="TIME", help="records with timestamp < TIME")
    p.add_argument("--from-seq", type=int, metavar="SEQ", help="first sequence number")
    p.add_argument("--to-seq", type=int, metavar="SEQ", help="last sequence number")


def _selection(args):
    from fxpipe.cli import CliError
    from fxpipe.journal.export import Selection
    from fxpipe.journal.timefmt import parse_time_ns
    from fxpipe.journal.types import parse_type

    try:
        instruments = getattr(args, "instrument", None)
        return Selection(
            types=[parse_type(t) for t in args.type] if args.type else None,
            start_ts=parse_time_ns(args.start) if args.start else None,
            end_ts=parse_time_ns(args.end) if args.end else None,
            instruments=[_instrument_id(i) for i in instruments] if instruments else None,
            start_seq=args.from_seq, end_seq=args.to_seq)
    except (ValueError, KeyError) as exc:
        raise CliError(str(exc).strip("'\"")) from None


def _instrument_id(text: str) -> int:
    if text.strip().isdigit():
        return int(text)
    from fxpipe.model.refdata import load_refdata

    return load_refdata().instrument(text.strip()).id


def _verify(args) -> int:
    from fxpipe.cli import CliError
    from fxpipe.journal.lock import WriterLock
    from fxpipe.journal.recovery import truncate_at
    from fxpipe.journal.verify import format_report, parse_cut_point, verify_journal

    if args.truncate_at:
        try:
            name, offset = parse_cut_point(args.truncate_at)
            lock = WriterLock(args.journal)
            lock.acquire()
            try:
                removed = truncate_at(args.journal, name, offset)
            finally:
                lock.release()
        except (ValueError, JournalError, FileNotFoundError) as exc:
            raise CliError(str(exc)) from None
        print(f"cut {name} at offset {offset}" + (f"; removed {', '.join(p.name for p in removed)}"
                                                   if removed else ""))
    from pathlib import Path

    if not Path(args.journal).is_dir():
        raise CliError(f"no journal at {args.journal} (a journal is a directory of segment files)")
    rep = verify_journal(args.journal)
    print(format_report(rep))
    return 0 if rep.ok else 1


def _show(args) -> int:
    from fxpipe.cli import CliError
    from fxpipe.journal.reader import JournalReader
    from fxpipe.journal.show import show_lines

    sel = _selection(args)
    try:
        with JournalReader(args.journal) as reader:
            if reader.tail:
                print(f"# {reader.tail}", file=sys.stderr)
            recs = reader.records(start_seq=sel.start_seq, end_seq=sel.end_seq, start_ts=sel.start_ts,
                                  end_ts=sel.end_ts, types=sel.types)
            for line in show_lines(recs, args.count or None):
                print(line)
    except JournalError as exc:
        raise CliError(str(exc)) from None
    except BrokenPipeError:
        sys.stderr.close()
    return 0


def _export(args) -> int:
    from fxpipe.cli import CliError
    from fxpipe.journal.export import export

    sel = _selection(args)
    try:
        written = export(args.journal, args.out, args.format, sel)
    except JournalError as exc:
        raise CliError(str(exc)) from None
    for name, (path, rows) in written.items():
        print(f"{name}: {rows} rows -> {path}")
    return 0
