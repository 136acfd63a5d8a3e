"""What a check finds (`Item`) and how apply changes it (`Action`s that can undo themselves).

An item pairs the current value of one setting with the wanted one and carries the action that
would make them equal, or none when the setting cannot change live (a kernel boot parameter
takes a reboot; advice such as the NIC's NUMA node is for the operator). An action records what
it needs to undo itself before it changes anything, and rebuilds from its JSON form, so the
snapshot written by apply is enough for a later revert.
"""
from __future__ import annotations

import os
import shlex
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from fxpipe.tuning.host import Host, MissingFile, NoPermission, Refused, TuningError
from fxpipe.tuning.values import normalize, same

OK, DIFFERS, UNKNOWN = "ok", "differs", "unknown"


class Action(ABC):
    """One change to the host. Subclasses are small dataclasses that serialise to JSON."""

    kind: ClassVar[str]
    phase: ClassVar[int] = 0  # lower phases run first on apply and are undone first on revert

    @property
    @abstractmethod
    def key(self) -> str:
        """What the change targets (a path, a command setting); one snapshot entry per key."""

    @abstractmethod
    def describe(self) -> str:
        """The exact change, as plan prints it."""

    def params(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def capture(self, host: Host) -> dict[str, Any]:
        """What undo needs, read before the change."""
        return {}

    @abstractmethod
    def perform(self, host: Host) -> None:
        """Make the change; raise a TuningError when the host refuses it."""

    @abstractmethod
    def undo(self, host: Host, saved: dict[str, Any]) -> None:
        """Put back what capture() saw."""

    @abstractmethod
    def describe_undo(self, saved: dict[str, Any]) -> str:
        """What undo would do, as revert prints it."""


@dataclass
class WriteValue(Action):
    """Write one value to a /proc or /sys file, then read it back."""

    path: str
    value: str
    fmt: str = "text"
    kind: ClassVar[str] = "write"

    @property
    def key(self) -> str:
        return self.path

    def describe(self) -> str:
        return f"write {self.value} to {self.path}"

    def capture(self, host: Host) -> dict[str, Any]:
        try:
            return {"value": normalize(self.fmt, host.read(self.path))}
        except FileNotFoundError:
            raise MissingFile(f"cannot change {self.path}: it does not exist") from None
        except PermissionError:
            raise NoPermission(f"no permission to read {self.path}: run as root") from None

    def perform(self, host: Host) -> None:
        self._write_and_verify(host, self.value)

    def undo(self, host: Host, saved: dict[str, Any]) -> None:
        self._write_and_verify(host, saved["value"])

    def describe_undo(self, saved: dict[str, Any]) -> str:
        return f"write {saved['value']} to {self.path}"

    def _write_and_verify(self, host: Host, value: str) -> None:
        host.write_value(self.path, value)
        # sysfs may accept a write and keep another value (e.g. a governor the driver lacks).
        back, why = host.read_or_reason(self.path)
        if back is None:
            raise Refused(f"wrote {value!r} to {self.path} but cannot read it back: {why}")
        if not same(self.fmt, normalize(self.fmt, back), value):
            raise Refused(f"the kernel did not take {value!r} for {self.path}: it reads back {back!r}")


@dataclass
class EditFile(Action):
    """Replace a config file's content (None removes it); undo restores the old bytes and mode."""

    path: str
    content: str | None
    summary: str = ""
    reboot: bool = False  # a boot config: the change takes effect at the next boot
    kind: ClassVar[str] = "file"

    @property
    def key(self) -> str:
        return self.path

    def describe(self) -> str:
        verb = "remove" if self.content is None else "edit" if self.summary else "write"
        return f"{verb} {self.path}" + (f": {self.summary}" if self.summary else "")

    def capture(self, host: Host) -> dict[str, Any]:
        local = host.path(self.path)
        try:
            with open(local, encoding="utf-8") as f:
                return {"content": f.read(), "mode": os.stat(local).st_mode & 0o7777}
        except FileNotFoundError:
            return {"content": None, "mode": 0o644}
        except PermissionError:
            raise NoPermission(f"no permission to read {self.path}: run as root") from None

    def perform(self, host: Host) -> None:
        mode = self.capture(host)["mode"]
        host.write_file(self.path, self.content, mode)

    def undo(self, host: Host, saved: dict[str, Any]) -> None:
        host.write_file(self.path, saved["content"], saved["mode"])

    def describe_undo(self, saved: dict[str, Any]) -> str:
        if saved["content"] is None:
            return f"remove {self.path} (it did not exist)"
        return f"put back the original {self.path}"


@dataclass
class RunCommand(Action):
    """Run a command that changes a setting; undo runs the command that sets it back."""

    name: str
    argv: list[str]
    undo_argv: list[str]
    kind: ClassVar[str] = "run"

    @property
    def key(self) -> str:
        return self.name

    def describe(self) -> str:
        return f"run {shlex.join(self.argv)}"

    def capture(self, host: Host) -> dict[str, Any]:
        # The old value was read when the item was built; keep it with the saved state so a
        # second apply (whose undo_argv would set fxpipe's own value) cannot replace it.
        return {"undo_argv": list(self.undo_argv)}

    def perform(self, host: Host) -> None:
        host.run_checked(self.argv)

    def undo(self, host: Host, saved: dict[str, Any]) -> None:
        host.run_checked(saved["undo_argv"])

    def describe_undo(self, saved: dict[str, Any]) -> str:
        return f"run {shlex.join(saved['undo_argv'])}"


@dataclass
class RestartService(Action):
    """Restart a running service so it reads its changed config; a no-op when it is stopped."""

    unit: str
    kind: ClassVar[str] = "restart"
    phase: ClassVar[int] = 1  # after the config files it reads

    @property
    def key(self) -> str:
        return f"service:{self.unit}"

    def describe(self) -> str:
        return f"run systemctl try-restart {self.unit}"

    def perform(self, host: Host) -> None:
        host.run_checked(["systemctl", "try-restart", self.unit])

    def undo(self, host: Host, saved: dict[str, Any]) -> None:
        host.run_checked(["systemctl", "try-restart", self.unit])

    def describe_undo(self, saved: dict[str, Any]) -> str:
        return f"run systemctl try-restart {self.unit} (after its config is back)"


ACTION_KINDS: dict[str, type[Action]] = {
    cls.kind: cls for cls in (WriteValue, EditFile, RunCommand, RestartService)
}


def action_from_json(kind: str, params: dict[str, Any]) -> Action:
    try:
        return ACTION_KINDS[kind](**params)
    except (KeyError, TypeError) as exc:
        raise TuningError(f"snapshot holds a change this version cannot read ({kind}: {exc})") from None


@dataclass
class Item:
    """One setting: its current and wanted value, and how apply would change it."""

    key: str
    area: str
    title: str
    wanted: str
    current: str | None  # None: could not be read, see note
    fmt: str = "text"
    action: Action | None = None
    note: str = ""
    group: str = ""  # items of one group differ only by cpu, so a report may fold them
    cpu: int | None = None
    reboot: bool = False  # takes effect at the next boot, never live

    @property
    def status(self) -> str:
        if self.current is None:
            return UNKNOWN
        return OK if same(self.fmt, self.current, self.wanted) else DIFFERS

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "area": self.area, "title": self.title, "status": self.status,
            "current": self.current, "wanted": self.wanted, "note": self.note,
            "reboot": self.reboot, "change": self.action.describe() if self.action else None,
        }
