"""Where ring segments live and how to tell a live one from a stale one.

A ring named N is the POSIX shared-memory object `/fxpipe.N`, i.e. the file
/dev/shm/fxpipe.N on Linux (what shm_open would create), created 0600. A creator is
identified by pid *and* process start time, so a recycled pid is not mistaken for it.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import re
from pathlib import Path

import numpy as np

from fxpipe.ring import layout
from fxpipe.ring.errors import RingExistsError, RingLayoutError, StaleRingError

SHM_DIR = Path(os.environ.get("FXPIPE_SHM_DIR", "/dev/shm"))
PREFIX = "fxpipe."
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,38}$")


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"bad ring name {name!r}: use 1-39 characters of letters, digits, '_', '.', '-', "
            "not starting with '.' or '-'")
    return name


def segment_path(name: str) -> Path:
    return SHM_DIR / (PREFIX + check_name(name))


def process_start_time(pid: int) -> int:
    """Start time of pid in clock ticks since boot (/proc/PID/stat field 22); 0 if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError, OSError):
        return 0
    # comm (field 2) may contain spaces and parentheses: split after the last ')'.
    rest = stat[stat.rindex(")") + 2:].split()
    return int(rest[19])


def process_alive(pid: int, start_time: int = 0) -> bool:
    """True if pid runs and, when start_time is given, is the same process as then. A zombie
    (exited, not yet reaped) is dead: it will never release or publish again."""
    if pid <= 0 or pid > 2**31 - 1:  # no such pid (a damaged header may hold anything)
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat[stat.rindex(")") + 2] in "ZX":
            return False
    except (OSError, ValueError, IndexError):
        pass
    if start_time:
        now = process_start_time(pid)
        return now == 0 or now == start_time
    return True


def list_segments() -> list[str]:
    """Names of every fxpipe ring segment present on this host."""
    if not SHM_DIR.is_dir():
        return []
    return sorted(p.name[len(PREFIX):] for p in SHM_DIR.iterdir() if p.name.startswith(PREFIX))


def read_identity(raw: bytes):
    """The identity line of a segment (first 128 bytes) as a numpy record."""
    return np.frombuffer(raw[: layout.IDENTITY.itemsize], dtype=layout.IDENTITY)[0]


def check_identity(name: str, path, raw: bytes, size: int, header_size: int) -> None:
    """Refuse anything that is not an fxpipe ring of this layout version, saying what to do."""
    if size < header_size or len(raw) < layout.IDENTITY.itemsize:
        raise RingLayoutError(f"{path} is {size} bytes, too small to be an fxpipe ring; remove it")
    ident = read_identity(raw)
    if int(ident["magic"]) != layout.MAGIC:
        raise RingLayoutError(f"{path} is not an fxpipe ring (magic {int(ident['magic']):#018x}); "
                              "remove it or pick another name")
    if int(ident["layout_version"]) != layout.LAYOUT_VERSION:
        raise RingLayoutError(f"ring {name!r} has layout version {int(ident['layout_version'])}; this fxpipe "
                              f"reads version {layout.LAYOUT_VERSION}: run matching builds or recreate the ring")


def read_identity_line(path) -> tuple[bytes, int]:
    """The first line of a segment file (its identity) and the file's size."""
    with open(path, "rb") as f:
        raw = f.read(layout.IDENTITY.itemsize)
    return raw, os.stat(path).st_size


def is_other_version(raw: bytes, size: int, header_size: int) -> bool:
    """An fxpipe ring (our magic, an identity line) of another layout version."""
    return (len(raw) >= layout.IDENTITY.itemsize and int(read_identity(raw)["magic"]) == layout.MAGIC
            and int(read_identity(raw)["layout_version"]) != layout.LAYOUT_VERSION)


def creator_alive(raw: bytes) -> tuple[int, bool]:
    ident = read_identity(raw)
    pid = int(ident["creator_pid"])
    return pid, process_alive(pid, int(ident["creator_start_time"]))


@contextlib.contextmanager
def directory_lock():
    """Serialises creating and removing segments on this host (an flock on the segment
    directory), so a stale-segment removal never deletes a ring another process has just
    created under the same name: the check and the unlink happen under one lock, and so do
    the check and the O_EXCL create."""
    fd = os.open(SHM_DIR, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # drops the lock


def users_alive(path) -> list[str]:
    """Who still uses a segment of this layout version: the creator, the producer and every
    consumer whose pid (with its start time) runs. Empty: the segment is stale."""
    with open(path, "rb") as f:
        raw = f.read(layout.HEADER.itemsize)
    if len(raw) < layout.HEADER.itemsize:
        ident = read_identity(raw) if len(raw) >= layout.IDENTITY.itemsize else None
        if ident is not None and process_alive(int(ident["creator_pid"]), int(ident["creator_start_time"])):
            return [f"creator pid {int(ident['creator_pid'])}"]
        return []
    h = np.frombuffer(raw, dtype=layout.HEADER)[0]
    out = []
    i, pr = h["id"], h["producer"]
    if process_alive(int(i["creator_pid"]), int(i["creator_start_time"])):
        out.append(f"creator pid {int(i['creator_pid'])}")
    ppid = abs(int(pr["pid"]))
    if ppid and process_alive(ppid, int(pr["start_time"])):
        out.append(f"producer pid {ppid}")
    for e in h["consumers"]:
        if int(e["state"]) != layout.CONSUMER_FREE and int(e["pid"]) > 0 \
                and process_alive(int(e["pid"]), int(e["start_time"])):
            out.append(f"consumer {e['name'].decode(errors='replace')} pid {int(e['pid'])}")
    return out


def judge_stale(name: str, path, force: bool = False) -> tuple[bool, str]:
    """(removable, why) for the segment at path; call under directory_lock(). Only fxpipe rings
    whose processes are all gone are removable; one of another layout version only with force
    (its header cannot be read with this build's layout, so its creator alone decides)."""
    try:
        raw, size = read_identity_line(path)
    except FileNotFoundError:
        return False, "gone"
    except PermissionError:
        return False, "belongs to another user"
    if len(raw) < layout.IDENTITY.itemsize or int(read_identity(raw)["magic"]) != layout.MAGIC:
        return False, "not an fxpipe ring: never removed"
    if is_other_version(raw, size, 0):
        pid, alive = creator_alive(raw)
        version = int(read_identity(raw)["layout_version"])
        if alive:
            return False, f"layout version {version}, creator pid {pid} alive"
        if not force:
            return False, f"layout version {version} (this build reads {layout.LAYOUT_VERSION}): refused without --force"
        return True, f"layout version {version}, creator pid {pid} gone"
    users = users_alive(path)
    if users:
        return False, "in use by " + ", ".join(users)
    pid = int(read_identity(raw)["creator_pid"])
    return True, f"creator pid {pid} and every producer and consumer gone"


def remove_if_stale(name: str, path, replace_stale: bool, header_size: int, force: bool = False) -> None:
    """A segment of that name exists (call under directory_lock()): refuse a live ring, remove
    a stale one when asked. A file that is not an fxpipe ring is never removed; one of another
    layout version only with force."""
    try:
        raw, size = read_identity_line(path)
    except FileNotFoundError:
        return
    except PermissionError:
        raise RingExistsError(f"ring {name!r}: {path} exists and belongs to another user") from None
    if len(raw) < layout.IDENTITY.itemsize or int(read_identity(raw)["magic"]) != layout.MAGIC:
        raise RingLayoutError(f"{path} is not an fxpipe ring; it is never removed: remove it yourself "
                              "or pick another name")
    removable, why = judge_stale(name, path, force)
    if is_other_version(raw, size, header_size):
        if not removable:
            raise RingLayoutError(f"ring {name!r} at {path}: {why}; stop its processes, then create with "
                                  "replace_stale=True, force=True (or fxpipe ring clean --yes --force)")
        if not replace_stale:
            raise StaleRingError(f"ring {name!r} at {path} is stale ({why}); create with replace_stale=True")
        os.unlink(path)
        return
    pid, alive = creator_alive(raw)
    if alive:
        raise RingExistsError(f"ring {name!r} exists and its creator pid {pid} is alive; attach to it "
                              "instead, or stop that process")
    if not removable:
        raise RingExistsError(f"ring {name!r} at {path}: its creator pid {pid} is gone but it is {why}; "
                              "stop those processes first")
    if not replace_stale:
        raise StaleRingError(f"ring {name!r} at {path} is stale: its creator pid {pid} is gone. "
                             "Remove it (fxpipe ring clean --yes) or create with replace_stale=True")
    os.unlink(path)
