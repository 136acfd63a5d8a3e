"""Struct packers for chosen fields of one event type, for the Python hot paths.

A numpy record costs about half a microsecond per field read or written and several to make;
`struct` packs or unpacks a dozen fields of an event's bytes in a few hundred nanoseconds. The
packer is built from the event's dtype (the offsets measured from the C structs), so it cannot
drift from the layout: fields are given by name and the gaps between them are padding.
"""
from __future__ import annotations

import struct
from collections.abc import Callable
from operator import itemgetter

import fxpipe.model.events as ev

_CODES = {("i", 1): "b", ("i", 2): "h", ("i", 4): "i", ("i", 8): "q",
          ("u", 1): "B", ("u", 2): "H", ("u", 4): "I", ("u", 8): "Q"}


def packer(event_type: int, names: tuple[str, ...], *, whole: bool = False) -> struct.Struct:
    """A little-endian Struct over the named integer fields of event_type, in offset order
    (names must be given in that order). whole: the Struct spans the whole event
    (SLOT_SIZE bytes, pad after the last field), so pack() makes a complete event."""
    dt = ev.dtype_for(event_type)
    fmt, at = "<", 0
    for name in names:
        if name not in dt.names:
            raise ValueError(f"{ev.EventType(event_type).name} has no field {name!r}")
        ftype, offset = dt.fields[name][:2]
        if offset < at:
            raise ValueError(f"field {name!r} (offset {offset}) is out of order or overlaps")
        code = _CODES.get((ftype.kind, ftype.itemsize))
        if code is None:
            raise ValueError(f"field {name!r} is not an integer field ({ftype})")
        fmt += f"{offset - at}x" if offset > at else ""
        fmt += code
        at = offset + ftype.itemsize
    if whole:
        fmt += f"{ev.SLOT_SIZE - at}x"
    return struct.Struct(fmt)


def fields_reader(event_type: int, *names: str) -> Callable[..., tuple]:
    """The named integer fields of an event of event_type read from its bytes (reader(raw), or
    reader(buf, at) for the event at byte `at` of a buffer), in the order named (any order: one
    unpack in offset order, then a C-level pick)."""
    dt = ev.dtype_for(event_type)
    for name in names:
        if name not in dt.names:
            raise ValueError(f"{ev.EventType(event_type).name} has no field {name!r}")
    ordered = tuple(sorted(names, key=lambda n: dt.fields[n][1]))
    unpack = packer(event_type, ordered).unpack_from
    pick = itemgetter(*(ordered.index(n) for n in names))
    return lambda raw, at=0: pick(unpack(raw, at))
