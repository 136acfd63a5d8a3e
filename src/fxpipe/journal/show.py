"""`fxpipe journal show`: records as readable lines: sequence, UTC time, type, stage and role,
then the event in fxpipe.model.eventtext's readable form (enum names, scaled integers as exact
decimals, ISO times), or the payload in hex for a type the event model does not define."""
from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from fxpipe.journal import layout as L
from fxpipe.journal.reader import Record
from fxpipe.journal.timefmt import format_time_ns
from fxpipe.journal.types import payload_dtype, type_name
from fxpipe.model.eventtext import format_event

HEX_LIMIT = 64


def role(flags: int) -> str:
    if flags & L.FLAG_INPUT:
        return "in"
    if flags & L.FLAG_OUTPUT:
        return "out"
    return ""


def describe_payload(rec: Record) -> str:
    if rec.type == L.RT_STAGE_START:
        n = int.from_bytes(rec.payload[:2], "little")
        name = bytes(rec.payload[2:2 + n]).decode(errors="replace")
        return f"stage={name} config={bytes(rec.payload[2 + n:]).decode(errors='replace')}"
    if rec.type == L.RT_STATE_HASH:
        return f"state_hash={bytes(rec.payload).hex()}"
    dt = payload_dtype(rec.type)
    if dt is not None and dt.itemsize == len(rec.payload):
        text = format_event(np.frombuffer(rec.payload, dtype=dt, count=1)[0])
        name = type_name(rec.type) + " "
        return text[len(name):] if text.startswith(name) else text  # the type is already shown
    data = bytes(rec.payload)
    more = f"...(+{len(data) - HEX_LIMIT} bytes)" if len(data) > HEX_LIMIT else ""
    return f"len={len(data)} hex={data[:HEX_LIMIT].hex()}{more}"


def format_record(rec: Record) -> str:
    stage = f" stage={rec.stage}{'/' + role(rec.flags) if role(rec.flags) else ''}" if rec.stage else ""
    return (f"{rec.seq:>10}  {format_time_ns(rec.ts_ns)}  {type_name(rec.type):<12}{stage}  "
            f"{describe_payload(rec)}")


def show_lines(records: Iterable[Record], limit: int | None) -> Iterator[str]:
    for i, rec in enumerate(records):
        if limit is not None and i >= limit:
            return
        yield format_record(rec)
