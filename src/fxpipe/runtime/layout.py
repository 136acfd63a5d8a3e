"""Layouts: which stage runs in which process, which process on which core, how big each ring
is and how its consumers wait. One TOML file per layout (config/layouts/), checked in full
against the host before anything starts, every problem reported at once with where it is.

    name = "fused"
    [rings.md]                 # md, intent, exec: slots (power of two), consumers' wait
    slots = 4096
    wait = "block"             # spin | yield | sleep | block
    [processes.trader]
    stages = ["feed", "decision", "oms"]   # more than one: fused, run to completion in order
    core = -1                  # a core number, or negative: counted from the last allowed core
    wait = "spin"              # how this process waits on its input rings
    isolated = true            # the core must be isolated (isolcpus, see `fxpipe tune check`)
    sched_fifo = false         # SCHED_FIFO where permitted (else a warning at start)
    mlockall = false           # lock memory where permitted (else a warning at start)
    warm_order_path_us = 20    # a spinning process running the oms: while idle, run the order
                               # path's pure steps on the last request this often (0: never;
                               # 20 there by default, 0 elsewhere)
    warm_send_path_us = 100    # a spinning process running the oms: a byte through the kernel's
                               # TCP send path this often while idle (0: never; default 100
                               # there, 0 elsewhere)

Host checks: each core exists (online) and this process may run on it (affinity); an
`isolated` core is in /sys/devices/system/cpu/isolated; two processes on one core may not
busy-spin (each would hold the core its neighbour needs).
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from fxpipe.configdir import config_file
from fxpipe.ring import WAIT_STRATEGIES

RINGS = ("md", "intent", "exec")
# The flow: a fused process must list its stages in this order (each calls the next directly).
FLOW = ("feed", "decision", "oms")
STAGES = (*FLOW, "journal")
LAYOUT_DIR = config_file("layouts")
_PROCESS_KEYS = {"stages", "core", "wait", "isolated", "sched_fifo", "mlockall", "warm_order_path_us",
                 "warm_send_path_us"}
# how often a spinning process that sends orders warms the order path by default
# (OrderGateway.warm: the last request rendered, encoded and checksummed again, never sent)
DEFAULT_WARM_ORDER_PATH_US = 20
# and the kernel's TCP send path (fxpipe.runtime.sendwarm: a private loopback connection)
DEFAULT_WARM_SEND_PATH_US = 100
MAX_WARM_US = 1_000_000
_RING_KEYS = {"slots", "wait"}


class LayoutError(ValueError):
    """A layout that cannot run here: every problem found, one per line."""


@dataclass(frozen=True)
class RingSpec:
    name: str
    slots: int
    wait: str

    @property
    def blocking(self) -> bool:
        return self.wait == "block"


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    stages: tuple[str, ...]
    core: int
    wait: str
    isolated: bool = False
    sched_fifo: bool = False
    mlockall: bool = False
    warm_order_path_us: int = 0
    warm_send_path_us: int = 0

    @property
    def fused(self) -> bool:
        return len(self.stages) > 1


@dataclass
class Layout:
    name: str
    path: Path
    rings: dict[str, RingSpec]
    processes: dict[str, ProcessSpec]
    description: str = ""
    warnings: list[str] = field(default_factory=list)

    def process_of(self, stage: str) -> ProcessSpec:
        for p in self.processes.values():
            if stage in p.stages:
                return p
        raise KeyError(stage)

    def cores(self) -> list[int]:
        return sorted({p.core for p in self.processes.values()})


@dataclass(frozen=True)
class HostCores:
    """What the host allows: online cores, cores this process may use, isolated cores."""
    online: frozenset[int]
    allowed: frozenset[int]
    isolated: frozenset[int]

    @classmethod
    def read(cls, root: str = "/") -> HostCores:
        from fxpipe.tuning.host import Host
        from fxpipe.tuning.values import parse_cpulist

        host = Host(root)

        def cpulist(path: str) -> frozenset[int]:
            text, _ = host.read_or_reason(path)
            return frozenset(parse_cpulist(text.strip())) if text and text.strip() else frozenset()

        online = cpulist("/sys/devices/system/cpu/online") or frozenset(range(os.cpu_count() or 1))
        allowed = frozenset(os.sched_getaffinity(0)) if root == "/" else online
        return cls(online, allowed, cpulist("/sys/devices/system/cpu/isolated"))


def resolve(name_or_path: str) -> Path:
    """A layout by name (config/layouts/NAME.toml) or by path."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or os.sep in name_or_path:
        return p
    return LAYOUT_DIR / f"{name_or_path}.toml"


def suited(host: HostCores | None = None) -> str:
    """The shipped layout that suits this host: pinned from four allowed cores, else fused."""
    host = host or HostCores.read()
    return "pinned" if len(host.allowed) >= 4 else "fused"


def shipped() -> list[str]:
    return sorted(p.stem for p in LAYOUT_DIR.glob("*.toml"))


def load(name_or_path: str, host: HostCores | None = None) -> Layout:
    path = resolve(name_or_path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise LayoutError(f"no layout {name_or_path!r}: {path} does not exist "
                          f"(shipped layouts: {', '.join(shipped()) or 'none'})") from None
    except tomllib.TOMLDecodeError as exc:
        raise LayoutError(f"{path}: not valid TOML: {exc}") from None
    return parse(raw, path, host or HostCores.read())


def parse(raw: dict, path: Path, host: HostCores) -> Layout:
    errors: list[str] = []
    where = str(path)

    def err(msg: str) -> None:
        errors.append(f"{where}: {msg}")

    for key in sorted(set(raw) - {"name", "description", "rings", "processes"}):
        err(f"unknown top-level key {key!r} (known: name, description, rings, processes)")
    name = raw.get("name", path.stem)
    if not isinstance(name, str) or not name:
        err("name must be a non-empty string")
        name = path.stem

    rings: dict[str, RingSpec] = {}
    raw_rings = raw.get("rings", {})
    if not isinstance(raw_rings, dict):
        err("[rings] must be a table")
        raw_rings = {}
    for rname in RINGS:
        spec = raw_rings.get(rname)
        if not isinstance(spec, dict):
            err(f"[rings.{rname}] is missing (every layout sizes md, intent and exec)")
            continue
        for key in sorted(set(spec) - _RING_KEYS):
            err(f"[rings.{rname}]: unknown key {key!r} (known: {', '.join(sorted(_RING_KEYS))})")
        slots, wait = spec.get("slots"), spec.get("wait", "yield")
        if not isinstance(slots, int) or isinstance(slots, bool) or slots < 2 or slots & (slots - 1) or slots > 1 << 30:
            err(f"[rings.{rname}] slots = {slots!r}: must be a power of two within 2..2^30")
            slots = 2
        if wait not in WAIT_STRATEGIES:
            err(f"[rings.{rname}] wait = {wait!r}: must be one of {', '.join(WAIT_STRATEGIES)}")
            wait = "yield"
        rings[rname] = RingSpec(rname, slots, wait)
    for rname in sorted(set(raw_rings) - set(RINGS)):
        err(f"[rings.{rname}]: unknown ring (rings: {', '.join(RINGS)})")

    processes: dict[str, ProcessSpec] = {}
    raw_procs = raw.get("processes", {})
    if not isinstance(raw_procs, dict) or not raw_procs:
        err("[processes] must list at least one process")
        raw_procs = {}
    placed: dict[str, str] = {}
    for pname, spec in raw_procs.items():
        at = f"[processes.{pname}]"
        if not isinstance(spec, dict):
            err(f"{at} must be a table")
            continue
        for key in sorted(set(spec) - _PROCESS_KEYS):
            err(f"{at}: unknown key {key!r} (known: {', '.join(sorted(_PROCESS_KEYS))})")
        stages = spec.get("stages")
        if not isinstance(stages, list) or not stages or not all(isinstance(s, str) for s in stages):
            err(f"{at} stages must be a non-empty list of stage names ({', '.join(STAGES)})")
            stages = []
        for s in stages:
            if s not in STAGES:
                err(f"{at}: unknown stage {s!r} (stages: {', '.join(STAGES)})")
            elif s in placed:
                err(f"{at}: stage {s!r} is already in process {placed[s]!r} (each stage runs once)")
            else:
                placed[s] = pname
        if len(stages) > 1:
            if "journal" in stages:
                err(f"{at}: the journal trails the rings in its own process, it cannot be fused")
            flow = [s for s in stages if s in FLOW]
            if flow != [s for s in FLOW if s in flow] or \
                    any(FLOW.index(b) - FLOW.index(a) != 1 for a, b in zip(flow, flow[1:], strict=False)):
                err(f"{at}: fused stages must be neighbours in flow order ({' → '.join(FLOW)}), got {stages}")
        core = spec.get("core")
        allowed = sorted(host.allowed)
        if isinstance(core, int) and not isinstance(core, bool) and core < 0:
            # counted from the last core this process may use: the same file fits any host size
            if -core > len(allowed):
                err(f"{at} core = {core}: this process may use only {len(allowed)} cores ({_cpus(allowed)})")
                core = -1
            else:
                core = allowed[core]
        elif not isinstance(core, int) or isinstance(core, bool):
            err(f"{at} core = {core!r}: must be a core number (negative: counted from the last allowed core)")
            core = -1
        if core < 0:
            pass
        elif core not in host.online:
            err(f"{at} core {core} does not exist on this host (online: {_cpus(host.online)})")
        elif core not in host.allowed:
            err(f"{at} core {core} is not allowed for this process (affinity: {_cpus(host.allowed)}; "
                f"taskset or the cgroup's cpuset decides it)")
        wait = spec.get("wait", "yield")
        if wait not in WAIT_STRATEGIES:
            err(f"{at} wait = {wait!r}: must be one of {', '.join(WAIT_STRATEGIES)}")
            wait = "yield"
        flags = {}
        for key in ("isolated", "sched_fifo", "mlockall"):
            v = spec.get(key, False)
            if not isinstance(v, bool):
                err(f"{at} {key} = {v!r}: must be true or false")
                v = False
            flags[key] = v
        if flags["isolated"] and core >= 0 and core not in host.isolated:
            err(f"{at} wants an isolated core but core {core} is not isolated (isolated: "
                f"{_cpus(host.isolated) or 'none'}; `fxpipe tune plan` shows how to isolate it)")
        sends_orders = "oms" in stages
        warms = {}
        for key, default in (("warm_order_path_us", DEFAULT_WARM_ORDER_PATH_US),
                             ("warm_send_path_us", DEFAULT_WARM_SEND_PATH_US)):
            v = spec.get(key, default if wait == "spin" and sends_orders else 0)
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= MAX_WARM_US:
                err(f"{at} {key} = {v!r}: must be microseconds from 0 (never) to {MAX_WARM_US}")
                v = 0
            elif v and wait != "spin":
                err(f"{at} {key} = {v}: the order path is warmed while the process spins "
                    f"(wait = \"spin\"), it has wait = {wait!r}")
                v = 0
            elif v and not sends_orders:
                err(f"{at} {key} = {v}: only the process running the oms sends orders")
                v = 0
            warms[key] = v
        processes[pname] = ProcessSpec(pname, tuple(stages), core, wait, isolated=flags["isolated"],
                                       sched_fifo=flags["sched_fifo"], mlockall=flags["mlockall"],
                                       warm_order_path_us=warms["warm_order_path_us"],
                                       warm_send_path_us=warms["warm_send_path_us"])
    for s in STAGES:
        if s not in placed:
            err(f"stage {s!r} is in no process (every layout runs {', '.join(STAGES)})")

    by_core: dict[int, list[ProcessSpec]] = {}
    for p in processes.values():
        if p.core >= 0:
            by_core.setdefault(p.core, []).append(p)
    for core, procs in sorted(by_core.items()):
        spinners = [p.name for p in procs if p.wait == "spin"]
        if len(procs) > 1 and spinners:
            err(f"processes {', '.join(p.name for p in procs)} share core {core} but {', '.join(spinners)} "
                f"busy-spin{'s' if len(spinners) == 1 else ''}: a spinner holds the core its neighbour needs "
                f"(use wait = \"block\" or give each its own core)")
    if errors:
        raise LayoutError("\n".join(errors))
    desc = raw.get("description", "")
    return Layout(name, path, rings, processes, desc if isinstance(desc, str) else "")


def _cpus(cores) -> str:
    return ",".join(str(c) for c in sorted(cores))
