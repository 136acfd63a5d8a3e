"""The value formats the kernel uses in /proc and /sys, and how two of them compare.

A cpulist is "0-3,7" (affinity lists, isolated, nohz_full, online); a cpumask is comma-separated
32-bit hex words, most significant first ("ffffffff,00000003": RPS/XPS, workqueue cpumask,
default_smp_affinity); "isolcpus" is flags then a cpulist ("managed_irq,domain,2-5"); a "choice" file lists the options with the active one in brackets
("always [madvise] never": transparent huge pages). Items name one of these formats so that a
check compares meaning, not spelling ("0-1" equals "0,1"; "00000003" equals "3").
"""
from __future__ import annotations

from collections.abc import Iterable

FORMATS = ("text", "cpulist", "cpumask", "choice", "isolcpus")


def parse_cpulist(text: str) -> frozenset[int]:
    """Parse the kernel's cpulist syntax ("0-3,7"); an empty string or "(null)" is no cores."""
    text = text.strip()
    if text in ("", "(null)"):
        return frozenset()
    cores: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        lo, sep, hi = part.partition("-")
        try:
            first = int(lo)
            last = int(hi) if sep else first
        except ValueError:
            raise ValueError(f"bad core list {text!r}: {part!r} is not a core number or a range like 2-5") from None
        if first < 0 or last < first:
            raise ValueError(f"bad core list {text!r}: range {part!r} must run from low to high, from 0")
        cores.update(range(first, last + 1))
    return frozenset(cores)


def format_cpulist(cores: Iterable[int]) -> str:
    """Write cores in the kernel's cpulist syntax, ranges collapsed: {0,1,2,3,7} -> "0-3,7"."""
    ordered = sorted(set(cores))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


def parse_cpumask(text: str) -> frozenset[int]:
    """Parse a kernel cpumask: comma-separated 32-bit hex words, most significant word first."""
    words = text.strip().lower().removeprefix("0x").split(",")
    value = 0
    try:
        for word in words:
            value = (value << 32) | int(word or "0", 16)
    except ValueError:
        raise ValueError(f"bad cpu mask {text!r}: expected hex words like ffffffff,00000003") from None
    return frozenset(bit for bit in range(value.bit_length()) if value >> bit & 1)


def format_cpumask(cores: Iterable[int]) -> str:
    """Write cores as a kernel cpumask; the first word unpadded, the others eight hex digits."""
    value = 0
    for core in cores:
        value |= 1 << core
    words: list[int] = []
    while True:
        words.append(value & 0xFFFFFFFF)
        value >>= 32
        if not value:
            break
    words.reverse()
    return ",".join([f"{words[0]:x}"] + [f"{w:08x}" for w in words[1:]])


def parse_choice(text: str) -> str:
    """The active option of a bracketed choice file ("always [madvise] never" -> "madvise")."""
    text = text.strip()
    start, end = text.find("["), text.find("]")
    if start < 0 or end < start:
        return text
    return text[start + 1:end]


def parse_isolcpus(text: str) -> tuple[frozenset[str], frozenset[int]]:
    """Split an isolcpus value into its flags and its cores: "managed_irq,domain,2-5"."""
    flags: set[str] = set()
    cores: list[str] = []
    for part in text.strip().split(","):
        if part and part[0].isalpha():
            flags.add(part)
        elif part:
            cores.append(part)
    return frozenset(flags), parse_cpulist(",".join(cores))


def normalize(fmt: str, raw: str) -> str:
    """Turn what a file reads into the form the same file accepts on write."""
    raw = raw.strip()
    if fmt == "choice":
        return parse_choice(raw)
    return raw


def same(fmt: str, current: str, wanted: str) -> bool:
    """Whether current and wanted mean the same thing in this format."""
    try:
        if fmt == "cpulist":
            return parse_cpulist(current) == parse_cpulist(wanted)
        if fmt == "cpumask":
            return parse_cpumask(current) == parse_cpumask(wanted)
        if fmt == "isolcpus":
            # The kernel's default flag is "domain" when none is given.
            cur_flags, cur_cores = parse_isolcpus(current)
            want_flags, want_cores = parse_isolcpus(wanted)
            return (cur_flags or {"domain"}) == (want_flags or {"domain"}) and cur_cores == want_cores
    except ValueError:
        return False
    if fmt == "choice":
        return parse_choice(current) == parse_choice(wanted)
    return current.strip() == wanted.strip()
