"""The checks a header read from a file passes before any pointer into the segment is made
from it. A segment is ours only when every field agrees with the file and with the others:
magic and layout version, a power-of-two slot count, a slot size within limits, the consumer
table size this build was compiled with, every offset and length inside the file (recomputed
from the geometry, not trusted), owner and mode, and consumer entries whose states, wait
strategies, dependencies and names make sense. Anything else is a clear RingLayoutError, never
a SIGSEGV or SIGBUS in the producer."""
from __future__ import annotations

import os
import stat

import numpy as np

from fxpipe.ring import layout as L
from fxpipe.ring.errors import RingLayoutError


class NotReady(Exception):
    """The segment exists but its creator has not finished it (empty, zero identity, or state
    INITIALIZING): worth waiting for."""


def _damaged(name: str, path, what: str) -> RingLayoutError:
    return RingLayoutError(f"ring {name!r} at {path} is damaged: {what}; stop its processes and "
                           "recreate it (fxpipe ring clean --yes removes it once they are gone)")


def check_owner(name: str, path, st: os.stat_result) -> None:
    if st.st_uid != os.geteuid():
        raise RingLayoutError(f"ring {name!r}: {path} belongs to uid {st.st_uid}, not to this user "
                              f"({os.geteuid()}); a ring is private to the user who runs the stages")
    mode = stat.S_IMODE(st.st_mode)
    if mode != 0o600:
        raise RingLayoutError(f"ring {name!r}: {path} has mode {mode:o}, not 600; someone changed it: "
                              "recreate the ring")


def check_header(name: str, path, raw: bytes, file_size: int):
    """Validate a whole header (raw: its bytes). Returns the header as a numpy record.
    Raises NotReady while the creator is still writing it, RingLayoutError when it is wrong."""
    if file_size == 0 or len(raw) < L.IDENTITY.itemsize or not any(raw[:8]):
        raise NotReady(f"ring {name!r}: {path} has no identity yet")
    ident = np.frombuffer(raw[: L.IDENTITY.itemsize], dtype=L.IDENTITY)[0]
    magic = int(ident["magic"])
    if magic != L.MAGIC:
        raise RingLayoutError(f"{path} is not an fxpipe ring (magic {magic:#018x}); "
                              "remove it or pick another name")
    version = int(ident["layout_version"])
    if version != L.LAYOUT_VERSION:
        raise RingLayoutError(f"ring {name!r} has layout version {version}; this fxpipe reads version "
                              f"{L.LAYOUT_VERSION}: run matching builds, or remove it "
                              "(fxpipe ring clean --force) once its processes are gone")
    if int(ident["state"]) == L.STATE_INITIALIZING:
        raise NotReady(f"ring {name!r} is still initialising")
    if file_size < L.HEADER.itemsize or len(raw) < L.HEADER.itemsize:
        raise _damaged(name, path, f"the file is {file_size} bytes, shorter than a header "
                                   f"({L.HEADER.itemsize})")
    h = np.frombuffer(raw[: L.HEADER.itemsize], dtype=L.HEADER)[0]
    i = h["id"]
    state = int(i["state"])
    if state not in (L.STATE_READY, L.STATE_CLOSED):
        raise _damaged(name, path, f"ring state {state} is not ready (1) or closed (2)")
    count, size, mode = int(i["slot_count"]), int(i["slot_size"]), int(i["producer_mode"])
    if count < 2 or count > L.MAX_SLOT_COUNT or count & (count - 1):
        raise _damaged(name, path, f"slot_count {count} is not a power of two in 2..{L.MAX_SLOT_COUNT}")
    if size < 8 or size > L.MAX_SLOT_SIZE or size % 8:
        raise _damaged(name, path, f"slot_size {size} is not a multiple of 8 in 8..{L.MAX_SLOT_SIZE}")
    if mode not in (L.PRODUCER_SINGLE, L.PRODUCER_MULTI):
        raise _damaged(name, path, f"producer_mode {mode} is neither single (1) nor multi (2)")
    if int(i["max_consumers"]) != L.MAX_CONSUMERS:
        raise _damaged(name, path, f"consumer table of {int(i['max_consumers'])} entries; this build "
                                   f"has {L.MAX_CONSUMERS}")
    flags = int(i["flags"])
    if flags & ~L.KNOWN_FLAGS:
        raise _damaged(name, path, f"unknown flags {flags:#x}")
    avail, slots, total = L.geometry(count, size, mode)
    for field, want in (("avail_offset", avail), ("slots_offset", slots), ("total_size", total)):
        got = int(i[field])
        if got != want:
            raise _damaged(name, path, f"{field} is {got}, but {count} slots of {size} bytes put it at {want}")
    if total != file_size:
        raise _damaged(name, path, f"the file is {file_size} bytes, its header says {total}")
    for k, e in enumerate(h["consumers"]):
        st = int(e["state"])
        if st > L.CONSUMER_JOINING:
            raise _damaged(name, path, f"consumer entry {k} has state {st}")
        if st == L.CONSUMER_FREE:
            continue
        if int(e["wait_strategy"]) >= L.WAIT_CODES:
            raise _damaged(name, path, f"consumer entry {k} has wait strategy {int(e['wait_strategy'])}")
        if int(e["waiting"]) > 2:
            raise _damaged(name, path, f"consumer entry {k} has waiting {int(e['waiting'])}")
        mask = int(e["depends_mask"])
        if mask >> L.MAX_CONSUMERS or mask >> k & 1:
            raise _damaged(name, path, f"consumer entry {k} depends on {mask:#x} (itself, or past the table)")
        raw_name = bytes(raw[640 + k * L.CONSUMER.itemsize + 184: 640 + k * L.CONSUMER.itemsize + 184 + 32])
        if b"\0" not in raw_name or not raw_name.split(b"\0", 1)[0]:
            raise _damaged(name, path, f"consumer entry {k} has no NUL-terminated name")
    if int(h["producer"]["waiting"]) > 2:
        raise _damaged(name, path, f"producer waiting is {int(h['producer']['waiting'])}")
    return h
