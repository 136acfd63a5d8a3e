"""The snapshot apply leaves behind: the original value of everything it changed, for revert.

One JSON file under the state directory (default /var/lib/fxpipe/tuning, under the host's root).
Each entry is keyed by what it changed (a path, a command setting) and keeps the value found
before fxpipe first changed it: a second apply adds new entries but never overwrites an
original with a value fxpipe itself wrote, which keeps apply idempotent and revert exact. The
file is replaced atomically, and an exclusive lock keeps two applies from interleaving.
"""
from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fxpipe.tuning.host import Host, NoPermission, TuningError
from fxpipe.tuning.model import Action, action_from_json

STATE_DIR = "/var/lib/fxpipe/tuning"
VERSION = 1


@dataclass
class Entry:
    action: Action
    saved: dict[str, Any]  # what action.undo needs: the value before fxpipe changed it

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.action.kind, "params": self.action.params(), "saved": self.saved,
                "change": self.action.describe()}


class Snapshot:
    """The snapshot file of one host's state directory."""

    def __init__(self, host: Host, state_dir: str = STATE_DIR):
        self.host = host
        self.state_dir = state_dir
        self.path = f"{state_dir}/snapshot.json"

    def exists(self) -> bool:
        return self.host.exists(self.path)

    def load(self) -> list[Entry]:
        try:
            with open(self.host.path(self.path), encoding="utf-8") as f:
                doc = json.load(f)
        except FileNotFoundError:
            return []
        except PermissionError:
            raise NoPermission(f"no permission to read the snapshot {self.path}: run as root") from None
        except (OSError, ValueError) as exc:
            raise TuningError(f"snapshot {self.path} cannot be read ({exc}); it is left untouched") from None
        if not isinstance(doc, dict) or doc.get("version") != VERSION:
            raise TuningError(f"snapshot {self.path} has an unknown format (version {doc.get('version')!r}); "
                              f"it is left untouched")
        return [Entry(action_from_json(e["kind"], e["params"]), e["saved"]) for e in doc["entries"]]

    def save(self, entries: list[Entry]) -> None:
        if not entries:
            self.host.write_file(self.path, None)
            return
        doc = {"version": VERSION, "entries": [e.as_json() for e in entries]}
        self.host.write_file(self.path, json.dumps(doc, indent=1) + "\n", 0o600)

    @contextmanager
    def locked(self) -> Iterator[None]:
        local = self.host.path(self.state_dir)
        try:
            local.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(local / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        except PermissionError:
            raise NoPermission(f"no permission to create the state directory {self.state_dir}: run as root") from None
        except OSError as exc:
            raise TuningError(f"cannot use the state directory {self.state_dir}: {exc.strerror or exc}") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise TuningError(f"another fxpipe tune apply or revert holds {self.state_dir}/lock; "
                                  f"wait for it to finish") from None
            yield
        finally:
            os.close(fd)


def merged(old: list[Entry], new: list[Entry]) -> list[Entry]:
    """Old entries keep their original values; new keys are added in the order they were applied."""
    keys = {e.action.key for e in old}
    out = list(old)
    for entry in new:
        if entry.action.key in keys:
            # Keep the original value; remember the latest change so revert describes it right.
            out = [Entry(entry.action, e.saved) if e.action.key == entry.action.key else e for e in out]
        else:
            out.append(entry)
            keys.add(entry.action.key)
    return out
