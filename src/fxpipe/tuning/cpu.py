"""CPU: steady clocks, shallow idle states, no shared physical cores, the NIC on the right node.

The `performance` governor and turbo off keep each core at one frequency, so a burst does not
wait for the clock to ramp up and a neighbour waking does not change this core's speed. Idle
states that take longer than max_cstate_latency_us to wake from are disabled per core, which
keeps the IRQ cores quick to answer a packet. An SMT sibling shares a core's caches and
execution units with the trading thread, so it is taken offline (smt = "offline") or reported.
A NIC on another NUMA node than the trading cores puts a memory hop on every packet: reported.
"""
from __future__ import annotations

import re

from fxpipe.tuning.host import Host
from fxpipe.tuning.layout import Target
from fxpipe.tuning.model import Item, WriteValue
from fxpipe.tuning.topology import CPU_DIR, Topology
from fxpipe.tuning.values import format_cpulist

AREA = "cpu"


def _governor(host: Host, core: int) -> Item:
    path = f"{CPU_DIR}/cpu{core}/cpufreq/scaling_governor"
    current, why = host.read_or_reason(path)
    if current is None and not host.exists(f"{CPU_DIR}/cpu{core}/cpufreq"):
        why = "no cpufreq for this core (frequency not under the kernel's control, e.g. a VM)"
    action = WriteValue(path=path, value="performance") if current is not None else None
    available, _ = host.read_or_reason(f"{CPU_DIR}/cpu{core}/cpufreq/scaling_available_governors")
    if current is not None and available is not None and "performance" not in available.split():
        action, why = None, f"this cpufreq driver offers no performance governor (only: {available})"
    return Item(key=f"cpu.governor.cpu{core}", area=AREA, title=f"cpu{core} frequency governor",
                wanted="performance", current=current, action=action, note=why, group="cpu.governor", cpu=core)


def _idle_states(host: Host, core: int, max_latency_us: int) -> list[Item]:
    base = f"{CPU_DIR}/cpu{core}/cpuidle"
    states = [s for s in host.listdir(base) if re.fullmatch(r"state\d+", s)]
    if not states:
        return [Item(key=f"cpu.cstates.cpu{core}", area=AREA, title=f"cpu{core} idle states",
                     wanted=f"none slower than {max_latency_us} us", current=None, group="cpu.cstates", cpu=core,
                     note=f"no idle states under {base} (cpuidle off, or idle states not exposed)")]
    out: list[Item] = []
    for state in sorted(states, key=lambda s: int(s[5:])):
        latency, _ = host.read_or_reason(f"{base}/{state}/latency")
        name, _ = host.read_or_reason(f"{base}/{state}/name")
        if latency is None or not latency.isdigit() or int(latency) <= max_latency_us:
            continue
        path = f"{base}/{state}/disable"
        current, why = host.read_or_reason(path)
        action = WriteValue(path=path, value="1") if current is not None else None
        out.append(Item(key=f"cpu.cstates.cpu{core}.{state}", area=AREA,
                        title=f"cpu{core} idle {state} ({name}, {latency} us wake) disabled", wanted="1",
                        current=current, action=action, note=why, group=f"cpu.cstates.{state}", cpu=core))
    if not out:
        out.append(Item(key=f"cpu.cstates.cpu{core}", area=AREA, title=f"cpu{core} idle states slower than "
                        f"{max_latency_us} us", wanted="none", current="none", group="cpu.cstates", cpu=core))
    return out


def _turbo(host: Host, turbo: str) -> Item:
    for path, on, off in ((f"{CPU_DIR}/intel_pstate/no_turbo", "0", "1"), (f"{CPU_DIR}/cpufreq/boost", "1", "0")):
        if host.exists(path):
            wanted = on if turbo == "on" else off
            current, why = host.read_or_reason(path)
            action = WriteValue(path=path, value=wanted) if current is not None else None
            return Item(key="cpu.turbo", area=AREA, title=f"turbo {turbo} ({path})", wanted=wanted,
                        current=current, action=action, note=why)
    return Item(key="cpu.turbo", area=AREA, title=f"turbo {turbo}", wanted=turbo, current=None,
                note=f"no turbo control ({CPU_DIR}/intel_pstate/no_turbo or {CPU_DIR}/cpufreq/boost)")


def _smt(host: Host, target: Target, topo: Topology) -> list[Item]:
    out = []
    for core in sorted(target.trading):
        for sibling in sorted(topo.siblings.get(core, ())):
            if target.options.smt == "offline":
                path = f"{CPU_DIR}/cpu{sibling}/online"
                current, why = host.read_or_reason(path)
                action = WriteValue(path=path, value="0") if current is not None else None
                if current is None and not host.exists(path):
                    why = f"cpu{sibling} cannot be taken offline (no {path})"
                out.append(Item(key=f"cpu.smt.cpu{sibling}", area=AREA,
                                title=f"cpu{sibling} (SMT sibling of trading core {core}) offline", wanted="0",
                                current=current, action=action, note=why))
            else:
                shared = sibling in target.trading
                note = (f"trading cores {core} and {sibling} share one physical core; pick one per physical core"
                        if shared else "advice: set smt = \"offline\" in [tuning], or keep this core idle")
                out.append(Item(key=f"cpu.smt.cpu{sibling}", area=AREA,
                                title=f"cpu{sibling} (SMT sibling of trading core {core}) idle", wanted="offline",
                                current="online" if not shared else "trading", note=note))
    return out


def _numa(target: Target, topo: Topology, nics) -> list[Item]:
    out = []
    trading_nodes = sorted({n for n in (topo.node_of(c) for c in target.trading) if n is not None})
    for nic in nics:
        if nic.numa_node is None or len(topo.nodes) < 2:
            continue
        out.append(Item(key=f"cpu.numa.{nic.name}", area=AREA,
                        title=f"NUMA node of trading cores (NIC {nic.name} is on node {nic.numa_node})",
                        wanted=str(nic.numa_node), current=",".join(map(str, trading_nodes)),
                        note=f"advice: pick trading cores from node {nic.numa_node} "
                             f"({format_cpulist(topo.nodes.get(nic.numa_node, ()))})"))
    return out


def items(host: Host, target: Target, topo: Topology, nics) -> list[Item]:
    out: list[Item] = []
    for core in sorted(target.per_core):
        out.append(_governor(host, core))
    for core in sorted(target.per_core):
        out.extend(_idle_states(host, core, target.options.max_cstate_latency_us))
    out.append(_turbo(host, target.options.turbo))
    out.extend(_smt(host, target, topo))
    out.extend(_numa(target, topo, nics))
    return out
