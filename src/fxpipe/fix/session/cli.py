"""`fxpipe fix-store`: look at and set a FIX session store's sequence numbers (operator runbook).

    fxpipe fix-store show STORE                 numbers, message count, creation time
    fxpipe fix-store set STORE --next-target N  after agreeing numbers with the counterparty

STORE is the session's store directory (store_dir/SENDER-TARGET). The command takes the
store's lock, so it refuses to touch a store that a running session holds.
"""
from __future__ import annotations

import time
from pathlib import Path

from fxpipe.cli import CliError

from .msglog import utc_text
from .store import FileStore, StoreError


def register(subparsers) -> None:
    p = subparsers.add_parser("fix-store", help="show or set a FIX session store's sequence numbers")
    sub = p.add_subparsers(dest="fix_store_command", metavar="ACTION")
    sub.required = True
    show = sub.add_parser("show", help="sequence numbers and what the store holds")
    show.add_argument("store", help="the session's store directory (store_dir/SENDER-TARGET)")
    show.set_defaults(func=_show)
    set_ = sub.add_parser("set", help="set the next outgoing and/or expected incoming MsgSeqNum")
    set_.add_argument("store", help="the session's store directory (store_dir/SENDER-TARGET)")
    set_.add_argument("--next-sender", type=int, metavar="N", help="MsgSeqNum of our next message")
    set_.add_argument("--next-target", type=int, metavar="N", help="MsgSeqNum expected from the counterparty")
    set_.set_defaults(func=_set)


def _open(path: str) -> FileStore:
    if not (Path(path) / "seqnums").exists():
        raise CliError(f"{path} is not a FIX session store (no seqnums file); "
                       f"give the directory store_dir/SENDER-TARGET")
    store = FileStore(path, "always")
    try:
        store.open(time.time_ns())
    except StoreError as exc:
        raise CliError(str(exc)) from None
    return store


def _show(args) -> int:
    store = _open(args.store)
    try:
        rec = store.recovery
        assert rec is not None, "open() sets the recovery"
        print(f"store:        {store.path}")
        print(f"next sender:  {store.next_sender}   (MsgSeqNum of our next message)")
        print(f"next target:  {store.next_target}   (MsgSeqNum expected from the counterparty)")
        print(f"messages:     {store.message_count()} kept for resends")
        print(f"created:      {utc_text(store.creation_ns)} UTC")
        if rec.torn_bytes_cut:
            print(f"recovery:     cut {rec.torn_bytes_cut} bytes of a torn or corrupt tail")
    finally:
        store.close()
    return 0


def _set(args) -> int:
    if args.next_sender is None and args.next_target is None:
        raise CliError("nothing to set: give --next-sender and/or --next-target")
    store = _open(args.store)
    try:
        if args.next_sender is not None:
            store.set_next_sender(args.next_sender)
        if args.next_target is not None:
            store.set_next_target(args.next_target)
        print(f"{store.path}: next sender {store.next_sender}, next target {store.next_target}")
    except StoreError as exc:
        raise CliError(str(exc)) from None
    finally:
        store.close()
    return 0
