"""Which cores trade and which keep house: read from a layout file or `--cores`, checked on the host.

The layout file is TOML. Only two tables belong to tuning, so a runtime layout that also
describes stages and rings can be passed as it is:

    [cores]
    trading = [2, 3, 4, 5]        # or "2-5,7"
    housekeeping = [0, 1]         # optional: default is every other online core that is
                                  # not an SMT sibling of a trading core

    [tuning]                      # optional, defaults shown
    smt = "warn"                  # or "offline": take SMT siblings of trading cores offline
    turbo = "off"                 # or "on"
    idle_poll = false             # add idle=poll to the kernel command line
    max_cstate_latency_us = 2     # disable idle states that take longer to wake from
    irq_mode = "housekeeping"     # or "per-queue": one housekeeping core per NIC IRQ
    rx_ring = "max"               # NIC ring sizes: "max", "keep" or a number of descriptors
    tx_ring = "max"
    user = "fxpipe"               # who runs fxpipe (gets an unlimited memlock limit)
    nics = ["eth0"]               # default: every NIC with a device behind it
    boot_config = "/etc/default/grub"   # default: the GRUB file, else /etc/kernel/cmdline

`resolve` checks the cores against the host's online cores and SMT siblings and gives the
`Target` that every concern builds its items from.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from typing import Any

from fxpipe.tuning.host import TuningError
from fxpipe.tuning.topology import Topology
from fxpipe.tuning.values import format_cpulist, parse_cpulist


class LayoutError(TuningError):
    """The layout names cores or options this host or this tool cannot use."""


@dataclass(frozen=True)
class Options:
    smt: str = "warn"
    turbo: str = "off"
    idle_poll: bool = False
    max_cstate_latency_us: int = 2
    irq_mode: str = "housekeeping"
    rx_ring: str | int = "max"
    tx_ring: str | int = "max"
    user: str | None = None
    nics: tuple[str, ...] | None = None
    boot_config: str | None = None


_CHOICES = {"smt": ("warn", "offline"), "turbo": ("off", "on"), "irq_mode": ("housekeeping", "per-queue")}


@dataclass(frozen=True)
class Layout:
    trading: frozenset[int]
    housekeeping: frozenset[int] | None
    options: Options = field(default_factory=Options)
    source: str = ""


@dataclass(frozen=True)
class Target:
    """The layout resolved on one host."""

    trading: frozenset[int]
    housekeeping: frozenset[int]
    offline: frozenset[int]  # SMT siblings that smt = "offline" takes down
    per_core: frozenset[int]  # cores that get per-core settings: online, not being taken offline
    options: Options
    user: str


def parse_cores(text: str, what: str = "cores") -> frozenset[int]:
    try:
        cores = parse_cpulist(text)
    except ValueError as exc:
        raise LayoutError(f"{what}: {exc}") from None
    if not cores:
        raise LayoutError(f"{what}: the list is empty; give cores like 2-5,7")
    return cores


def layout_from_cores(trading: str, housekeeping: str | None = None) -> Layout:
    return Layout(
        trading=parse_cores(trading, "--cores"),
        housekeeping=parse_cores(housekeeping, "--housekeeping") if housekeeping else None,
        source=f"--cores {trading}",
    )


def load_layout(path: str) -> Layout:
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except FileNotFoundError:
        raise LayoutError(f"layout file {path} does not exist") from None
    except PermissionError:
        raise LayoutError(f"no permission to read layout file {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise LayoutError(f"layout file {path} is not valid TOML: {exc}") from None
    cores = doc.get("cores")
    if not isinstance(cores, dict) or "trading" not in cores:
        raise LayoutError(f"{path}: needs a [cores] table with trading = [...], e.g. trading = [2, 3, 4, 5]")
    _no_unknown_keys(path, "cores", cores, ("trading", "housekeeping"))
    trading = _cores_value(path, "cores.trading", cores["trading"])
    housekeeping = None
    if "housekeeping" in cores:
        housekeeping = _cores_value(path, "cores.housekeeping", cores["housekeeping"])
    tuning = doc.get("tuning", {})
    if not isinstance(tuning, dict):
        raise LayoutError(f"{path}: tuning must be a table ([tuning])")
    return Layout(trading, housekeeping, _options(path, tuning), source=path)


def _cores_value(path: str, key: str, value: Any) -> frozenset[int]:
    if isinstance(value, str):
        return parse_cores(value, f"{path}: {key}")
    if isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                                 for v in value):
        return frozenset(value)
    raise LayoutError(f"{path}: {key} must be a non-empty list of core numbers like [2, 3] or a string "
                      f"like \"2-5,7\" (got {value!r})")


def _no_unknown_keys(path: str, table: str, doc: dict[str, Any], known) -> None:
    for key in doc:
        if key not in known:
            raise LayoutError(f"{path}: unknown key {table}.{key} (known: {', '.join(known)})")


def _options(path: str, doc: dict[str, Any]) -> Options:
    names = [f.name for f in fields(Options)]
    _no_unknown_keys(path, "tuning", doc, names)
    values: dict[str, Any] = {}
    for key, value in doc.items():
        if key in _CHOICES and value not in _CHOICES[key]:
            raise LayoutError(f"{path}: tuning.{key} = {value!r} is not one of {', '.join(_CHOICES[key])}")
        if key == "idle_poll" and not isinstance(value, bool):
            raise LayoutError(f"{path}: tuning.idle_poll must be true or false")
        if key == "max_cstate_latency_us" and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise LayoutError(f"{path}: tuning.max_cstate_latency_us must be a whole number of microseconds")
        if key in ("rx_ring", "tx_ring") and not (value in ("max", "keep") or (
                isinstance(value, int) and not isinstance(value, bool) and value > 0)):
            raise LayoutError(f"{path}: tuning.{key} must be \"max\", \"keep\" or a positive number")
        if key in ("user", "boot_config") and not (isinstance(value, str) and value):
            raise LayoutError(f"{path}: tuning.{key} must be a non-empty string")
        if key == "nics":
            if not (isinstance(value, list) and all(isinstance(v, str) and v for v in value)):
                raise LayoutError(f"{path}: tuning.nics must be a list of interface names like [\"eth0\"]")
            value = tuple(value)
        values[key] = value
    return Options(**values)


def resolve(layout: Layout, topo: Topology, user: str) -> Target:
    """Check the layout against the host and work out housekeeping and SMT siblings."""
    online = topo.online
    where = f"{layout.source}: " if layout.source else ""
    for core in sorted(layout.trading):
        if core not in online:
            raise LayoutError(f"{where}trading core {core} is not an online core of this host "
                              f"(online cores: {format_cpulist(online)})")
    for core in sorted(layout.housekeeping or ()):
        if core not in online:
            raise LayoutError(f"{where}housekeeping core {core} is not an online core of this host "
                              f"(online cores: {format_cpulist(online)})")
        if core in layout.trading:
            raise LayoutError(f"{where}core {core} is listed as both trading and housekeeping")
    opts = layout.options
    siblings = {s for core in layout.trading for s in topo.siblings.get(core, ())}
    shared = sorted(siblings & layout.trading)
    offline: frozenset[int] = frozenset()
    if opts.smt == "offline":
        if shared:
            raise LayoutError(f"{where}trading cores {format_cpulist(shared)} share physical cores (SMT "
                              f"siblings); with smt = \"offline\" give one trading core per physical core")
        offline = frozenset(siblings)
        clash = sorted(offline & (layout.housekeeping or frozenset()))
        if clash:
            raise LayoutError(f"{where}housekeeping cores {format_cpulist(clash)} are SMT siblings of trading "
                              f"cores and smt = \"offline\" would take them offline; remove them from "
                              f"housekeeping or set smt = \"warn\"")
    # By default SMT siblings of trading cores keep nothing, not even IRQs: whatever ran there
    # would share the trading core's caches and execution units.
    housekeeping = layout.housekeeping or (online - layout.trading - siblings)
    if not housekeeping:
        spare = sorted(siblings - layout.trading)
        also = f" and their SMT siblings {format_cpulist(spare)}" if spare else ""
        raise LayoutError(f"{where}no housekeeping core left: trading cores {format_cpulist(layout.trading)}{also} "
                          f"take every online core ({format_cpulist(online)}); leave at least one for the "
                          f"kernel, IRQs and the supervisor" + (", or name housekeeping cores" if spare else ""))
    if opts.nics is not None:
        known = {nic.name for nic in topo.nics}
        for name in opts.nics:
            if name not in known:
                raise LayoutError(f"{where}NIC {name} is not on this host (NICs: {', '.join(sorted(known)) or 'none'})")
    return Target(
        trading=layout.trading,
        housekeeping=frozenset(housekeeping),
        offline=offline,
        per_core=online - offline,
        options=opts,
        user=opts.user or user,
    )
