"""irqbalance banned from the trading cores, so it never moves an IRQ back onto them.

irqbalance keeps balancing the housekeeping cores (useful there) but leaves every core in
IRQBALANCE_BANNED_CPULIST alone. The ban lives in its environment file (/etc/default/irqbalance
on Debian, /etc/sysconfig/irqbalance on RHEL), which the daemon reads only when it starts: so a
running irqbalance is checked through its own environment and restarted after the file changes.
"""
from __future__ import annotations

import re

from fxpipe.tuning.host import Host
from fxpipe.tuning.layout import Target
from fxpipe.tuning.model import EditFile, Item, RestartService
from fxpipe.tuning.values import format_cpulist

AREA = "irq"
CONFIG_FILES = ("/etc/default/irqbalance", "/etc/sysconfig/irqbalance")
VAR = "IRQBALANCE_BANNED_CPULIST"
_ASSIGN = re.compile(rf"^\s*(?:export\s+)?{VAR}=(.*?)\s*$")


def _installed(host: Host) -> bool:
    return host.which("irqbalance") is not None or any(host.exists(f) for f in CONFIG_FILES)


def _config_path(host: Host) -> str:
    for f in CONFIG_FILES:
        if host.exists(f):
            return f
    return CONFIG_FILES[1] if host.exists("/etc/sysconfig") else CONFIG_FILES[0]


def running_pids(host: Host) -> list[int]:
    pids = []
    for entry in host.listdir("/proc"):
        if entry.isdigit():
            comm, _ = host.read_or_reason(f"/proc/{entry}/comm")
            if comm == "irqbalance":
                pids.append(int(entry))
    return pids


def _banned_in(text: str) -> str:
    value = ""
    for line in text.splitlines():
        m = _ASSIGN.match(line)
        if m:
            value = m.group(1).strip().strip("\"'")
    return value


def _with_ban(text: str, banned: str) -> str:
    lines = [line for line in text.splitlines() if not _ASSIGN.match(line)]
    lines.append(f'{VAR}="{banned}"')
    return "\n".join(lines) + "\n"


def items(host: Host, target: Target) -> list[Item]:
    banned = format_cpulist(target.trading)
    if not _installed(host):
        return [Item(key="irq.irqbalance", area=AREA, title="irqbalance", wanted="not installed",
                     current="not installed", note="nothing to ban")]
    path = _config_path(host)
    text, why = host.read_or_reason(path)
    if text is None and host.exists(path):
        config = Item(key="irq.irqbalance.config", area=AREA, title=f"irqbalance ban in {path}", wanted=banned,
                      current=None, fmt="cpulist", note=why)
    else:
        text = text or ""
        current = _banned_in(text)
        action = EditFile(path=path, content=_with_ban(text, banned), summary=f'{VAR}="{banned}"')
        config = Item(key="irq.irqbalance.config", area=AREA, title=f"irqbalance ban in {path}", wanted=banned,
                      current=current, fmt="cpulist", action=action,
                      note="" if current else f"{VAR} is not set")
    out = [config]
    for pid in running_pids(host):
        env, why = _environ(host, pid)
        running_ban = None if env is None else env.get(VAR, "")
        out.append(Item(key="irq.irqbalance.running", area=AREA, title=f"running irqbalance (pid {pid}) ban",
                        wanted=banned, current=running_ban, fmt="cpulist", note=why,
                        action=RestartService("irqbalance.service") if config.action else None))
    return out


def _environ(host: Host, pid: int) -> tuple[dict[str, str] | None, str]:
    try:
        raw = host.path(f"/proc/{pid}/environ").read_bytes()
    except PermissionError:
        return None, f"no permission to read /proc/{pid}/environ (run as root to see irqbalance's ban)"
    except OSError as exc:
        return None, f"cannot read /proc/{pid}/environ: {exc.strerror or exc}"
    env = {}
    for entry in raw.split(b"\0"):
        key, sep, value = entry.decode(errors="replace").partition("=")
        if sep:
            env[key] = value
    return env, ""
