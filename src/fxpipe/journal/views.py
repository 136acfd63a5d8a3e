"""Numpy views of journal records for research: one structured array per segment, zero-copy
over the segment's mapping whenever the records of the asked type are evenly spaced in it (a
journal of one event type, or a run of one record size), otherwise gathered into a copy at C
speed. Each element is a record: `hdr` (the journal record header) and `event` (the payload,
typed by the event's dtype when known, raw bytes otherwise)."""
from __future__ import annotations

import mmap
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from fxpipe.journal import layout as L
from fxpipe.journal.errors import JournalError
from fxpipe.journal.types import payload_dtype, type_name


class MixedLengthError(JournalError):
    """Records of one type with different payload lengths: no single dtype describes them."""


@dataclass
class SegmentView:
    segment_no: int
    array: np.ndarray     # read-only structured array: fields hdr, event
    zero_copy: bool       # True: a view of the mapped file; False: a gathered copy


def record_dtype(event: np.dtype, record_size: int) -> np.dtype:
    return np.dtype({"names": ["hdr", "event"], "formats": [L.RECORD_HEADER_DTYPE, event],
                     "offsets": [0, L.RECORD_HEADER_SIZE], "itemsize": record_size})


def _event_dtype(rtype: int, length: int, given: np.dtype | None) -> np.dtype:
    dt = given if given is not None else payload_dtype(rtype)
    if dt is None:
        return np.dtype((np.void, length))
    if dt.itemsize != length:
        raise JournalError(f"{type_name(rtype)} records hold {length}-byte payloads but the dtype "
                           f"is {dt.itemsize} bytes; the journal was written with another layout")
    return dt


@dataclass
class _Placement:
    """Where one segment's records of a type lie: evenly (start, stride) or at `offsets`."""
    mm: mmap.mmap
    count: int
    size: int
    dtype: np.dtype
    start: int = 0
    stride: int = 0
    offsets: np.ndarray | None = None
    end: int = 0

    def view(self) -> np.ndarray:
        return np.ndarray((self.count,), dtype=self.dtype, buffer=self.mm, offset=self.start,
                          strides=(self.stride,))

    def raw_rows(self) -> np.ndarray:
        """The records as an (count, size) uint8 array: every byte, pads included (numpy's own
        copies of a structured array keep only the named fields)."""
        if self.offsets is None:
            return np.ndarray((self.count, self.size), dtype=np.uint8, buffer=self.mm, offset=self.start,
                              strides=(self.stride, 1))
        # every 8-aligned offset viewed as a record start (overlapping rows), then gathered
        starts = np.ndarray(((self.end - self.size) // 8 + 1, self.size), dtype=np.uint8, buffer=self.mm,
                            offset=0, strides=(8, 1))
        return starts.take(self.offsets // 8, axis=0)


def _placements(reader, rtype: int, event_dtype: np.dtype | None) -> Iterator[tuple[int, _Placement]]:
    for info in reader.segments:
        if info.count == 0:
            continue
        mm = reader.mapped(info.segment_no).mm
        trusted = info.verified or not reader.verify
        if trusted and info.uniform_type == rtype and info.uniform_size:
            length = int(np.frombuffer(mm, "<u4", 1, L.SEGMENT_HEADER_SIZE + 8)[0])
            dt = record_dtype(_event_dtype(rtype, length, event_dtype), info.uniform_size)
            yield info.segment_no, _Placement(mm, info.count, info.uniform_size, dt,
                                              L.SEGMENT_HEADER_SIZE, info.uniform_size)
            continue
        if trusted and info.uniform_type and info.uniform_type != rtype:
            continue
        t = reader.table(info.segment_no)
        sel = t[t["type"] == rtype]
        if not len(sel):
            continue
        lengths = np.unique(sel["length"])
        if len(lengths) != 1:
            raise MixedLengthError(f"{type_name(rtype)} records in {info.path} have {len(lengths)} different "
                                   f"payload lengths ({lengths[:4].tolist()}...); read them with records()")
        length = int(lengths[0])
        size = L.record_size(length)
        dt = record_dtype(_event_dtype(rtype, length, event_dtype), size)
        offsets = sel["offset"].astype(np.int64)
        steps = np.diff(offsets)
        if len(offsets) == 1 or (steps[0] >= size and (steps == steps[0]).all()):
            stride = int(steps[0]) if len(offsets) > 1 else size
            yield info.segment_no, _Placement(mm, len(offsets), size, dt, int(offsets[0]), stride)
        else:
            yield info.segment_no, _Placement(mm, len(offsets), size, dt, offsets=offsets, end=info.end)


def segment_views(reader, rtype: int, event_dtype: np.dtype | None = None) -> Iterator[SegmentView]:
    """A view of the `rtype` records of each segment that has any, in order."""
    for no, p in _placements(reader, rtype, event_dtype):
        if p.offsets is None:
            yield SegmentView(no, p.view(), True)
        else:
            yield SegmentView(no, p.raw_rows().view(p.dtype).reshape(-1), False)


def read_array(reader, rtype: int, event_dtype: np.dtype | None = None) -> np.ndarray:
    """All `rtype` records of the journal as one array: the zero-copy view when they lie in one
    segment evenly, else a copy of every byte (pads included)."""
    places = [p for _, p in _placements(reader, rtype, event_dtype)]
    if not places:
        dt = event_dtype if event_dtype is not None else payload_dtype(rtype)
        if dt is None:
            dt = np.dtype((np.void, 0))
        return np.empty(0, dtype=record_dtype(dt, L.record_size(dt.itemsize)))
    if len(places) == 1 and places[0].offsets is None:
        return places[0].view()
    dt = places[0].dtype
    if any(p.dtype != dt for p in places):
        raise MixedLengthError(f"{type_name(rtype)} records differ in length between segments; "
                               f"read them with records()")
    out = np.empty((sum(p.count for p in places), dt.itemsize), dtype=np.uint8)
    at = 0
    for p in places:
        out[at:at + p.count] = p.raw_rows()
        at += p.count
    return out.view(dt).reshape(-1)
