"""What a record's type number means: its name and the numpy dtype of its payload.

Event types come from fxpipe.model.events (the single source of truth for event layouts);
journal-internal records have names here. A type that neither knows stays opaque bytes: the
journal stores, verifies, shows and exports it as raw payload.
"""
from __future__ import annotations

import numpy as np

from fxpipe.journal import layout as L


def _events():
    try:
        from fxpipe.model import events
    except ImportError:
        return None
    return events


def type_name(rtype: int) -> str:
    if rtype in L.INTERNAL_TYPE_NAMES:
        return L.INTERNAL_TYPE_NAMES[rtype]
    ev = _events()
    if ev is not None:
        name = ev.type_name(rtype) if hasattr(ev, "type_name") else None
        if name:
            return name
    return f"type{rtype}"


def payload_dtype(rtype: int) -> np.dtype | None:
    """The payload dtype of an event type, or None when the type is not known."""
    ev = _events()
    if ev is None or rtype >= L.RT_RESERVED_MIN:
        return None
    try:
        return np.dtype(ev.dtype_for(rtype))
    except (KeyError, ValueError, LookupError):
        return None


def parse_type(text: str) -> int:
    """A type given on a command line: a number, or a name known to type_name()."""
    t = text.strip()
    if t.isdigit():
        value = int(t)
        if not 0 < value <= 0xFFFF:
            raise ValueError(f"record type {value} is out of range 1..65535")
        return value
    for rtype, name in L.INTERNAL_TYPE_NAMES.items():
        if name.lower() == t.lower():
            return rtype
    ev = _events()
    if ev is not None and hasattr(ev, "type_id"):
        try:
            return int(ev.type_id(t))
        except (KeyError, ValueError, LookupError):
            pass
    if t.lower().startswith("type") and t[4:].isdigit():
        return parse_type(t[4:])
    raise ValueError(f"unknown record type {text!r}: give a number or an event type name")
