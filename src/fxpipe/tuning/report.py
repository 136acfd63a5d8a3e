"""Text and JSON reports of a check, a plan, an apply and a revert.

The text table folds per-core items that agree (same status, current and wanted value) into one
row naming the cores, so a 64-core host reads in a screen; JSON always lists every item.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable

from fxpipe.tuning.engine import AREAS, Plan, counts, undo_order
from fxpipe.tuning.layout import Target
from fxpipe.tuning.model import Item
from fxpipe.tuning.snapshot import Entry
from fxpipe.tuning.values import format_cpulist


def _show(value: str | None) -> str:
    if value is None:
        return "?"
    return value if value != "" else "(not set)"


def _fold(items: Iterable[Item]) -> list[tuple[str, Item]]:
    """(title, item) rows, per-core items of one group with equal values folded into one row."""
    rows: list[tuple[str, Item]] = []
    folded: dict[tuple, list[Item]] = {}
    order: list[tuple] = []
    for item in items:
        if not item.group or item.cpu is None:
            order.append(("single", id(item)))
            folded[("single", id(item))] = [item]
            continue
        key = (item.group, item.status, item.current, item.wanted, item.note)
        if key not in folded:
            order.append(key)
            folded[key] = []
        folded[key].append(item)
    for key in order:
        group = folded[key]
        first = group[0]
        if len(group) == 1:
            rows.append((first.title, first))
        else:
            cores = format_cpulist(i.cpu for i in group if i.cpu is not None)
            rows.append((re.sub(rf"\bcpu{first.cpu}\b", f"cpus {cores}", first.title, count=1), first))
    return rows


def check_text(target: Target, items: list[Item]) -> str:
    lines = [f"trading cores {format_cpulist(target.trading)}, housekeeping cores "
             f"{format_cpulist(target.housekeeping)}"
             + (f", SMT siblings to take offline {format_cpulist(target.offline)}" if target.offline else "")]
    for area in AREAS:
        rows = _fold(i for i in items if i.area == area)
        if not rows:
            continue
        lines.append(f"\n[{area}]")
        width = max(len(title) for title, _ in rows)
        for title, item in rows:
            line = f"  {item.status:<8} {title:<{width}}  {_show(item.current)} -> wanted {_show(item.wanted)}"
            if item.note:
                line += f"  ({item.note})"
            lines.append(line)
    c = counts(items)
    lines.append(f"\n{c['ok']} ok, {c['differs']} differ, {c['unknown']} unknown")
    return "\n".join(lines)


def plan_text(plan: Plan, snapshot_path: str) -> str:
    lines = []
    if plan.changes:
        lines.append(f"changes apply --yes makes now (each original saved to {snapshot_path}):")
        # Every change on its own line, never folded: this is the exact list apply works through.
        for item in plan.changes:
            lines.append(f"  {item.action.describe() if item.action else item.title}   "
                         f"[{item.title}: {_show(item.current)}]")
            if item.note and item.reboot:
                lines.append(f"      {item.note}")
    else:
        lines.append("nothing to change now: every setting apply can make is already as wanted")
    if plan.reboot:
        lines.append("\ntake effect only after a reboot with the new kernel command line:")
        lines += [f"  {title}: {_show(item.current)} -> {_show(item.wanted)}" for title, item in _fold(plan.reboot)]
    if plan.advice:
        lines.append("\nadvice (not changed by apply):")
        lines += [f"  {title}: {item.note}" for title, item in _fold(plan.advice)]
    if plan.unknown:
        lines.append("\nunknown, left alone:")
        lines += [f"  {title}: {item.note}" for title, item in _fold(plan.unknown)]
    return "\n".join(lines)


def revert_text(entries: list[Entry], done: bool) -> str:
    lines = ["reverted:" if done else "revert --yes would:"]
    lines += [f"  {entry.action.describe_undo(entry.saved)}" for entry in undo_order(entries)]
    return "\n".join(lines)


def items_json(target: Target, items: list[Item]) -> str:
    return json.dumps({
        "trading": format_cpulist(target.trading), "housekeeping": format_cpulist(target.housekeeping),
        "offline": format_cpulist(target.offline), "counts": counts(items),
        "items": [i.as_dict() for i in items],
    }, indent=1)
