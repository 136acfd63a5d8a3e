"""Kernel command line: what the trading cores need from boot, planned as a boot config change.

isolcpus, nohz_full and rcu_nocbs can only be set at boot, so apply never touches the running
kernel for them: it edits the boot loader config (see boot.py) and every item that reads the
running kernel (/proc/cmdline, /sys/devices/system/cpu/isolated and nohz_full) stays "differs"
with "reboot needed" until the host boots with the new command line.
"""
from __future__ import annotations

from fxpipe.tuning.boot import PARAM_FMT, BootPlan, plan_boot, same_param
from fxpipe.tuning.host import Host
from fxpipe.tuning.layout import Target
from fxpipe.tuning.model import DIFFERS, EditFile, Item
from fxpipe.tuning.topology import CPU_DIR, Topology
from fxpipe.tuning.values import format_cpulist

AREA = "kernel"


def wanted_params(target: Target, topo: Topology) -> list[tuple[str, str]]:
    """The managed kernel parameters, in the order they are added to a command line."""
    trading = format_cpulist(target.trading)
    params = [
        ("isolcpus", f"managed_irq,domain,{trading}"),
        ("nohz_full", trading),
        ("rcu_nocbs", trading),
        ("irqaffinity", format_cpulist(target.housekeeping)),
        ("transparent_hugepage", "never"),
    ]
    if topo.vendor in ("GenuineIntel", "AuthenticAMD"):
        params.append(("processor.max_cstate", "1"))
    if topo.vendor == "GenuineIntel":
        params += [("intel_idle.max_cstate", "0"), ("intel_pstate", "disable")]
    if target.options.idle_poll:
        params.append(("idle", "poll"))
    return params


def running_params(host: Host) -> tuple[dict[str, str] | None, str]:
    """Parameters of the running kernel; the ones after "--" belong to init, not the kernel."""
    text, why = host.read_or_reason("/proc/cmdline")
    if text is None:
        return None, why
    params: dict[str, str] = {}
    for token in text.split():
        if token == "--":
            break
        key, _, value = token.partition("=")
        params[key] = value
    return params, ""


def items(host: Host, target: Target, topo: Topology) -> list[Item]:
    wanted = wanted_params(target, topo)
    boot = plan_boot(host, wanted, target.options.boot_config)
    out = [_boot_item(boot)]
    running, why = running_params(host)
    for key, value in wanted:
        current = None if running is None else running.get(key, "")
        if boot.current is not None and _in(boot.current, key, value):
            note = "reboot needed: the boot config already sets it"
        else:
            note = "set in the boot config by kernel.boot-config; reboot needed"
        item = Item(key=f"kernel.cmdline.{key}", area=AREA, title=f"running kernel: {key}", wanted=value,
                    current=current, fmt=PARAM_FMT.get(key, "text"), reboot=True, note=why)
        if item.status == DIFFERS:
            item.note = note
        out.append(item)
    trading = format_cpulist(target.trading)
    for name, what in (("isolated", "isolated cores"), ("nohz_full", "tickless (nohz_full) cores")):
        current, missing = host.read_or_reason(f"{CPU_DIR}/{name}")
        item = Item(key=f"kernel.{name}", area=AREA, title=f"running kernel: {what}", wanted=trading,
                    current=current, fmt="cpulist", reboot=True)
        if current is None:
            item.note = f"{missing} (kernel built without it?)" if name == "nohz_full" else missing
        elif item.status == DIFFERS:
            item.note = "reboot needed: follows the kernel command line"
        out.append(item)
    return out


def _in(current: str, key: str, value: str) -> bool:
    found = [t.partition("=")[2] for t in current.split() if t.partition("=")[0] == key]
    return bool(found) and same_param(key, found[-1], value)


def _boot_item(boot: BootPlan) -> Item:
    title = f"boot config {boot.path}" if boot.path else "boot config"
    action = None
    if boot.path and boot.content is not None and boot.current is not None:
        action = EditFile(path=boot.path, content=boot.content, summary=boot.summary, reboot=True)
    note = boot.problem or ("" if boot.current == boot.wanted else f"reboot needed: {boot.next_step}")
    return Item(key="kernel.boot-config", area=AREA, title=title, wanted=boot.wanted, current=boot.current,
                action=action, note=note, reboot=True)
