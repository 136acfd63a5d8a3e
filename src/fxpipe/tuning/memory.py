"""Memory and scheduler: nothing the kernel does in the background lands on a trading core.

Transparent huge pages off, so no page fault on the hot path waits for a compaction and
khugepaged does not rewrite a ring's pages under it. Swappiness low, so the kernel does not page
out a quiet stage. RT throttling off (sched_rt_runtime_us = -1), so a SCHED_FIFO busy-spinning
stage is not parked for 50 ms every second. vm.stat_interval at 10 s, so the per-cpu vmstat
worker wakes a tickless core rarely. Timer migration and automatic NUMA balancing off, so
timers and page migrations stay where they were put. Unbound workqueues run on housekeeping
cores only. The memlock limit (limits.py) lets a stage lock its memory.
"""
from __future__ import annotations

from fxpipe.tuning import limits
from fxpipe.tuning.host import Host
from fxpipe.tuning.layout import Target
from fxpipe.tuning.model import Item, WriteValue
from fxpipe.tuning.values import format_cpumask

AREA = "memory"
THP = "/sys/kernel/mm/transparent_hugepage"

SYSCTLS = (
    ("vm.swappiness", "1"),
    ("kernel.sched_rt_runtime_us", "-1"),
    ("vm.stat_interval", "10"),
    ("kernel.timer_migration", "0"),
    ("kernel.numa_balancing", "0"),
)

WORKQUEUE_MASKS = ("/sys/devices/virtual/workqueue/cpumask", "/sys/bus/workqueue/devices/writeback/cpumask")


def sysctl_item(host: Host, name: str, wanted: str, area: str) -> Item:
    path = "/proc/sys/" + name.replace(".", "/")
    current, why = host.read_or_reason(path)
    action = WriteValue(path=path, value=wanted) if current is not None else None
    return Item(key=f"{area}.sysctl.{name}", area=area, title=f"sysctl {name}", wanted=wanted, current=current,
                action=action, note=why)


def items(host: Host, target: Target) -> list[Item]:
    out = []
    for name in ("enabled", "defrag"):
        path = f"{THP}/{name}"
        current, why = host.read_or_reason(path)
        action = WriteValue(path=path, value="never", fmt="choice") if current is not None else None
        out.append(Item(key=f"memory.thp.{name}", area=AREA, title=f"transparent huge pages: {name}",
                        wanted="never", current=current, fmt="choice", action=action, note=why))
    out.extend(sysctl_item(host, name, wanted, AREA) for name, wanted in SYSCTLS)
    mask = format_cpumask(target.housekeeping)
    for path in WORKQUEUE_MASKS:
        current, why = host.read_or_reason(path)
        action = WriteValue(path=path, value=mask, fmt="cpumask") if current is not None else None
        what = "writeback workqueue" if "writeback" in path else "unbound workqueues"
        out.append(Item(key=f"memory.workqueue.{'writeback' if 'writeback' in path else 'unbound'}", area=AREA,
                        title=f"cores of {what}", wanted=mask, current=current, fmt="cpumask", action=action,
                        note=why))
    out.append(limits.memlock_item(host, target.user))
    return out
