"""The next segment written ahead in the writer's idle moments (fxpipe.journal.spare): the
roll-over takes it, its blocks are written rather than reserved, and a spare that is not used
(closed, crashed, too small, a full disk) never leaves a trace or loses a record."""
from __future__ import annotations

import errno
import fcntl
import os
import struct

import pytest

from fxpipe.journal import Journal, JournalReader
from fxpipe.journal import layout as L
from fxpipe.journal import spare as spare_mod
from fxpipe.journal.segments import create_segment
from fxpipe.journal.verify import verify_journal

SEG = 1 << 20                 # four steps of the spare
PAYLOAD = b"r" * 200


def _records(directory) -> list[bytes]:
    with JournalReader(directory) as r:
        return [bytes(rec.payload) for rec in r.records()]


def _fill_past_half(j: Journal, start: int = 0) -> int:
    i = start
    while j.appender.pos * 2 < j.appender.size:
        j.append(1, PAYLOAD, i)
        i += 1
    return i


def _idle_until_spare_ready(j: Journal, limit: int = 64) -> None:
    for _ in range(limit):
        j.prefault()
        if j._spare is not None and j._spare.ready:
            return
    raise AssertionError("the spare was never written")


def _tmp(directory, segment_no: int):
    return directory / (L.segment_name(segment_no) + ".tmp")


def test_the_next_segment_is_written_ahead_while_idle_and_the_roll_over_takes_it(tmp_path):
    d = tmp_path / "j"
    j = Journal.open(d, fsync="never", segment_size=SEG, write_ahead=True)
    try:
        n = _fill_past_half(j)
        assert not _tmp(d, 1).exists()               # nothing before the segment is half full
        _idle_until_spare_ready(j)
        spare = _tmp(d, 1)
        assert spare.stat().st_size == SEG and spare.stat().st_mode & 0o777 == 0o600
        inode = spare.stat().st_ino
        while j.appender.segment_no == 0:
            j.append(1, PAYLOAD, n)
            n += 1
        assert (d / L.segment_name(1)).stat().st_ino == inode   # the spare, renamed
        assert not spare.exists()
    finally:
        j.close()
    assert _records(d) == [PAYLOAD] * n
    rep = verify_journal(d)
    assert rep.ok and rep.records == n, rep.problems


def _unwritten_extents(path) -> int | None:
    """Extents of the file the filesystem reports as reserved but never written (FIEMAP after a
    sync); None where the filesystem cannot say."""
    fiemap_sync, unwritten, max_extents = 0x1, 0x800, 64
    buf = bytearray(struct.pack("=QQLLLL", 0, 0xFFFFFFFFFFFFFFFF, fiemap_sync, 0, max_extents, 0)
                    + bytes(56 * max_extents))
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.ioctl(fd, 0xC020660B, buf)             # FS_IOC_FIEMAP
    except OSError:
        return None
    finally:
        os.close(fd)
    mapped = struct.unpack_from("=L", buf, 20)[0]
    flags = [struct.unpack_from("=L", buf, 32 + 56 * i + 40)[0] for i in range(mapped)]
    return sum(1 for f in flags if f & unwritten)


def test_a_segment_written_ahead_has_its_blocks_written_so_a_sync_writes_data_alone(tmp_path):
    d = tmp_path / "j"
    j = Journal.open(d, fsync="never", segment_size=SEG, write_ahead=True)
    try:
        made = d / "made-at-roll.fxj.probe"
        os.close(create_segment(d, 7, j.journal_id, 1, SEG))   # how a roll-over without a spare makes one
        os.rename(d / L.segment_name(7), made)
        reserved = _unwritten_extents(made)
        if not reserved:
            pytest.skip("this filesystem does not report reserved (unwritten) extents")
        made.unlink()
        n = _fill_past_half(j)
        _idle_until_spare_ready(j)
        while j.appender.segment_no == 0:
            j.append(1, PAYLOAD, n)
            n += 1
        j.sync()
        assert _unwritten_extents(d / L.segment_name(1)) == 0
    finally:
        j.close()


def test_closing_removes_a_spare_that_was_not_used(tmp_path):
    d = tmp_path / "j"
    with Journal.open(d, fsync="never", segment_size=SEG, write_ahead=True) as j:
        n = _fill_past_half(j)
        for _ in range(16):                 # the current segment first, then the spare
            j.prefault()
        assert _tmp(d, 1).exists()
    assert not _tmp(d, 1).exists()
    assert sorted(p.name for p in d.glob("*.fxj*")) == [L.segment_name(0)]
    assert _records(d) == [PAYLOAD] * n


def test_a_spare_left_by_a_crash_is_removed_when_the_journal_is_next_opened(tmp_path):
    d = tmp_path / "j"
    with Journal.open(d, fsync="never", segment_size=SEG, write_ahead=True) as j:
        n = _fill_past_half(j)
    left = spare_mod.SpareSegment(d, 1, SEG)           # as a writer killed while writing it ahead
    left.step()
    os.close(left.fd)
    assert _tmp(d, 1).exists()
    with JournalReader(d) as r:                         # a reader ignores it
        assert len(list(r.records())) == n
    with Journal.open(d, fsync="never", segment_size=SEG, write_ahead=True) as j:
        assert not _tmp(d, 1).exists()
        while j.appender.segment_no == 0:
            j.append(1, PAYLOAD, n)
            n += 1
    assert _records(d) == [PAYLOAD] * n
    assert verify_journal(d).ok


def test_a_record_bigger_than_the_spare_rolls_to_a_segment_made_for_it(tmp_path):
    """A journal reopened with a smaller segment size goes on in its bigger last segment; a
    record that fits there but not in the smaller spare gets a segment of its own size."""
    d = tmp_path / "j"
    with Journal.open(d, fsync="never", segment_size=4 * SEG, write_ahead=True) as j:
        j.append(1, PAYLOAD, 0)
    j = Journal.open(d, fsync="never", segment_size=SEG, write_ahead=True)
    try:
        n = _fill_past_half(j, 1)
        _idle_until_spare_ready(j)
        assert j._spare.size == SEG
        big = b"B" * (2 * SEG)
        j.append(1, big, n)
        assert j.appender.segment_no == 1 and j.appender.size > 2 * SEG
        assert not _tmp(d, 1).exists()
    finally:
        j.close()
    assert _records(d) == [PAYLOAD] * n + [big]
    assert verify_journal(d).ok


def test_a_full_disk_while_writing_ahead_drops_the_spare_and_the_roll_over_still_happens(tmp_path, monkeypatch):
    d = tmp_path / "j"
    j = Journal.open(d, fsync="never", segment_size=SEG, write_ahead=True)

    def full(fd, data, offset):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    try:
        n = _fill_past_half(j)
        monkeypatch.setattr(spare_mod.os, "pwrite", full)
        for _ in range(8):
            j.prefault()                                # tried once, dropped, not retried
        assert not _tmp(d, 1).exists()
        monkeypatch.undo()
        while j.appender.segment_no == 0:
            j.append(1, PAYLOAD, n)
            n += 1
    finally:
        j.close()
    assert _records(d) == [PAYLOAD] * n
    assert verify_journal(d).ok


def test_the_rest_of_a_preallocated_segment_is_written_in_idle_moments_around_the_records(tmp_path):
    """The first segment is made preallocated (reserved, not written); idle moments write zeros
    over what lies past the records, never over a record, until the whole segment is written."""
    d = tmp_path / "j"
    j = Journal.open(d, fsync="never", segment_size=SEG, write_ahead=True)
    try:
        first = _unwritten_extents(d / L.segment_name(0))
        n = 0
        for _ in range(3 * SEG // spare_mod.STEP_BYTES + 8):
            for _ in range(50):                      # records between the idle moments
                j.append(1, PAYLOAD, n)
                n += 1
            j.prefault()
        assert j._rest[0] == 0 and j._rest[1].done and j._rest[1].filled == SEG
        assert j.appender.segment_no == 0
        j.sync()
        if first:                                    # the filesystem tells reserved from written
            assert _unwritten_extents(d / L.segment_name(0)) == 0
    finally:
        j.close()
    assert _records(d) == [PAYLOAD] * n
    assert verify_journal(d).ok


def test_a_journal_opened_without_write_ahead_leaves_its_segments_as_made(tmp_path):
    """The default."""
    d = tmp_path / "j"
    with Journal.open(d, fsync="never", segment_size=SEG) as j:
        n = _fill_past_half(j)
        for _ in range(64):
            j.prefault()
        assert j._spare is None and j._rest == (-1, None)
        assert not _tmp(d, 1).exists()
    assert _records(d) == [PAYLOAD] * n


def test_appends_that_outrun_the_zeros_written_ahead_are_never_overwritten(tmp_path):
    """Zeros are written ahead only in idle moments; a run of appends between two of them can
    go past what was zeroed, and the next slice must start after the records, not where the
    last one ended."""
    d = tmp_path / "j"
    j = Journal.open(d, fsync="never", segment_size=4 * SEG, write_ahead=True)
    big = b"R" * (200 << 10)
    try:
        n = 0
        j.append(1, big, n)
        n += 1
        for _ in range(4):
            j.prefault()                         # the rest of the segment: a slice or two ahead
        assert j._rest[1] is not None and 0 < j._rest[1].filled < 4 * SEG
        while j.appender.pos < j._rest[1].filled + SEG:   # well past the zeros, no idle moment
            j.append(1, big, n)
            n += 1
        for _ in range(64):
            j.prefault()
    finally:
        j.close()
    assert _records(d) == [big] * n
    assert verify_journal(d).ok
