"""The sink's checkpoint: the last journal sequence QuestDB acknowledged, for one journal.

One small JSON file, replaced atomically (written to a temporary file in the same directory,
fsynced, renamed over the old one, directory fsynced) and readable by its owner only (0600), so
a crash at any point leaves either the old checkpoint or the new one, never a torn one. It
names the journal it belongs to: pointing the sink at another journal with an old checkpoint is
refused rather than silently skipping that journal's first records.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from fxpipe.journal.segments import fsync_dir


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used; the message says which and what to do."""


@dataclass(frozen=True)
class Checkpoint:
    journal_id: int
    last_seq: int       # every record up to and including this one is in QuestDB


def default_path(journal_dir: str | os.PathLike) -> Path:
    """Beside the journal directory, never inside it (the journal's files are its writer's)."""
    d = Path(journal_dir).resolve()
    return d.parent / f"{d.name}.questdb-checkpoint"


def load(path: str | os.PathLike) -> Checkpoint | None:
    """The checkpoint at path, or None when there is none yet."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{p}: cannot read the QuestDB sink checkpoint: {exc}") from None
    try:
        doc = json.loads(text)
        cp = Checkpoint(int(doc["journal_id"], 16), int(doc["last_seq"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(
            f"{p}: not a QuestDB sink checkpoint ({exc!r}); move it aside to re-send the whole "
            f"journal (QuestDB de-duplicates what it already has)") from None
    if cp.last_seq < 0:
        raise CheckpointError(f"{p}: last_seq {cp.last_seq} is negative")
    return cp


def save(path: str | os.PathLike, cp: Checkpoint) -> None:
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp")
    data = json.dumps({"journal_id": f"{cp.journal_id:016x}", "last_seq": cp.last_seq}).encode() + b"\n"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, p)
    fsync_dir(p.parent)
