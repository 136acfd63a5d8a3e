"""Check, plan, apply and revert: the part that changes a host, all or nothing.

`survey` reads the host once and asks every concern for its items. `make_plan` sorts them into
changes apply can make now, settings that need a reboot, advice, and unknowns. `apply` reads the
original of everything it will change, writes the snapshot before the first change, then makes
the changes in order; if the host refuses one, every change already made is undone in reverse
and the previous snapshot is put back, so the host ends exactly as it began. `revert` undoes a
snapshot the same way. Items already as wanted are never touched, so apply is idempotent.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from fxpipe.tuning import cpu, irq, irqbalance, kernel, memory, network
from fxpipe.tuning.host import Host, TuningError
from fxpipe.tuning.layout import Layout, Target, resolve
from fxpipe.tuning.model import DIFFERS, OK, UNKNOWN, Item
from fxpipe.tuning.snapshot import Entry, Snapshot, merged
from fxpipe.tuning.topology import read_topology

AREAS = ("kernel", "irq", "cpu", "memory", "network")


class ApplyFailed(TuningError):
    """A change was refused; the message says which, and whether everything was put back."""


@dataclass
class Plan:
    changes: list[Item] = field(default_factory=list)  # differ, and apply can fix them now
    reboot: list[Item] = field(default_factory=list)  # differ, and only a reboot fixes them
    advice: list[Item] = field(default_factory=list)  # differ, and only the operator can fix them
    unknown: list[Item] = field(default_factory=list)
    ok: list[Item] = field(default_factory=list)


def survey(host: Host, layout: Layout, user: str) -> tuple[Target, list[Item]]:
    """The layout resolved on the host, and every item with its current and wanted value."""
    topo = read_topology(host)
    target = resolve(layout, topo, user)
    nics = irq.selected_nics(target, topo)
    items = (kernel.items(host, target, topo) + irq.items(host, target, topo) + irqbalance.items(host, target)
             + cpu.items(host, target, topo, nics) + memory.items(host, target)
             + network.items(host, target, nics))
    keys = [i.key for i in items]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise TuningError(f"two settings share the key {duplicates[0]}; this host's layout is not understood")
    return target, items


def make_plan(items: list[Item]) -> Plan:
    plan = Plan()
    for item in items:
        if item.status == OK:
            plan.ok.append(item)
        elif item.status == UNKNOWN:
            plan.unknown.append(item)
        elif item.action is not None:
            plan.changes.append(item)
        elif item.reboot:
            plan.reboot.append(item)
        else:
            plan.advice.append(item)
    plan.changes.sort(key=lambda i: i.action.phase if i.action else 0)
    return plan


def undo_order(entries: list[Entry]) -> list[Entry]:
    """Undo changes in reverse, but restart services last, once the files they read are back."""
    first = [e for e in reversed(entries) if e.action.phase == 0]
    return first + [e for e in entries if e.action.phase != 0]


def _undo_all(host: Host, entries: list[Entry]) -> list[str]:
    """Undo each entry, carrying on past failures; returns what could not be undone."""
    failures = []
    for entry in undo_order(entries):
        try:
            entry.action.undo(host, entry.saved)
        except TuningError as exc:
            failures.append(f"{entry.action.describe()}: {exc}")
    return failures


def apply(host: Host, items: list[Item], snapshot: Snapshot) -> list[Item]:
    """Make every planned change or none; returns the items changed."""
    changes = make_plan(items).changes
    if not changes:
        return []
    with snapshot.locked():
        previous = snapshot.load()
        # Originals are read before anything changes; a file that cannot be read stops here.
        entries = [Entry(item.action, item.action.capture(host)) for item in changes if item.action]
        snapshot.save(merged(previous, entries))
        done: list[Entry] = []
        for entry in entries:
            try:
                entry.action.perform(host)
            except TuningError as exc:
                try:
                    # A refused value may still have changed something (sysfs can keep a
                    # different value than the one written); put the original back quietly.
                    entry.action.undo(host, entry.saved)
                except TuningError:
                    pass
                failures = _undo_all(host, done)
                try:
                    snapshot.save(previous)
                except TuningError as save_exc:
                    failures.append(f"restore the snapshot {snapshot.path}: {save_exc}")
                raise ApplyFailed(_failure_text("apply", entry.action.describe(), exc, len(done), failures)) from None
            done.append(entry)
    return changes


def revert(host: Host, snapshot: Snapshot) -> list[Entry]:
    """Put back every original value of the snapshot, or none; the snapshot is removed after."""
    with snapshot.locked():
        entries = snapshot.load()
        if not entries:
            raise TuningError(f"nothing to revert: there is no snapshot at {snapshot.path} "
                              f"(fxpipe tune apply --yes writes one)")
        done: list[Entry] = []
        for entry in undo_order(entries):
            try:
                entry.action.undo(host, entry.saved)
            except TuningError as exc:
                failures = []
                for redo in reversed(done):
                    try:
                        redo.action.perform(host)
                    except TuningError as redo_exc:
                        failures.append(f"{redo.action.describe()}: {redo_exc}")
                raise ApplyFailed(_failure_text("revert", entry.action.describe_undo(entry.saved), exc, len(done),
                                                failures)) from None
            done.append(entry)
        snapshot.save([])
    return entries


def _failure_text(what: str, step: str, exc: TuningError, done: int, failures: list[str]) -> str:
    lines = [f"{what} stopped at: {step}", f"  {exc}"]
    if failures:
        lines.append(f"  rolling back the {done} change(s) made before it did NOT fully work; fix these by hand:")
        lines += [f"    {f}" for f in failures]
    else:
        lines.append(f"  the {done} change(s) made before it were rolled back: the host is as it was")
    return "\n".join(lines)


def counts(items: list[Item]) -> dict[str, int]:
    out = {OK: 0, DIFFERS: 0, UNKNOWN: 0}
    for item in items:
        out[item.status] += 1
    return out
