"""`fxpipe journal verify`: every segment header, record checksum, sequence number, seal and
the chain between segments, with the torn-tail state and index notes; and the operator's cut
(`--truncate-at`) for when corruption must be accepted as data loss."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fxpipe.journal import layout as L
from fxpipe.journal.errors import JournalError
from fxpipe.journal.reader import JournalReader
from fxpipe.journal.scanning import read_seal


@dataclass
class VerifyReport:
    directory: Path
    ok: bool = True
    segments: int = 0
    records: int = 0
    first_seq: int = 0
    last_seq: int = 0
    min_ts: int | None = None
    max_ts: int | None = None
    live_writer: bool = False
    tail: str | None = None
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def verify_journal(directory) -> VerifyReport:
    """Checks everything; a problem (corruption, missing segment) makes `ok` False and is
    described with its file and offset. A torn tail is not a problem: it is where a crashed
    writer stopped, and the next writer cuts it."""
    rep = VerifyReport(Path(directory))
    try:
        reader = JournalReader(directory, verify=True)
    except JournalError as exc:
        rep.ok = False
        rep.problems.append(str(exc))
        return rep
    with reader:
        rep.live_writer = reader.live_writer
        rep.notes.extend(reader.notes)
        rep.tail = str(reader.tail) if reader.tail else None
        rep.segments = len(reader.segments)
        rep.first_seq, rep.last_seq = reader.first_seq, reader.next_seq - 1
        for info in reader.segments:
            try:
                t = reader.table(info.segment_no)  # rescans with CRC32C and sequence checks
            except JournalError as exc:
                rep.ok = False
                rep.problems.append(str(exc))
                continue
            rep.records += len(t)
            if len(t):
                lo, hi = int(t["ts_ns"].min()), int(t["ts_ns"].max())
                rep.min_ts = lo if rep.min_ts is None else min(rep.min_ts, lo)
                rep.max_ts = hi if rep.max_ts is None else max(rep.max_ts, hi)
            if info.sealed:
                problem = _check_seal(reader, info, t)
                if problem:
                    rep.ok = False
                    rep.problems.append(problem)
    return rep


def _check_seal(reader, info, t: np.ndarray) -> str | None:
    body = read_seal(reader.mapped(info.segment_no).buf, info.end)
    want = {"record_count": len(t),
            "first_seq": int(t["seq"][0]) if len(t) else info.first_seq,
            "last_seq": int(t["seq"][-1]) if len(t) else info.first_seq - 1}
    if len(t):
        want["min_ts_ns"], want["max_ts_ns"] = int(t["ts_ns"].min()), int(t["ts_ns"].max())
    for k, v in want.items():
        if int(body[k]) != v:
            return (f"{info.path} at offset {info.end}: seal says {k}={int(body[k])} but the records "
                    f"give {v}")
    return None


def format_report(rep: VerifyReport) -> str:
    from fxpipe.journal.timefmt import format_time_ns

    lines = [f"journal {rep.directory}: {'OK' if rep.ok else 'CORRUPT'}"]
    if rep.segments:
        lines.append(f"  segments {rep.segments}, records {rep.records}, "
                     f"sequence {rep.first_seq}..{rep.last_seq}")
    if rep.min_ts is not None and rep.max_ts is not None:  # set together
        lines.append(f"  time {format_time_ns(rep.min_ts)} .. {format_time_ns(rep.max_ts)}")
    lines.append(f"  writer: {'live (the tail may still grow)' if rep.live_writer else 'none'}")
    lines.append(f"  tail: {rep.tail or 'clean'}")
    lines += [f"  note: {n}" for n in rep.notes]
    lines += [f"  PROBLEM: {p}" for p in rep.problems]
    return "\n".join(lines)


def parse_cut_point(text: str) -> tuple[str, int]:
    """'000000000003.fxj:4096' -> (name, offset)."""
    name, sep, off = text.rpartition(":")
    if not sep or not off.isdigit() or not name:
        raise ValueError(f"--truncate-at wants SEGMENT_FILE:OFFSET (e.g. 000000000003.fxj:4096), got {text!r}")
    if not name.endswith(".fxj"):
        name = L.segment_name(int(name)) if name.isdigit() else name
    return Path(name).name, int(off)
