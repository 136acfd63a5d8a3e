"""Deterministic journal contents for the journal tests (and the crash-test writer process):
every record's type, timestamp and payload follow from its sequence number, so a reader can
check any record it finds without knowing what the writer managed to write."""
from __future__ import annotations

import numpy as np

T0 = 1_700_000_000_000_000_000


def type_for(seq: int) -> int:
    return 1 + seq % 5


def ts_for(seq: int) -> int:
    # mostly increasing with some out-of-order stamps, as merged venue times are
    return T0 + seq * 1000 - (seq % 7) * 1500


_BLOCK = ((np.arange(1 << 20, dtype=np.uint32) * 7 + 3) & 0xFF).astype(np.uint8).tobytes()


def payload_for(seq: int, big_every: int = 0, big_size: int = 0) -> bytes:
    if big_every and seq % big_every == 0:
        # cheap to make, so a writer process spends its time inside append, not here
        return seq.to_bytes(8, "little") + _BLOCK[seq % 251: seq % 251 + big_size - 8]
    n = (seq * 37) % 300
    return ((np.arange(n, dtype=np.uint32) * 7 + seq) & 0xFF).astype(np.uint8).tobytes()


def write(journal, count: int, **big) -> list[int]:
    seqs = []
    for _ in range(count):
        seq = journal.next_seq
        got = journal.append(type_for(seq), payload_for(seq, **big), ts_for(seq))
        assert got == seq
        seqs.append(seq)
    return seqs


def check_all(reader, first: int = 1, **big) -> int:
    """Asserts every record is the one its sequence implies and that sequences are contiguous
    from `first`; returns the last sequence."""
    expect = first
    for rec in reader.records():
        assert rec.seq == expect, f"expected seq {expect}, found {rec.seq}"
        assert rec.type == type_for(rec.seq)
        assert rec.ts_ns == ts_for(rec.seq)
        assert bytes(rec.payload) == payload_for(rec.seq, **big), f"payload of seq {rec.seq} differs"
        expect += 1
    return expect - 1


QUOTE_DTYPE = np.dtype([("instrument_id", "<u4"), ("venue_id", "<u2"), ("pad", "<u2"),
                        ("bid_px_e8", "<i8"), ("ask_px_e8", "<i8"), ("bid_qty_e2", "<i8"),
                        ("ask_qty_e2", "<i8"), ("venue_ts_ns", "<i8")])


def quotes(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    q = np.zeros(n, dtype=QUOTE_DTYPE)
    q["instrument_id"] = rng.integers(1, 4, n)
    q["venue_id"] = rng.integers(1, 3, n)
    q["bid_px_e8"] = 108_500_000 + rng.integers(-500, 500, n)
    q["ask_px_e8"] = q["bid_px_e8"] + rng.integers(1, 30, n)
    q["bid_qty_e2"] = rng.integers(1, 100, n) * 100_000_000
    q["ask_qty_e2"] = rng.integers(1, 100, n) * 100_000_000
    q["venue_ts_ns"] = T0 + np.arange(n, dtype=np.int64) * 1000
    return q


def model_events(event_type, n: int, seed: int = 0) -> np.ndarray:
    """n well-formed fxpipe.model.events records of one type with every field set: enums to
    valid members, text to ASCII, numbers random, pads zero; instruments 1..3, venues 1..2,
    receive times increasing from T0."""
    from fxpipe.model import events as ev

    rng = np.random.default_rng(seed)
    arr = ev.empty(event_type, n)
    for name in arr.dtype.names:
        fdt = arr.dtype.fields[name][0]
        if name.startswith("_") or name in ("type", "flags"):
            continue
        cls, _ = ev.enum_for(event_type, name)
        if cls is not None:
            members = [int(m) for m in cls]
            arr[name] = rng.choice(members, n)
        elif fdt.kind == "S":
            letters = np.frombuffer(b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", dtype=np.uint8)
            width = max(1, fdt.itemsize - 3)
            arr[name] = [bytes(rng.choice(letters, width)) for _ in range(n)]
        elif fdt.kind in "iu":
            info = np.iinfo(fdt)
            arr[name] = rng.integers(0, min(info.max, 10**12), n, dtype=np.int64).astype(fdt)
    arr["instrument_id"] = rng.integers(1, 4, n)
    arr["venue_id"] = rng.integers(1, 3, n)
    arr["ts_receive_ns"] = T0 + np.arange(n, dtype=np.int64) * 1_000_000 + seed
    return arr
