"""`fxpipe journal export`: records to CSV or Parquet (pyarrow), selected by time range, type,
instrument and sequence range. One table per record type: the journal's columns (j_seq,
j_ts_ns, j_type, j_stage, j_flags), then the event's fields flattened (money stays exact scaled
integers, text fields text, pads left out), or payload_hex for a type without a layout. Reads through the
numpy views, so selection and conversion run at array speed."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from fxpipe.journal import layout as L
from fxpipe.journal.errors import JournalError
from fxpipe.journal.fields import column, flat_fields
from fxpipe.journal.reader import JournalReader
from fxpipe.journal.types import type_name
from fxpipe.journal.views import MixedLengthError

FORMATS = ("csv", "parquet")
INSTRUMENT_FIELDS = ("instrument_id", "instrument")


@dataclass
class Selection:
    types: list[int] | None = None
    start_ts: int | None = None
    end_ts: int | None = None
    instruments: list[int] | None = None
    start_seq: int | None = None
    end_seq: int | None = None


def _instrument_path(dtype: np.dtype) -> tuple | None:
    for name, path in flat_fields(dtype):
        if path and path[-1] in INSTRUMENT_FIELDS or name in INSTRUMENT_FIELDS:
            return path
    return None


def type_table(reader: JournalReader, rtype: int, sel: Selection,
               event_dtype: np.dtype | None = None) -> pa.Table:
    """The selected records of one type as an Arrow table (`event_dtype` overrides the event
    model's layout, e.g. for record types of your own)."""
    try:
        arr = reader.array(rtype, event_dtype)
        raw = None
    except MixedLengthError:
        arr = None  # payload lengths vary: only raw bytes can be exported
        raw = list(reader.records(types=[rtype], start_ts=sel.start_ts, end_ts=sel.end_ts,
                                  start_seq=sel.start_seq, end_seq=sel.end_seq))
    if raw is not None:
        if sel.instruments is not None:
            raise JournalError(f"{type_name(rtype)} payloads have no fixed layout, so they cannot be "
                               f"selected by instrument")
        return pa.table({"j_seq": pa.array([r.seq for r in raw], pa.uint64()),
                         "j_ts_ns": pa.array([r.ts_ns for r in raw], pa.int64()),
                         "j_type": pa.array([r.type for r in raw], pa.uint16()),
                         "j_stage": pa.array([r.stage for r in raw], pa.uint8()),
                         "j_flags": pa.array([r.flags for r in raw], pa.uint8()),
                         "payload_hex": pa.array([bytes(r.payload).hex() for r in raw], pa.string())})
    assert arr is not None  # None only with raw, returned above
    hdr = arr["hdr"]
    mask = np.ones(len(arr), dtype=np.bool_)
    if sel.start_ts is not None:
        mask &= hdr["ts_ns"] >= sel.start_ts
    if sel.end_ts is not None:
        mask &= hdr["ts_ns"] < sel.end_ts
    if sel.start_seq is not None:
        mask &= hdr["seq"] >= sel.start_seq
    if sel.end_seq is not None:
        mask &= hdr["seq"] <= sel.end_seq
    ev_dtype = arr.dtype["event"]
    if sel.instruments is not None:
        path = _instrument_path(ev_dtype) if ev_dtype.names else None
        if path is None:
            raise JournalError(f"{type_name(rtype)} events have no instrument field, so they cannot be "
                               f"selected by instrument")
        mask &= np.isin(column(arr["event"], path), np.asarray(sel.instruments))
    arr = arr[mask]
    hdr, ev = arr["hdr"], arr["event"]
    cols = {"j_seq": hdr["seq"], "j_ts_ns": hdr["ts_ns"], "j_type": hdr["type"], "j_stage": hdr["stage"],
            "j_flags": hdr["flags"]}
    if ev_dtype.names is None:
        cols["payload_hex"] = column(ev, ())
    else:
        for name, path in flat_fields(ev_dtype):
            cols[name] = column(ev, path)
    return pa.table({k: pa.array(np.ascontiguousarray(v) if v.dtype != object else v.tolist())
                     for k, v in cols.items()})


def present_types(reader: JournalReader) -> list[int]:
    seen: set[int] = set()
    for info in reader.segments:
        if info.count == 0:
            continue
        if info.uniform_type and (info.verified or not reader.verify):
            seen.add(info.uniform_type)
        else:
            seen.update(np.unique(reader.table(info.segment_no)["type"]).tolist())
    return sorted(t for t in seen if t < L.RT_RESERVED_MIN)


def export(directory, out, fmt: str, sel: Selection,
           event_dtypes: dict[int, np.dtype] | None = None) -> dict[str, tuple[Path, int]]:
    """Writes the selection; returns {type name: (file, rows)}. With one type, `out` is the file
    (or a directory to put it in); with several, a directory with one file per type.
    `event_dtypes` gives payload layouts for types the event model does not define."""
    if fmt not in FORMATS:
        raise JournalError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    out = Path(out)
    with JournalReader(directory) as reader:
        types = sel.types if sel.types is not None else present_types(reader)
        if not types:
            raise JournalError(f"{directory} holds no event records to export")
        many = len(types) > 1
        if many or out.is_dir():
            out.mkdir(parents=True, exist_ok=True)
        written = {}
        for rtype in types:
            table = type_table(reader, rtype, sel, (event_dtypes or {}).get(rtype))
            name = type_name(rtype)
            path = out / f"{name}.{fmt}" if (many or out.is_dir()) else out
            if fmt == "csv":
                pacsv.write_csv(table, path)
            else:
                pq.write_table(table, path)
            written[name] = (path, table.num_rows)
    return written
