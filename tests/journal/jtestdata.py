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


def market_events(n: int, seed: int = 0, venues=(1, 2, 3), instruments=(1, 2, 3)) -> list:
    """A realistic-ish market-data stream of fxpipe events for the market-state stage: top-of-book
    quotes from several venues (sometimes one-sided, indicative, or deeper levels), quiet gaps
    long enough for quotes to go stale, timers, and market-data session drops and reconnects."""
    from fxpipe.model import events as ev

    rng = np.random.default_rng(seed)
    mid = {i: 108_500_000 + 2_000_000 * i for i in instruments}
    out = []
    t = T0
    for k in range(n):
        t += int(rng.integers(100_000, 50_000_000))
        if rng.random() < 0.01:
            t += 6_000_000_000  # a quiet spell: everything older goes stale
        r = rng.random()
        venue = int(rng.choice(venues))
        if r < 0.03:
            e = ev.empty(ev.EventType.TIMER, 1)[0]
            e["timer_id"], e["deadline_ns"], e["kind"] = k, t, int(ev.TimerKind.HEARTBEAT)
        elif r < 0.045:
            e = ev.empty(ev.EventType.SESSION, 1)[0]
            e["session_kind"] = int(ev.SessionKind.MARKET_DATA)
            e["state"] = int(rng.choice([ev.SessionState.DISCONNECTED, ev.SessionState.ACTIVE]))
            e["prev_state"] = int(ev.SessionState.ACTIVE)
            e["reason"] = int(ev.SessionReason.DISCONNECTED)
            e["venue_id"] = venue
        else:
            instr = int(rng.choice(instruments))
            mid[instr] += int(rng.integers(-300, 301))
            half = int(rng.integers(1, 40))
            e = ev.empty(ev.EventType.QUOTE, 1)[0]
            e["venue_id"], e["instrument_id"] = venue, instr
            e["bid_px_e8"], e["ask_px_e8"] = mid[instr] - half, mid[instr] + half
            e["bid_qty_e2"] = 0 if rng.random() < 0.05 else int(rng.integers(1, 6)) * 100_000_000
            e["ask_qty_e2"] = 0 if rng.random() < 0.05 else int(rng.integers(1, 6)) * 100_000_000
            e["md_seq"] = k
            e["level"] = 1 if rng.random() < 0.05 else 0
            e["quote_cond"] = int(ev.QuoteCondition.INDICATIVE if rng.random() < 0.05 else ev.QuoteCondition.FIRM)
        e["sequence"] = k + 1
        e["ts_venue_ns"] = t - 300_000
        e["ts_receive_ns"] = t
        e["ts_decode_ns"] = t + 2_000
        out.append(e)
    return out


def rewrite_record(jdir, seq: int, payload: bytes | None = None, flags: int | None = None) -> None:
    """Changes one record in place and recomputes its CRC32C: the journal stays valid, only
    its content differs (how the replay tests tamper with a recording)."""
    import struct

    from fxpipe.journal import JournalReader
    from fxpipe.journal.crc import crc32c

    with JournalReader(jdir) as r:
        rec = r.get(seq)
        path = r.segment(rec.segment_no).path
    with open(path, "r+b") as f:
        f.seek(rec.offset)
        head = bytearray(f.read(32))
        body = bytearray(f.read(len(rec.payload)))
        if payload is not None:
            assert len(payload) == len(body)
            body[:] = payload
        if flags is not None:
            head[15] = flags
        struct.pack_into("<I", head, 4, crc32c(bytes(head[8:]) + bytes(body)))
        f.seek(rec.offset)
        f.write(bytes(head) + bytes(body))
