"""Walking one segment's records in chunks through the C scanner, collecting what callers need:
the segment summary (count, sequence and time range, uniform record size/type), sparse index
entries, and optionally the full record table (for readers and numpy views)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fxpipe.journal import layout as L
from fxpipe.journal.scan import resync, scan_records

CHUNK = 1 << 16


@dataclass
class SegmentScan:
    start: int
    stop: int                 # offset where the scan stopped (bad record, seal, or end of data)
    status: L.ScanStatus
    next_seq: int             # sequence expected at `stop`
    count: int = 0
    first_seq: int = 0
    min_ts: int = 0
    max_ts: int = 0
    uniform_size: int = 0     # 0: mixed sizes (or no records)
    uniform_type: int = 0     # 0: mixed types (or no records)
    table: np.ndarray | None = None

    @property
    def last_seq(self) -> int:
        return self.next_seq - 1


def scan_segment(buf, start: int, end: int, expect_seq: int, verify: bool = True,
                 keep_table: bool = False, index=None, segment_no: int = 0,
                 running_max_ts: int | None = None) -> SegmentScan:
    """Scans [start, end) of one segment's bytes. With `index`, adds sparse entries (the first
    record of the segment when start is the segment's first record offset, and every record
    whose seq is a multiple of index.every); `running_max_ts` is the max timestamp before it."""
    out = np.empty(CHUNK, dtype=L.RECORD_INDEX_DTYPE)
    res = SegmentScan(start, start, L.ScanStatus.MORE, expect_seq)
    tables = []
    sizes: set[int] = set()
    types: set[int] = set()
    pos = start
    run_max = running_max_ts
    mask = (index.every - 1) if index is not None else 0
    while True:
        n, pos, status, expect_seq = scan_records(buf, pos, end, expect_seq, verify, out)
        if n:
            rows = out[:n]
            ts = rows["ts_ns"]
            if res.count == 0:
                res.first_seq = int(rows["seq"][0])
                res.min_ts = res.max_ts = int(ts[0])
            res.min_ts = min(res.min_ts, int(ts.min()))
            res.max_ts = max(res.max_ts, int(ts.max()))
            sizes.update(np.unique(L.RECORD_HEADER_SIZE + ((rows["length"].astype(np.int64) + 7) & ~7)).tolist())
            types.update(np.unique(rows["type"]).tolist())
            if index is not None:
                running = np.maximum.accumulate(ts)
                if run_max is not None:
                    running = np.maximum(running, run_max)
                pick = (rows["seq"] & np.uint64(mask)) == 0
                if res.count == 0 and start == L.SEGMENT_HEADER_SIZE:
                    pick[0] = True
                for i in np.flatnonzero(pick).tolist():
                    index.add(int(rows["seq"][i]), int(running[i]), segment_no, int(rows["offset"][i]))
                run_max = int(running[-1])
            if keep_table:
                tables.append(rows.copy())
            res.count += n
        if status != L.ScanStatus.MORE:
            break
    res.stop, res.status, res.next_seq = pos, L.ScanStatus(status), expect_seq
    if res.count:
        res.uniform_size = sizes.pop() if len(sizes) == 1 else 0
        res.uniform_type = types.pop() if len(types) == 1 else 0
    if keep_table:
        res.table = np.concatenate(tables) if tables else np.empty(0, dtype=L.RECORD_INDEX_DTYPE)
    return res


def read_seal(buf, offset: int) -> np.void:
    """The seal body of the seal record at `offset`."""
    return np.frombuffer(buf, dtype=L.SEAL_BODY_DTYPE, count=1, offset=offset + L.RECORD_HEADER_SIZE)[0]


def intact_record_after(buf, start: int, end: int) -> int:
    """Offset of an intact record in [start, end), or -1 (see scan.resync)."""
    return resync(buf, start, end)
