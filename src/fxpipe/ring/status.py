"""What operators see of a ring: a snapshot read through the numpy mirror of the header
(fxpipe.ring.layout), never through the hot path. Aligned 8-byte fields read whole on the
platforms fxpipe runs on, so each number is one a writer really stored."""
from __future__ import annotations

import time

from fxpipe.ring import layout
from fxpipe.ring.segment import process_alive

CONSUMER_STATES = {0: "free", 1: "declared", 2: "attached", 3: "detached", 4: "claiming", 5: "joining"}
WAIT_NAMES = {0: "spin", 1: "yield", 2: "sleep", 3: "block"}
PRODUCER_MODES = {1: "single", 2: "multi"}


def ring_status(ring) -> dict:
    h = ring.header
    ident, pr = h["id"], h["producer"]
    now = time.monotonic_ns()  # CLOCK_MONOTONIC, the clock heartbeats are written with
    cursor = int(h["cursor"]["value"])
    entries = h["consumers"]
    names = [e["name"].decode(errors="replace") for e in entries]
    consumers = []
    for i, e in enumerate(entries):
        state = int(e["state"])
        if state == 0:
            continue
        pid, seq, hb, mask = int(e["pid"]), int(e["sequence"]), int(e["heartbeat_ns"]), int(e["depends_mask"])
        consumers.append({
            "name": names[i], "index": i, "state": CONSUMER_STATES.get(state, f"?{state}"),
            "generation": int(e["generation"]), "waiting": int(e["waiting"]),
            "wait": WAIT_NAMES.get(int(e["wait_strategy"]), "?"), "pid": pid,
            "alive": bool(pid) and process_alive(pid, int(e["start_time"])),
            "sequence": seq, "lag": cursor - seq, "waits": int(e["waits"]),
            "heartbeat_age_s": (now - hb) / 1e9 if hb else None,
            "depends_on": [names[j] for j in range(layout.MAX_CONSUMERS) if mask >> j & 1],
        })
    ppid = abs(int(pr["pid"]))
    return {
        "name": ring.name, "path": ring.path, "layout_version": int(ident["layout_version"]),
        "slot_size": int(ident["slot_size"]), "slot_count": int(ident["slot_count"]),
        "producer_mode": PRODUCER_MODES.get(int(ident["producer_mode"]), "?"),
        "blocking": bool(int(ident["flags"]) & layout.FLAG_BLOCKING),
        "closed": int(ident["state"]) == layout.STATE_CLOSED,
        "creator_pid": int(ident["creator_pid"]),
        "creator_alive": process_alive(int(ident["creator_pid"]), int(ident["creator_start_time"])),
        "cursor": cursor,
        "producer": {
            "pid": ppid, "alive": bool(ppid) and process_alive(ppid, int(pr["start_time"])),
            "full_waits": int(pr["full_waits"]), "full_wait_s": int(pr["full_wait_ns"]) / 1e9,
            "full_timeouts": int(pr["full_timeouts"]), "dead_consumers_seen": int(pr["dead_consumers_seen"]),
            "detached": int(pr["detached"]), "waiters_recovered": int(pr["waiters_recovered"]),
        },
        "futex": {k: int(h["futex"][k]) for k in ("pub_waiters", "rel_waiters")},
        "consumers": consumers,
    }


def dead_consumers(status: dict, heartbeat_timeout: float | None = None) -> list[str]:
    """Attached or joining consumers whose process is gone (pid and start time decide). With
    heartbeat_timeout, also the stalled ones (see stalled_consumers): advisory."""
    out = [c["name"] for c in status["consumers"]
           if c["state"] in ("attached", "joining") and c["pid"] and not c["alive"]]
    if heartbeat_timeout is not None:
        out += [n for n in stalled_consumers(status, heartbeat_timeout) if n not in out]
    return out


def stalled_consumers(status: dict, timeout: float) -> list[str]:
    """Live attached consumers with unread events whose heartbeat (refreshed by every release
    and while waiting) is older than timeout: hung, or on one event for that long."""
    return [c["name"] for c in status["consumers"]
            if c["state"] == "attached" and c["alive"] and c["lag"] > 0
            and c["heartbeat_age_s"] is not None and c["heartbeat_age_s"] > timeout]
