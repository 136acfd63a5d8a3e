"""`fxpipe sink questdb JOURNAL_DIR --addr CONF [--checkpoint F] [--follow]`: the journal into QuestDB."""
from __future__ import annotations

import logging
import signal
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser("sink", help="send a journal's events to an external store (QuestDB)")
    sinks = p.add_subparsers(dest="sink", metavar="SINK")
    sinks.required = True
    q = sinks.add_parser(
        "questdb", help="send every event of a journal to QuestDB (ILP over HTTP), exactly once",
        description="Tails JOURNAL_DIR and writes one row per event into QuestDB tables (quotes, orders, "
                    "order_updates, fills, positions, pnl, latency, ...), created with DEDUP UPSERT KEYS. "
                    "A checkpoint file keeps the last journal sequence QuestDB acknowledged; a restart "
                    "resumes after it. Alarms are JSON lines on stderr.")
    q.add_argument("journal", metavar="JOURNAL_DIR")
    q.add_argument("--addr", required=True, metavar="CONF",
                   help="QuestDB client configuration string, e.g. 'http::addr=127.0.0.1:9000;'")
    q.add_argument("--checkpoint", metavar="FILE",
                   help="checkpoint file (default: JOURNAL_DIR.questdb-checkpoint beside the journal)")
    q.add_argument("--follow", action="store_true",
                   help="keep tailing the journal for new records (default: stop once its end is in QuestDB)")
    q.add_argument("--batch-rows", type=int, default=5000, help="flush after this many rows (default 5000)")
    q.add_argument("--batch-ms", type=int, default=500, help="or after the oldest row waited this long (default 500)")
    q.set_defaults(func=_questdb)


def _questdb(args) -> int:
    from fxpipe.cli import CliError
    from fxpipe.journal import JournalError
    from fxpipe.model.refdata import RefDataError, load_refdata
    from fxpipe.persistence.checkpoint import CheckpointError
    from fxpipe.persistence.questdb_http import QuestDBConfError
    from fxpipe.persistence.questdb_sink import SinkError, SinkOptions, run_sink

    if args.batch_rows < 1 or args.batch_ms < 0:
        raise CliError("--batch-rows must be at least 1 and --batch-ms at least 0")
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    options = SinkOptions(batch_rows=args.batch_rows, batch_interval_s=args.batch_ms / 1000, follow=args.follow)
    try:
        sink = run_sink(args.journal, args.addr, args.checkpoint, lambda: bool(stopping), options=options,
                        refdata=load_refdata())
    except (SinkError, CheckpointError, QuestDBConfError, JournalError, RefDataError) as exc:
        raise CliError(str(exc)) from None
    st = sink.status()
    print(f"questdb sink: {st['rows_sent']} rows in {st['batches_sent']} batches; journal acknowledged "
          f"through sequence {st['acked_seq']}", file=sys.stderr)
    return 0
