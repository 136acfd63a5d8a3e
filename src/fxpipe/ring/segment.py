"""Where ring segments live and how to tell a live one from a stale one.

A ring named N is the POSIX shared-memory object `/fxpipe.N`, i.e. the file
/dev/shm/fxpipe.N on Linux (what shm_open would create), created 0600. A creator is
identified by pid *and* process start time, so a recycled pid is not mistaken for it.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

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
    if pid <= 0:
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
