"""Event payload fields as flat, named columns for export: nested structs become
`outer_inner`, fixed arrays `name_0, name_1, ...`, byte strings text, explicit pads left out;
scaled integers stay exact integers."""
from __future__ import annotations

import re

import numpy as np

_PAD_RE = re.compile(r"pad\d*|reserved\d*")


def flat_fields(dtype: np.dtype, prefix: str = "", path: tuple = ()) -> list[tuple[str, tuple]]:
    """[(column name, access path)], where a path is a tuple of field names and int indexes."""
    out: list[tuple[str, tuple]] = []
    if dtype.names is None:
        if dtype.subdtype is not None:
            base, shape = dtype.subdtype
            for i in np.ndindex(*shape):
                suffix = "_".join(str(k) for k in i)
                out += flat_fields(base, f"{prefix}_{suffix}", path + (i,))
            return out
        return [(prefix or "value", path)]
    fields = dtype.fields
    assert fields is not None  # a dtype with names has fields
    for name in dtype.names:
        if name.startswith("_") or _PAD_RE.fullmatch(name):
            continue  # explicit padding in a layout is not data
        sub = fields[name][0]
        out += flat_fields(sub, f"{prefix}_{name}" if prefix else name, path + (name,))
    return out


def column(arr: np.ndarray, path: tuple) -> np.ndarray:
    col = arr
    for step in path:
        col = col[step] if isinstance(step, str) else col[(slice(None),) + step]
    if col.dtype.kind == "S":
        return np.char.decode(np.char.rstrip(col, b"\x00"), "ascii", errors="replace")
    if col.dtype.kind == "V":
        return np.array([bytes(v).hex() for v in col], dtype=object)
    return col
