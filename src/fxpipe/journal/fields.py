"""Event payload fields as flat, named columns (for show and export): nested structs become
`outer_inner`, fixed arrays `name_0, name_1, ...`, byte strings text; scaled integers
(`*_e8`, `*_e2`) print as exact decimals in `show`, and stay integers in exports."""
from __future__ import annotations

import re

import numpy as np

_SCALED_RE = re.compile(r"^(.*)_e(\d+)$")
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
    for name in dtype.names:
        if name.startswith("_") or _PAD_RE.fullmatch(name):
            continue  # explicit padding in a layout is not data
        sub = dtype.fields[name][0]
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


def scaled_text(value: int, scale: int) -> str:
    """Exact decimal text of a scaled integer: scaled_text(108512000, 8) == '1.08512000'."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(int(value)), 10 ** scale)
    return f"{sign}{whole}.{frac:0{scale}d}" if scale else f"{sign}{whole}"


def format_field(name: str, value) -> tuple[str, str]:
    """(display name, text) for show: scaled integers as decimals under their plain name."""
    m = _SCALED_RE.match(name)
    if m and isinstance(value, (int, np.integer)):
        return m.group(1), scaled_text(int(value), int(m.group(2)))
    if isinstance(value, (bytes, np.bytes_)):
        return name, bytes(value).rstrip(b"\x00").decode("ascii", errors="replace")
    if isinstance(value, np.void):
        return name, bytes(value).hex()
    return name, str(value)
