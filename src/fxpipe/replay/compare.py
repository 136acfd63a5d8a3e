"""Bit-for-bit comparison of a recorded output event with a replayed one, and the words for
where they first differ: the event field by name when the type has a layout, else the byte."""
from __future__ import annotations

import numpy as np

from fxpipe.journal.types import payload_dtype, type_name


def first_difference(rtype: int, recorded: bytes, replayed: bytes) -> tuple[str, str, str] | None:
    """(field, recorded value, replayed value) of the first difference, or None when equal."""
    if recorded == replayed:
        return None
    if len(recorded) != len(replayed):
        return "length", str(len(recorded)), str(len(replayed))
    dt = payload_dtype(rtype)
    if dt is not None and dt.itemsize == len(recorded):
        a = np.frombuffer(recorded, dtype=dt, count=1)[0]
        b = np.frombuffer(replayed, dtype=dt, count=1)[0]
        names, fields = dt.names, dt.fields
        assert names is not None and fields is not None  # payload dtypes are structured
        for name in sorted(names, key=lambda n: fields[n][1]):
            if not np.array_equal(a[name], b[name]):
                return name, _text(a[name]), _text(b[name])
    i = next(k for k in range(len(recorded)) if recorded[k] != replayed[k])
    where = f"byte {i}" + (" (padding)" if dt is not None else "")
    return where, f"{recorded[i]:#04x}", f"{replayed[i]:#04x}"


def _text(v) -> str:
    if isinstance(v, np.ndarray):
        return str(v.tolist())
    if isinstance(v, (bytes, np.bytes_)):
        return repr(bytes(v).rstrip(b"\x00"))
    return str(v.item() if hasattr(v, "item") else v)


def describe_type(rtype: int) -> str:
    return type_name(rtype)
