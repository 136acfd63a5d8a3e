"""A whole desk against the real venue simulator: the simulator as a process (an ECN with its
binary feed, a last-look LP), `run_desk` in a layout under the real supervisor, and what the
venue's own message log says it received and filled."""
from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

from session_doubles import free_port
from venue_harness import VenueProcess

import fxpipe.model.events as ev
from fxpipe.journal import JournalReader
from fxpipe.oms.gateway import VenueLink
from fxpipe.runtime.desk import BinaryFeedSpec, DeskSpec
from fxpipe.runtime.layout import HostCores, parse

ECN, LP = 1, 2
LIMITS = """
[global]
max_order_qty = "50000000"
max_open_orders = 1000
"""
HOST = HostCores(frozenset(os.sched_getaffinity(0)), frozenset(os.sched_getaffinity(0)), frozenset())
RINGS = {"md": {"slots": 4096, "wait": "block"}, "intent": {"slots": 1024, "wait": "block"},
         "exec": {"slots": 4096, "wait": "block"}}


def layout(kind: str):
    """The shipped layouts' shapes with small rings: fused, compact, split (decision+oms fused)."""
    two = -2 if len(HOST.allowed) > 1 else -1
    procs = {
        "fused": {"trader": {"stages": ["feed", "decision", "oms"], "core": -1, "wait": "block"},
                  "journal": {"stages": ["journal"], "core": two, "wait": "block"}},
        "compact": {"feed": {"stages": ["feed"], "core": two, "wait": "block"},
                    "decision": {"stages": ["decision"], "core": -1, "wait": "block"},
                    "oms": {"stages": ["oms"], "core": two, "wait": "block"},
                    "journal": {"stages": ["journal"], "core": -1, "wait": "block"}},
    }[kind]
    return parse({"name": kind, "rings": RINGS, "processes": procs}, Path(f"{kind}.toml"), HOST)


class DeskVenue(VenueProcess):
    """The simulator with the ECN's binary feed sent to a port of ours, paced by the wall clock.
    Sequence numbers survive a client's restart (no reset at logon), so what a venue sent while
    the desk's oms was down comes again on its ResendRequest: a killed oms loses no report."""

    def __init__(self, tmp: Path, rate: int = 400, seed: int = 5, hold_ms: float = 5, **kw):
        extra = kw.pop("ecn_extra", "")

        def ecn_extra() -> str:
            return (extra + f"\n[venues.ecn.feed]\nchannel_id = 1\ndestinations = [\"127.0.0.1:{self.feed_port}\"]\n"
                    f"snapshot_port = {self.snapshot_port}\nheartbeat_ms = 100\n")
        super().__init__(tmp, clients=("FXPIPE",), pace="wall", rate=rate, seed=seed, hold_ms=hold_ms,
                         ecn_extra=ecn_extra, reset_on_logon=False, **kw)

    def _new_ports(self) -> None:
        super()._new_ports()
        self.feed_port, self.snapshot_port = free_port(), free_port()


def desk(tmp: Path, v: DeskVenue, strategies: list[dict], **kw) -> DeskSpec:
    return DeskSpec(run_dir=tmp / "run", strategies=strategies,
                    venues=[VenueLink(ECN, v.ecn_port, "ECN1", kind="ecn"),
                            VenueLink(LP, v.lp_port, "LP1", kind="lp")],
                    binary_feeds=[BinaryFeedSpec(1, ECN, v.feed_port, "127.0.0.1", v.snapshot_port)],
                    limits_text=kw.pop("limits_text", LIMITS), reset_on_logon=False, **kw)


def journal_events(directory, *types) -> list:
    """The events of the given types in a journal (the desk's or the oms's), in journal order."""
    wanted = {int(t) for t in types}
    with JournalReader(directory) as r:
        return [ev.read(bytearray(rec.payload)) for rec in r.records() if rec.type in wanted]


def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def in_thread(fn, *args, **kw):
    """Runs fn in a thread; returns (thread, result list, error list)."""
    res: list = []
    err: list = []

    def target():
        try:
            res.append(fn(*args, **kw))
        except BaseException as exc:   # noqa: BLE001 - handed to the test
            err.append(exc)
    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t, res, err
