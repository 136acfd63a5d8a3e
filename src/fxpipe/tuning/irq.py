"""NIC interrupts and packet steering kept off the trading cores.

Every IRQ of a NIC goes to the housekeeping cores (irq_mode = "housekeeping"), or each to one
housekeeping core of the NIC's NUMA node in turn (irq_mode = "per-queue", so queues do not share
a core). New IRQs get the housekeeping cores through /proc/irq/default_smp_affinity. RPS is
switched off, so a packet is processed where its IRQ landed and never handed to a trading core;
XPS gives each trading core its own transmit queue where there are enough, so two senders do
not contend for one queue lock.
"""
from __future__ import annotations

from fxpipe.tuning.host import Host
from fxpipe.tuning.layout import Target
from fxpipe.tuning.model import Item, WriteValue
from fxpipe.tuning.topology import NET_DIR, Nic, Topology
from fxpipe.tuning.values import format_cpulist, format_cpumask

AREA = "irq"


def selected_nics(target: Target, topo: Topology) -> list[Nic]:
    if target.options.nics is None:
        return topo.nics
    return [nic for nic in topo.nics if nic.name in target.options.nics]


def _value_item(host: Host, key: str, title: str, path: str, wanted: str, fmt: str, area: str = AREA,
                note: str = "") -> Item:
    current, why = host.read_or_reason(path)
    action = WriteValue(path=path, value=wanted, fmt=fmt) if current is not None else None
    return Item(key=key, area=area, title=title, wanted=wanted, current=current, fmt=fmt, action=action,
                note=why or note)


def irq_targets(target: Target, topo: Topology, nic: Nic) -> dict[int, str]:
    """The wanted affinity (a cpulist) of each of the NIC's IRQs."""
    housekeeping = sorted(target.housekeeping)
    if target.options.irq_mode == "housekeeping":
        return {irq: format_cpulist(housekeeping) for irq in nic.irqs}
    local = [c for c in housekeeping if nic.numa_node is not None and topo.node_of(c) == nic.numa_node]
    cores = local or housekeeping
    return {irq: str(cores[i % len(cores)]) for i, irq in enumerate(nic.irqs)}


def xps_targets(target: Target, nic: Nic) -> dict[str, str]:
    """Each transmit queue's cpumask: trading cores first, one per queue, then housekeeping."""
    if not nic.tx_queues:
        return {}
    order = sorted(target.trading) + sorted(target.per_core - target.trading)
    per_queue: dict[str, set[int]] = {q: set() for q in nic.tx_queues}
    for i, core in enumerate(order):
        per_queue[nic.tx_queues[i % len(nic.tx_queues)]].add(core)
    return {q: format_cpumask(cores) for q, cores in per_queue.items()}


def items(host: Host, target: Target, topo: Topology) -> list[Item]:
    out = [_value_item(host, "irq.default-affinity", "affinity of new IRQs", "/proc/irq/default_smp_affinity",
                       format_cpumask(target.housekeeping), "cpumask")]
    seen: set[int] = set()
    for nic in selected_nics(target, topo):
        if not nic.irqs:
            out.append(Item(key=f"irq.{nic.name}", area=AREA, title=f"{nic.name} IRQs", wanted="found",
                            current=None, note=f"no IRQs found for {nic.name} (no msi_irqs under {nic.device} "
                                               f"and no line naming it in /proc/interrupts)"))
        for irq, wanted in irq_targets(target, topo, nic).items():
            if irq in seen:
                continue
            seen.add(irq)
            name = topo.irq_names.get(irq, "")
            out.append(_value_item(host, f"irq.{irq}.affinity", f"{nic.name} IRQ {irq}" + (f" ({name})" if name else ""),
                                   f"/proc/irq/{irq}/smp_affinity_list", wanted, "cpulist"))
        for q in nic.rx_queues:
            path = f"{NET_DIR}/{nic.name}/queues/{q}/rps_cpus"
            if host.exists(path):
                out.append(_value_item(host, f"irq.{nic.name}.{q}.rps", f"{nic.name} {q} RPS cores (off)",
                                       path, "0", "cpumask"))
        for q, mask in xps_targets(target, nic).items():
            path = f"{NET_DIR}/{nic.name}/queues/{q}/xps_cpus"
            if host.exists(path):
                out.append(_value_item(host, f"irq.{nic.name}.{q}.xps", f"{nic.name} {q} XPS cores", path,
                                       mask, "cpumask"))
    return out
