"""What the host is made of: online cores, SMT siblings, NUMA nodes, CPU vendor and NICs.

Read once per run from /sys and /proc under the host's root, before any item is built, so every
concern works from the same picture. A NIC is an entry of /sys/class/net with a `device` link
(virtual interfaces such as lo, bridges and ifb have none); its IRQs are the MSI vectors of the
PCI function behind it plus any /proc/interrupts line that names the interface.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from fxpipe.tuning.host import Host, TuningError
from fxpipe.tuning.values import parse_cpulist

CPU_DIR = "/sys/devices/system/cpu"
NODE_DIR = "/sys/devices/system/node"
NET_DIR = "/sys/class/net"


@dataclass
class Nic:
    name: str
    device: str  # host path of the device the interface sits on
    numa_node: int | None  # None: the platform does not say (-1) or the file is missing
    irqs: list[int] = field(default_factory=list)
    rx_queues: list[str] = field(default_factory=list)
    tx_queues: list[str] = field(default_factory=list)


@dataclass
class Topology:
    online: frozenset[int]
    siblings: dict[int, frozenset[int]]  # online core -> its SMT siblings, itself excluded
    nodes: dict[int, frozenset[int]]  # NUMA node -> its cores
    vendor: str | None  # vendor_id of /proc/cpuinfo: GenuineIntel, AuthenticAMD, None elsewhere
    nics: list[Nic]
    irq_names: dict[int, str]  # IRQ number -> its name in /proc/interrupts

    def node_of(self, core: int) -> int | None:
        for node, cores in self.nodes.items():
            if core in cores:
                return node
        return None


def read_topology(host: Host) -> Topology:
    text, why = host.read_or_reason(f"{CPU_DIR}/online")
    if text is None:
        raise TuningError(f"cannot tell which cores are online: {why} (is {host.root} the root of a "
                          f"Linux host with /sys mounted?)")
    online = parse_cpulist(text)
    irq_names, irq_lines = _read_interrupts(host)
    return Topology(
        online=online,
        siblings={core: _siblings(host, core) for core in sorted(online)},
        nodes=_nodes(host),
        vendor=_vendor(host),
        nics=_nics(host, irq_lines),
        irq_names=irq_names,
    )


def _siblings(host: Host, core: int) -> frozenset[int]:
    text, _ = host.read_or_reason(f"{CPU_DIR}/cpu{core}/topology/thread_siblings_list")
    if not text:
        return frozenset()
    try:
        return parse_cpulist(text) - {core}
    except ValueError:
        return frozenset()


def _nodes(host: Host) -> dict[int, frozenset[int]]:
    nodes: dict[int, frozenset[int]] = {}
    for entry in host.listdir(NODE_DIR):
        m = re.fullmatch(r"node(\d+)", entry)
        if not m:
            continue
        text, _ = host.read_or_reason(f"{NODE_DIR}/{entry}/cpulist")
        if text is not None:
            nodes[int(m.group(1))] = parse_cpulist(text)
    return nodes


def _vendor(host: Host) -> str | None:
    text, _ = host.read_or_reason("/proc/cpuinfo")
    for line in (text or "").splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "vendor_id":
            return value.strip()
    return None


def _read_interrupts(host: Host) -> tuple[dict[int, str], dict[int, str]]:
    """IRQ number -> name (last column), and -> the text after the per-cpu counts."""
    text, _ = host.read_or_reason("/proc/interrupts")
    lines = (text or "").splitlines()
    if not lines:
        return {}, {}
    ncpu = len(lines[0].split())
    names: dict[int, str] = {}
    rest: dict[int, str] = {}
    for line in lines[1:]:
        label, _, tail = line.partition(":")
        if not label.strip().isdigit():
            continue
        fields = tail.split()
        desc = fields[ncpu:]
        names[int(label)] = desc[-1] if desc else ""
        rest[int(label)] = " ".join(desc)
    return names, rest


def _nics(host: Host, irq_lines: dict[int, str]) -> list[Nic]:
    nics = []
    for name in host.listdir(NET_DIR):
        device = host.realpath(f"{NET_DIR}/{name}/device")
        if device is None:
            continue
        nic = Nic(name=name, device=device, numa_node=_numa_node(host, device))
        irqs = set(_msi_irqs(host, device))
        pattern = re.compile(rf"(^|[^A-Za-z0-9]){re.escape(name)}([^A-Za-z0-9.]|$)")
        irqs.update(irq for irq, desc in irq_lines.items() if pattern.search(desc))
        nic.irqs = sorted(irqs)
        queues = host.listdir(f"{NET_DIR}/{name}/queues")
        nic.rx_queues = _sorted_queues(q for q in queues if q.startswith("rx-"))
        nic.tx_queues = _sorted_queues(q for q in queues if q.startswith("tx-"))
        nics.append(nic)
    return nics


def _ancestors(device: str, depth: int = 3) -> list[str]:
    """The device and a few parents: a virtio NIC's MSI vectors sit on the PCI function above."""
    out = [device]
    while len(out) <= depth and out[-1].count("/") > 3:  # never above /sys/devices/<bus>
        out.append(out[-1].rsplit("/", 1)[0])
    return out


def _msi_irqs(host: Host, device: str) -> list[int]:
    for d in _ancestors(device):
        entries = host.listdir(f"{d}/msi_irqs")
        if entries:
            return [int(e) for e in entries if e.isdigit()]
        legacy, _ = host.read_or_reason(f"{d}/irq")
        if legacy and legacy.isdigit() and int(legacy) > 0 and host.exists(f"{d}/vendor"):
            return [int(legacy)]
    return []


def _numa_node(host: Host, device: str) -> int | None:
    for d in _ancestors(device):
        text, _ = host.read_or_reason(f"{d}/numa_node")
        if text is not None:
            try:
                node = int(text)
            except ValueError:
                return None
            return node if node >= 0 else None
    return None


def _sorted_queues(names) -> list[str]:
    return sorted(names, key=lambda q: int(q.split("-", 1)[1]) if q.split("-", 1)[1].isdigit() else 0)
