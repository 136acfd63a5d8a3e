"""Events for people: check a record against its layout's rules, turn it into a dict of plain
values (raw ints for CSV/Parquet, or readable names and decimals), and print it on one line.

Used by the journal's `show`, `verify` and `export`. Scaled fields are recognised by their
suffix (_e8 price, _e2 quantity, _e4 money; RiskEvent's observed/limit by value_scale),
enum fields by fxpipe.model.events.enum_for, so a new field needs no change here.
"""
from __future__ import annotations

import datetime as _dt

import numpy as np

import fxpipe.model.events as ev
from fxpipe.model.numbers import format_decimal

_SUFFIX_SCALE = {"_e8": 8, "_e2": 2, "_e4": 4}
_TIMESTAMPS = {"ts_venue_ns", "ts_receive_ns", "ts_decode_ns", "ts_decide_ns", "ts_risk_ns",
               "ts_send_ns", "deadline_ns"}


def _scale_of(rec, name: str) -> int | None:
    if name in ("observed", "limit"):
        return int(rec["value_scale"])
    return _SUFFIX_SCALE.get(name[-3:])


def _pad_mask(dt: np.dtype) -> np.ndarray:
    """True for every byte of a slot that no field covers (the explicit _pad arrays)."""
    mask = np.ones(dt.itemsize, dtype=bool)
    names, fields = dt.names, dt.fields
    assert names is not None and fields is not None  # event dtypes are structured
    for name in names:
        fdt, off = fields[name][:2]
        mask[off:off + fdt.itemsize] = False
    return mask


_PADS = {t: _pad_mask(ev.dtype_for(t)) for t in ev.EventType}


def problems(rec) -> list[str]:
    """What is wrong with one event record (empty when it is well formed): unknown type,
    a type that does not match the dtype, reserved flag bits, enum fields out of their enum
    (or unset where required), non-ASCII text, non-zero pad bytes."""
    t_raw = int(rec["type"])
    try:
        t = ev.EventType(t_raw)
    except ValueError:
        return [f"unknown event type {t_raw}"]
    if rec.dtype != ev.dtype_for(t):
        return [f"type field says {t.name} but the record has another layout"]
    found = []
    for name in rec.dtype.names:
        value = rec[name]
        try:
            ev.check_value(t, name, value.item() if hasattr(value, "item") else value)
        except (ValueError, TypeError, OverflowError) as exc:
            found.append(str(exc))
    raw = np.frombuffer(rec.tobytes(), dtype=np.uint8)
    dirty = np.flatnonzero(raw[_PADS[t]])
    if dirty.size:
        offsets = np.flatnonzero(_PADS[t])[dirty]
        found.append(f"{t.name} has {dirty.size} non-zero pad byte(s), first at offset {offsets[0]}")
    return found


def validate(rec) -> None:
    """Raise ValueError listing every problem of rec (see problems())."""
    found = problems(rec)
    if found:
        raise ValueError(f"invalid event (sequence {int(rec['sequence'])}): " + "; ".join(found))


def _iso_ns(ns: int) -> str:
    if ns == 0:
        return ""
    secs, frac = divmod(ns, 1_000_000_000)
    stamp = _dt.datetime.fromtimestamp(secs, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{frac:09d}Z"


def _readable(rec, t: ev.EventType, name: str, value):
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    value = int(value)
    if name == "flags":
        return "|".join(f.name for f in ev.EventFlag if value & f) or ""
    cls, _ = ev.enum_for(t, name)
    if cls is not None:
        return cls(value).name if value in cls._value2member_map_ else ("" if value == 0 else value)
    if name in _TIMESTAMPS:
        return _iso_ns(value)
    scale = _scale_of(rec, name)
    if scale is not None and 0 <= scale <= 18:
        return format_decimal(value, scale)
    return value


def as_dict(rec, readable: bool = False) -> dict:
    """Field name -> value. Raw: ints as stored, text as str (what an export writes).
    Readable: enum names, decimals for scaled fields, ISO-8601 UTC for timestamps."""
    t = ev.EventType(int(rec["type"]))
    out = {}
    for name in rec.dtype.names:
        value = rec[name].item() if hasattr(rec[name], "item") else rec[name]
        if readable:
            out[name] = _readable(rec, t, name, value)
        else:
            out[name] = value.decode("ascii", "replace") if isinstance(value, bytes) else int(value)
    return out


def format_event(rec) -> str:
    """One line: type, sequence, venue/instrument, then every non-zero field, readable."""
    t = ev.EventType(int(rec["type"]))
    values = as_dict(rec, readable=True)
    head = f"{t.name} seq={int(rec['sequence'])} venue={int(rec['venue_id'])} instr={int(rec['instrument_id'])}"
    skip = {"type", "sequence", "venue_id", "instrument_id"}
    body = [f"{k}={v}" for k, v in values.items()
            if k not in skip and v not in ("", 0, "0") and not (k == "value_scale")]
    return " ".join([head, *body])
