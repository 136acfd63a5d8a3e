"""The journal's edges: payloads past the length field, an index callback that fails between
commit and advance, holes a power cut leaves under a batch fsync policy, and file modes."""
import mmap
import multiprocessing as mp
import os
import stat

import pytest

from fxpipe.journal import Journal, JournalReader
from fxpipe.journal import layout as L
from fxpipe.journal.appender import MAX_PAYLOAD, POLICY_NEVER, SegmentAppender
from fxpipe.journal.errors import JournalCorruptError
from fxpipe.journal.recovery import load_state
from fxpipe.journal.segments import create_segment

CTX = mp.get_context("fork")


def test_payload_over_the_record_length_range_is_refused_before_anything_is_written(tmp_path):
    big = mmap.mmap(-1, MAX_PAYLOAD + 8)     # address space only: never touched
    try:
        with Journal.open(tmp_path / "j", fsync="never") as j:
            j.append(1, b"first", 1)
            pos = j.appender.pos
            with pytest.raises(ValueError, match="over the journal's record limit"):
                j.append(1, big, 2)
            assert j.appender.pos == pos and j.next_seq == 2
            j.append(1, b"second", 3)
        with JournalReader(tmp_path / "j") as r:
            assert [rec.payload for rec in r.records()] == [b"first", b"second"]
    finally:
        big.close()


def test_index_callback_failing_after_commit_never_lets_a_record_be_overwritten(tmp_path):
    d = tmp_path / "j"
    d.mkdir()
    calls = []

    def on_index(seq, max_ts, segment_no, offset):
        calls.append(seq)
        if seq == 2:
            raise KeyboardInterrupt            # Ctrl-C between the commit and the advance

    def on_full(needed):
        raise AssertionError("no roll-over expected")

    fd = create_segment(d, 0, 0x1234, 1, 1 << 20)
    a = SegmentAppender(on_full, on_index, POLICY_NEVER, 0, 0, 1, 1, -(1 << 63))
    a.attach(fd, 1 << 20, 0, L.SEGMENT_HEADER_SIZE, 1, 0, 0, 0, 0, 0, False, False)
    assert a.append(1, b"one", 10) == 1
    with pytest.raises(KeyboardInterrupt):
        a.append(1, b"two", 20)                # committed: it stays
    assert a.next_seq == 3
    assert a.append(1, b"three", 30) == 3      # today: written over "two", as sequence 2
    a.detach()
    os.close(fd)
    with JournalReader(d) as r:
        assert [(rec.seq, rec.payload) for rec in r.records()] == [(1, b"one"), (2, b"two"), (3, b"three")]


def _write_then_lose_power(directory, n):
    j = Journal.open(directory, fsync="every:4")
    for i in range(1, n + 1):
        j.append(1, i.to_bytes(8, "little") * 8, i)
    os._exit(0)                              # no close: records 9.. were never synced


def _record_offsets(directory):
    with JournalReader(directory) as r:
        return {rec.seq: off for rec, off in zip(r.records(), r.table(0)["offset"].tolist(), strict=True)}


def _punch(directory, offset, length):
    with open(directory / L.segment_name(0), "r+b") as f:
        f.seek(offset)
        f.write(bytes(length))


def _child_writes(directory, n):
    p = CTX.Process(target=_write_then_lose_power, args=(directory, n))
    p.start()
    p.join(60)
    assert p.exitcode == 0


def test_hole_after_the_last_sync_is_cut_without_an_operator(tmp_path):
    """Batch policy, a power cut: record 9 (after the last sync, at record 8) never reached the
    disk but record 10's page did. Recovery sees a hole past the synced watermark: unsynced data,
    cut at record 9, no --truncate-at needed."""
    d = tmp_path / "j"
    _child_writes(d, 10)
    offsets = _record_offsets(d)
    size = L.record_size(64)
    _punch(d, offsets[9], size)              # the page with record 9 was lost, record 10's was not
    with Journal.open(d, fsync="every:4") as j:   # today: JournalCorruptError, "intact records follow"
        assert j.tail is not None and j.tail.cut and "unsynced" in j.tail.reason
        assert j.tail.offset == offsets[9]
        assert j.next_seq == 9
        j.append(1, b"after", 11)
    with JournalReader(d) as r:
        assert [rec.seq for rec in r.records()] == list(range(1, 10))


def test_hole_before_the_last_sync_is_still_corruption(tmp_path):
    d = tmp_path / "j"
    _child_writes(d, 10)
    offsets = _record_offsets(d)
    _punch(d, offsets[5], L.record_size(64))  # record 5 was synced: losing it is damage
    with pytest.raises(JournalCorruptError, match="intact records follow"):
        Journal.open(d, fsync="every:4")


def test_every_record_policy_keeps_no_watermark_and_refuses_holes(tmp_path):
    d = tmp_path / "j"
    with Journal.open(d, fsync="every-record") as j:
        for i in range(1, 6):
            j.append(1, bytes(64), i)
    offsets = _record_offsets(d)
    _punch(d, offsets[3], L.record_size(64))
    with pytest.raises(JournalCorruptError):
        load_state(d, writable=False, index_every=4096)


def test_journal_files_are_owner_only(tmp_path):
    d = tmp_path / "j"
    with Journal.open(d, fsync="never", segment_size=2 * L.PAGE) as j:
        for i in range(200):                  # several segments
            j.append(1, bytes(64), i)
    names = sorted(p.name for p in d.iterdir())
    assert any(n.endswith(".fxj") for n in names) and "index.fxi" in names and "journal.lock" in names
    for p in d.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name
    for p in d.iterdir():                     # as an older build left them
        p.chmod(0o644)
    Journal.open(d, fsync="never").close()
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in d.iterdir())


def test_a_watermark_left_by_a_batch_writer_never_covers_for_a_stricter_one(tmp_path):
    """Batch writer dies (watermark at record 8); the journal is reopened every-record and
    grows. A hole among the records synced one by one is corruption, not an unsynced tail."""
    d = tmp_path / "j"
    _child_writes(d, 10)
    with Journal.open(d, fsync="every-record") as j:
        for i in range(11, 16):
            j.append(1, i.to_bytes(8, "little") * 8, i)
    offsets = _record_offsets(d)
    _punch(d, offsets[12], L.record_size(64))
    with pytest.raises(JournalCorruptError, match="intact records follow"):
        Journal.open(d, fsync="every-record")
