"""What a record's type number means: its name and the numpy dtype of its payload.

Event types are fxpipe.model.events' EventType (the single source of truth for event layouts;
a journal record's type is the event's type); journal-internal records have names here. A type
that neither defines stays opaque bytes: the journal stores, verifies, shows and exports it
as raw payload.
"""
from __future__ import annotations

import numpy as np

import fxpipe.model.events as ev
from fxpipe.journal import layout as L

_KNOWN = {int(t): t for t in ev.EventType}


def is_event_type(rtype: int) -> bool:
    return rtype in _KNOWN


def type_name(rtype: int) -> str:
    if rtype in L.INTERNAL_TYPE_NAMES:
        return L.INTERNAL_TYPE_NAMES[rtype]
    if rtype in _KNOWN:
        return _KNOWN[rtype].name
    return f"type{rtype}"


def payload_dtype(rtype: int) -> np.dtype | None:
    """The payload dtype of an event type, or None when the type is not an event type."""
    return ev.dtype_for(rtype) if rtype in _KNOWN else None


def _norm(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def parse_type(text: str) -> int:
    """A type given on a command line: a number, or a name (QUOTE, quote, OrderIntent, ...)."""
    t = text.strip()
    if t.isdigit():
        value = int(t)
        if not 0 < value <= 0xFFFF:
            raise ValueError(f"record type {value} is out of range 1..65535")
        return value
    names = {_norm(n): r for r, n in L.INTERNAL_TYPE_NAMES.items()}
    names.update({_norm(e.name): int(e) for e in ev.EventType})
    if _norm(t) in names:
        return names[_norm(t)]
    if t.lower().startswith("type") and t[4:].isdigit():
        return parse_type(t[4:])
    known = ", ".join(e.name for e in ev.EventType)
    raise ValueError(f"unknown record type {text!r}: give a number or an event type ({known})")
