"""Network: interrupt coalescing off, full rings, and busy polling for blocking socket calls.

Coalescing makes the NIC hold a packet for rx-usecs (or for an adaptive guess) to batch
interrupts: good for throughput, a direct delay on every quote. Adaptive coalescing is switched
off and rx-usecs set to 0. Rings at their maximum absorb a burst instead of dropping, and a
dropped FIX packet costs a TCP retransmit, far worse than the cache footprint of a big ring.
busy_read/busy_poll (50 us) let a blocking read or poll spin on the device queue before
sleeping. ethtool is used where it is installed; its settings are changed one by one, each with
the command that sets the old value back.
"""
from __future__ import annotations

import re

from fxpipe.tuning.host import Host, TuningError
from fxpipe.tuning.layout import Target
from fxpipe.tuning.memory import sysctl_item
from fxpipe.tuning.model import Item, RunCommand
from fxpipe.tuning.topology import Nic

AREA = "network"
BUSY_POLL = (("net.core.busy_read", "50"), ("net.core.busy_poll", "50"))
COALESCE = (("adaptive-rx", "off"), ("adaptive-tx", "off"), ("rx-usecs", "0"))


def parse_coalesce(text: str) -> dict[str, str]:
    """ethtool -c output -> {"adaptive-rx": "on", "rx-usecs": "3", ...}; "n/a" means unsupported."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        m = re.match(r"\s*Adaptive RX:\s*(\S+)\s+TX:\s*(\S+)", line)
        if m:
            out["adaptive-rx"], out["adaptive-tx"] = m.group(1), m.group(2)
            continue
        key, sep, value = line.partition(":")
        if sep and re.fullmatch(r"[a-z0-9-]+", key.strip()):
            out[key.strip()] = value.strip()
    return out


def parse_rings(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """ethtool -g output -> (pre-set maximums, current settings), keyed "rx" and "tx"."""
    maximum: dict[str, str] = {}
    current: dict[str, str] = {}
    section = None
    for line in text.splitlines():
        if line.startswith("Pre-set maximums"):
            section = maximum
        elif line.startswith("Current hardware settings"):
            section = current
        elif section is not None:
            key, sep, value = line.partition(":")
            if sep and key.strip() in ("RX", "TX"):
                section[key.strip().lower()] = value.strip()
    return maximum, current


def _ethtool(host: Host, flag: str, nic: str) -> tuple[str | None, str]:
    try:
        proc = host.run(["ethtool", flag, nic])
    except TuningError as exc:
        return None, str(exc)
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        return None, f"ethtool {flag} {nic}: {lines[-1] if lines else f'exit status {proc.returncode}'}"
    return proc.stdout, ""


def _supported(value: str | None) -> bool:
    return value is not None and value not in ("n/a", "")


def nic_items(host: Host, target: Target, nic: Nic) -> list[Item]:
    name = nic.name
    out = []
    text, why = _ethtool(host, "-c", name)
    settings = parse_coalesce(text) if text is not None else {}
    for setting, wanted in COALESCE:
        current = settings.get(setting)
        key = f"network.{name}.coalesce.{setting}"
        title = f"{name} coalescing {setting}"
        if text is None or current is None or not _supported(current):
            note = why or f"the {name} driver does not offer {setting}"
            out.append(Item(key=key, area=AREA, title=title, wanted=wanted, current=None, note=note))
            continue
        action = RunCommand(name=key, argv=["ethtool", "-C", name, setting, wanted],
                            undo_argv=["ethtool", "-C", name, setting, current])
        out.append(Item(key=key, area=AREA, title=title, wanted=wanted, current=current, action=action))
    text, why = _ethtool(host, "-g", name)
    maximum, current_rings = parse_rings(text) if text is not None else ({}, {})
    for ring, choice in (("rx", target.options.rx_ring), ("tx", target.options.tx_ring)):
        if choice == "keep":
            continue
        key = f"network.{name}.ring.{ring}"
        title = f"{name} {ring} ring size"
        ring_wanted = maximum.get(ring) if choice == "max" else str(choice)
        current = current_rings.get(ring)
        if (text is None or current is None or ring_wanted is None
                or not (_supported(current) and _supported(ring_wanted)) or current == "0"):
            note = why or f"the {name} driver does not report its {ring} ring"
            out.append(Item(key=key, area=AREA, title=title, wanted=str(ring_wanted or choice), current=None,
                            note=note))
            continue
        action = RunCommand(name=key, argv=["ethtool", "-G", name, ring, ring_wanted],
                            undo_argv=["ethtool", "-G", name, ring, current])
        out.append(Item(key=key, area=AREA, title=title, wanted=ring_wanted, current=current, action=action))
    return out


def items(host: Host, target: Target, nics: list[Nic]) -> list[Item]:
    out = [sysctl_item(host, name, wanted, AREA) for name, wanted in BUSY_POLL]
    for nic in nics:
        out.extend(nic_items(host, target, nic))
    return out
