"""The one door to the host: every file and every command goes through `Host`, under its root.

With root "/" it is the real machine; with any other root it is a tree that tests (or an
operator rehearsing a change) built, and even commands such as ethtool and systemctl are looked
up under that root, so a rehearsal can never touch the real host. Reads report what is missing
or unreadable instead of raising; writes raise a `TuningError` that says which of the four
things went wrong: the file is missing, permission was denied, or the kernel refused the value.
"""
from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

# Where commands are looked up, in order, inside the root.
_BIN_DIRS = ("usr/sbin", "sbin", "usr/bin", "bin")
_COMMAND_TIMEOUT_S = 20


class TuningError(Exception):
    """A problem the operator must act on; the message says what, where and what to do."""


class MissingFile(TuningError):
    """A file the change needs does not exist (kernel or driver lacks the setting)."""


class NoPermission(TuningError):
    """Writing needs privileges this process does not have."""


class Refused(TuningError):
    """The kernel (or a command) refused the value."""


class Host:
    """Files and commands of one host, every path resolved under `root`."""

    def __init__(self, root: str | os.PathLike[str] = "/"):
        self.root = Path(root).resolve()

    @property
    def is_real(self) -> bool:
        return self.root == Path("/")

    def path(self, host_path: str) -> Path:
        """The local path of a host path such as "/proc/cmdline"."""
        return self.root / host_path.lstrip("/")

    # ---- reading -------------------------------------------------------------------------

    def read(self, host_path: str) -> str:
        """The stripped text of a file; raises OSError (FileNotFoundError, PermissionError...)."""
        with open(self.path(host_path), encoding="utf-8", errors="replace") as f:
            return f.read().strip()

    def read_or_reason(self, host_path: str) -> tuple[str | None, str]:
        """(text, "") when readable, else (None, why not) for an item marked unknown."""
        try:
            return self.read(host_path), ""
        except FileNotFoundError:
            if self.path(host_path).exists():
                # sysfs lists some files it then has no value for (XPS of a single-queue NIC).
                return None, f"the kernel gives no value for {host_path}"
            return None, f"missing {host_path}"
        except PermissionError:
            return None, f"no permission to read {host_path} (run as root to see it)"
        except OSError as exc:
            return None, f"cannot read {host_path}: {exc.strerror or exc}"

    def exists(self, host_path: str) -> bool:
        return self.path(host_path).exists()

    def listdir(self, host_path: str) -> list[str]:
        """Entries of a directory, sorted; an absent or unreadable directory has none."""
        try:
            return sorted(os.listdir(self.path(host_path)))
        except OSError:
            return []

    def realpath(self, host_path: str) -> str | None:
        """The host path a symlink resolves to, or None when it leaves the root or is absent."""
        local = self.path(host_path)
        if not os.path.lexists(local):
            return None
        resolved = Path(os.path.realpath(local))
        try:
            rel = resolved.relative_to(self.root)
        except ValueError:
            return None
        return "/" + str(rel) if str(rel) != "." else "/"

    # ---- writing -------------------------------------------------------------------------

    def _write_raw(self, local: Path, data: str) -> None:
        """The bare write of a kernel setting; never creates a file that is not there."""
        fd = os.open(local, os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(fd, data.encode())
        finally:
            os.close(fd)

    def write_value(self, host_path: str, value: str) -> None:
        """Write one value to a /proc or /sys file, turning each failure into a clear error."""
        try:
            self._write_raw(self.path(host_path), value + "\n")
        except OSError as exc:
            raise _write_error(host_path, value, exc) from None

    def write_file(self, host_path: str, content: str | None, mode: int = 0o644) -> None:
        """Replace a config file atomically (temp file + rename), or remove it when None."""
        local = self.path(host_path)
        try:
            if content is None:
                local.unlink(missing_ok=True)
                return
            if not local.parent.is_dir():
                raise MissingFile(f"cannot write {host_path}: directory {os.path.dirname(host_path)} "
                                  f"does not exist")
            tmp = local.with_name(f".{local.name}.fxpipe-tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
            try:
                try:
                    os.write(fd, content.encode())
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.chmod(tmp, mode)
                os.replace(tmp, local)
            except OSError:
                tmp.unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise _write_error(host_path, "(file contents)", exc) from None

    # ---- commands ------------------------------------------------------------------------

    def which(self, name: str) -> str | None:
        """The host path of a command inside the root, or None when it is not installed."""
        for d in _BIN_DIRS:
            candidate = self.path(f"/{d}/{name}")
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return f"/{d}/{name}"
        return None

    def run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        """Run a command found under the root (argv[0] is a bare name); never raises on rc."""
        found = self.which(argv[0])
        if found is None:
            raise MissingFile(f"{argv[0]} is not installed (looked in {', '.join('/' + d for d in _BIN_DIRS)})")
        env = dict(os.environ, LC_ALL="C")
        try:
            return subprocess.run([str(self.path(found)), *argv[1:]], capture_output=True, text=True,
                                  env=env, timeout=_COMMAND_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise Refused(f"{' '.join(argv)} did not finish within {_COMMAND_TIMEOUT_S} s") from None
        except PermissionError:
            raise NoPermission(f"no permission to run {found}") from None
        except OSError as exc:
            raise TuningError(f"cannot run {found}: {exc.strerror or exc}") from None

    def run_checked(self, argv: list[str]) -> str:
        """Run a command that changes something; a non-zero exit is a refusal."""
        proc = self.run(argv)
        if proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            reason = detail[-1] if detail else f"exit status {proc.returncode}"
            if "not permitted" in reason.lower() and os.geteuid() != 0:
                raise NoPermission(f"{' '.join(argv)}: {reason} (run as root)")
            raise Refused(f"{' '.join(argv)} was refused: {reason}")
        return proc.stdout


def _write_error(host_path: str, value: str, exc: OSError) -> TuningError:
    if isinstance(exc, FileNotFoundError):
        return MissingFile(f"cannot write {host_path}: it does not exist (this kernel or driver does "
                           f"not offer the setting)")
    if exc.errno in (errno.EACCES, errno.EPERM) and os.geteuid() != 0:
        return NoPermission(f"no permission to write {host_path}: run as root")
    reason = exc.strerror or str(exc)
    return Refused(f"the kernel refused {value!r} for {host_path}: {reason} (errno {exc.errno})")
