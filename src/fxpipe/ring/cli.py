"""`fxpipe ring`: look at and tidy the rings on this host, from outside the hot path.

    fxpipe ring status [NAME ...] [--json]   cursors, consumers, lag, back-pressure, liveness
    fxpipe ring detach NAME CONSUMER         stop a dead or hung consumer from gating
    fxpipe ring clean [--yes] [--force]      remove segments whose processes are all gone
"""
from __future__ import annotations

import json
import os

from fxpipe.cli import CliError
from fxpipe.ring import segment
from fxpipe.ring.errors import RingError


def register(sub) -> None:
    p = sub.add_parser("ring", help="inspect and tidy shared-memory rings")
    rs = p.add_subparsers(dest="ring_command", metavar="ACTION")
    rs.required = True
    st = rs.add_parser("status", help="state of every ring (or the named ones)")
    st.add_argument("names", nargs="*")
    st.add_argument("--json", action="store_true", help="machine-readable output")
    st.set_defaults(func=cmd_status)
    de = rs.add_parser("detach", help="detach a consumer so it no longer gates the producer")
    de.add_argument("name")
    de.add_argument("consumer")
    de.set_defaults(func=cmd_detach)
    cl = rs.add_parser("clean", help="remove stale ring segments (creator, producer and consumers gone)")
    cl.add_argument("--yes", action="store_true", help="remove them (default: only list)")
    cl.add_argument("--force", action="store_true",
                    help="also remove stale segments of another layout version (refused by default)")
    cl.set_defaults(func=cmd_clean)


def _attach(name):
    from fxpipe.ring import Ring

    try:
        return Ring.attach(name, timeout=0.1)
    except RingError as exc:
        raise CliError(str(exc)) from None


def cmd_status(args) -> int:
    names = args.names or segment.list_segments()
    out = []
    for name in names:
        r = _attach(name)
        try:
            out.append(r.status())
        finally:
            r.close(unlink=False)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    if not out:
        print("no rings on this host")
    for s in out:
        pr = s["producer"]
        print(f"ring {s['name']}: {s['slot_count']} x {s['slot_size']} B, {s['producer_mode']} producer, "
              f"cursor {s['cursor']}{', CLOSED' if s['closed'] else ''}; creator pid {s['creator_pid']} "
              f"({'alive' if s['creator_alive'] else 'GONE'})")
        print(f"  producer pid {pr['pid']} ({'alive' if pr['alive'] else 'gone'}): full waits {pr['full_waits']}, "
              f"waited {pr['full_wait_s']:.6f} s, timeouts {pr['full_timeouts']}, dead consumers seen "
              f"{pr['dead_consumers_seen']}, detached {pr['detached']}")
        for c in s["consumers"]:
            hb = "-" if c["heartbeat_age_s"] is None else f"{c['heartbeat_age_s']:.3f}s"
            dep = f" after {','.join(c['depends_on'])}" if c["depends_on"] else ""
            alive = "alive" if c["alive"] else ("not attached" if not c["pid"] else "DEAD")
            print(f"  consumer {c['name']:<16} {c['state']:<9} {c['wait']:<5} pid {c['pid']} ({alive}) "
                  f"seq {c['sequence']} lag {c['lag']} waits {c['waits']} heartbeat {hb}{dep}")
    return 0


def cmd_detach(args) -> int:
    r = _attach(args.name)
    try:
        done = r.detach(args.consumer)
    except RingError as exc:
        raise CliError(str(exc)) from None
    finally:
        r.close(unlink=False)
    print(f"consumer {args.consumer} of ring {args.name}: {'detached' if done else 'was not attached'}")
    return 0


def cmd_clean(args) -> int:
    """Each segment is judged and removed under the segment directory's lock, so a ring that
    another process creates under the same name meanwhile is never the one removed."""
    found = 0
    for name in segment.list_segments():
        path = segment.segment_path(name)
        with segment.directory_lock():
            removable, why = segment.judge_stale(name, path, force=args.force)
            if removable and args.yes:
                os.unlink(path)
        if why == "gone":
            continue
        if removable:
            found += 1
            print(f"{'removed' if args.yes else 'stale'}: ring {name} ({why}) {path}")
        elif why.startswith("layout version") and "refused" in why:
            print(f"kept: ring {name} ({why}) {path}")
    if found and not args.yes:
        print("run again with --yes to remove them")
    if not found:
        print("no stale rings")
    return 0
