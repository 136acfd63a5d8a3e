"""The background sync makes a journal durable without the writer syncing: it follows the
newest segment across a roll-over and stops cleanly."""
from __future__ import annotations

import time

import pytest

from fxpipe.journal import Journal, JournalReader
from fxpipe.journal.background import BackgroundSync


def test_background_sync_follows_the_newest_segment_and_never_touches_the_writer(tmp_path):
    j = Journal.open(tmp_path, fsync="never", segment_size=1 << 16)
    bg = BackgroundSync(tmp_path, 0.005).start()
    try:
        for i in range(3000):                 # several segments of 64 KiB
            j.append(1, i.to_bytes(8, "little") * 4, i + 1)
        deadline = time.monotonic() + 10
        while bg.syncs < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        bg.stop()
        j.close()
    assert bg.syncs >= 3 and bg.errors == 0
    assert len(sorted(tmp_path.glob("*.fxj"))) > 1
    with JournalReader(tmp_path) as r:
        assert [int.from_bytes(bytes(rec.payload)[:8], "little") for rec in r.records()] == list(range(3000))


def test_background_sync_of_an_empty_directory_is_a_no_op(tmp_path):
    bg = BackgroundSync(tmp_path, 0.01)
    assert bg.sync_once() is False


def _synced_files(monkeypatch) -> list[str]:
    import os

    seen: list[str] = []
    real = os.fdatasync

    def recording(fd: int) -> None:
        seen.append(os.path.basename(os.readlink(f"/proc/self/fd/{fd}")))
        real(fd)

    monkeypatch.setattr(os, "fdatasync", recording)
    return seen


def test_a_segment_rolled_away_from_is_synced_once_more_so_no_hole_precedes_durable_records(tmp_path, monkeypatch):
    """The writer seals a segment and moves on between two syncs: the sealed segment's last
    records were written after the previous sync, so it is synced again before the new one."""
    seen = _synced_files(monkeypatch)
    j = Journal.open(tmp_path, fsync="never", segment_size=1 << 16)
    bg = BackgroundSync(tmp_path, 1.0, partial_max_s=0)        # every segment whole
    try:
        j.append(1, b"x" * 32, 1)
        assert bg.sync_once() is True
        assert seen == ["000000000000.fxj"]
        i = 2
        while len(sorted(tmp_path.glob("*.fxj"))) < 3:      # two roll-overs before the next sync
            j.append(1, b"y" * 32, i)
            i += 1
        seen.clear()
        assert bg.sync_once() is True
        assert seen == ["000000000000.fxj", "000000000001.fxj", "000000000002.fxj"]
        seen.clear()
        assert bg.sync_once() is True
        assert seen == ["000000000002.fxj"]                # caught up: the newest alone
    finally:
        j.close()


def test_the_background_sync_writes_data_not_the_modification_time(tmp_path, monkeypatch):
    """fdatasync, never fsync: a write through the mapping changes the file's mtime every few
    milliseconds, and writing the inode each period is one more synchronous I/O for nothing a
    recovery reads."""
    import os

    def no_fsync(fd: int) -> None:
        raise AssertionError("the background sync used fsync")

    j = Journal.open(tmp_path, fsync="never", segment_size=1 << 16)
    seen = _synced_files(monkeypatch)
    monkeypatch.setattr(os, "fsync", no_fsync)
    try:
        j.append(1, b"x" * 32, 1)
        assert BackgroundSync(tmp_path, 1.0).sync_once(full=True) is True
        assert seen == ["000000000000.fxj"]
    finally:
        j.close()


def test_a_segment_removed_under_the_sync_is_skipped_not_retried_forever(tmp_path):
    j = Journal.open(tmp_path, fsync="never", segment_size=1 << 16)
    bg = BackgroundSync(tmp_path, 1.0)
    try:
        j.append(1, b"x" * 32, 1)
        assert bg.sync_once() is True
        i = 2
        while len(sorted(tmp_path.glob("*.fxj"))) < 2:
            j.append(1, b"y" * 32, i)
            i += 1
        (tmp_path / "000000000000.fxj").unlink()           # as a retention sweep would
        assert bg.sync_once() is True
        assert bg.errors == 0
    finally:
        j.close()


def _msyncs(monkeypatch) -> list[tuple[int, int]]:
    """(start, end) offsets of each range synced behind the writer."""
    from fxpipe.journal import rangesync

    seen: list[tuple[int, int]] = []
    real = rangesync._MSYNC
    made = rangesync.WrittenRange.__init__

    def init(self, *a, **k):
        made(self, *a, **k)
        base = self._addr

        def recording(addr, n, flags):
            seen.append((addr - base, addr - base + n))
            return real(addr, n, flags)

        self._msync_fn = recording

    monkeypatch.setattr(rangesync.WrittenRange, "__init__", init)
    monkeypatch.setattr(rangesync.WrittenRange, "_call", lambda self, a, n, f: self._msync_fn(a, n, f))
    return seen


def test_the_newest_segment_is_synced_behind_its_writer_never_the_page_being_written(tmp_path, monkeypatch):
    """Whole pages before the writer's position each period; the page it is writing only once
    the writer pauses for a period (or records sit in it for partial_max_s); a final sync
    covers everything."""
    from fxpipe.journal.rangesync import PAGE

    seen = _msyncs(monkeypatch)
    j = Journal.open(tmp_path, fsync="never", segment_size=1 << 16)
    bg = BackgroundSync(tmp_path, 1.0, partial_max_s=3600.0)
    try:
        i = 0
        while j.appender.pos < 2 * PAGE + PAGE // 2:          # two and a half pages of records
            j.append(1, b"r" * 200, i)
            i += 1
        assert bg.sync_once() is True
        assert seen == [(0, 2 * PAGE)]                        # the page being written left alone
        seen.clear()
        assert bg.sync_once() is True                         # the writer paused for a period
        assert seen == [(2 * PAGE, 3 * PAGE)]
        seen.clear()
        assert bg.sync_once() is True                         # nothing new: nothing to sync
        assert seen == []
        while j.appender.pos < 4 * PAGE + 100:                # writing on, a sync every few records
            j.append(1, b"r" * 200, i)
            i += 1
            if i % 3 == 0:
                before = len(seen)
                bg.sync_once()
                # never past the writer's last whole page while it writes
                assert all(end <= (j.appender.pos & ~(PAGE - 1)) for _, end in seen[before:])
        bg.sync_once()
        assert seen == [(2 * PAGE, 3 * PAGE), (3 * PAGE, 4 * PAGE)]   # page 2 again: written on since
        bg.stop()                                             # the final sync: every record
    finally:
        j.close()


def test_records_do_not_sit_unsynced_in_the_page_being_written_past_partial_max(tmp_path, monkeypatch):
    from fxpipe.journal.rangesync import PAGE

    seen = _msyncs(monkeypatch)
    j = Journal.open(tmp_path, fsync="never", segment_size=1 << 16)
    bg = BackgroundSync(tmp_path, 1.0, partial_max_s=1e-9)
    try:
        j.append(1, b"r" * 200, 0)
        bg.sync_once()                                       # pending from now
        j.append(1, b"r" * 200, 1)                           # the writer is not quiet...
        bg.sync_once()                                       # ...but the records are old enough
        assert (0, PAGE) in seen
    finally:
        j.close()


def test_where_a_range_cannot_be_synced_the_whole_file_is(tmp_path, monkeypatch):
    from fxpipe.journal import rangesync

    seen = _synced_files(monkeypatch)
    monkeypatch.setattr(rangesync, "_MSYNC", None)
    j = Journal.open(tmp_path, fsync="never", segment_size=1 << 16)
    try:
        j.append(1, b"x" * 32, 1)
        bg = BackgroundSync(tmp_path, 1.0)
        assert bg.sync_once() is True and bg.errors == 0
        assert seen == ["000000000000.fxj"]
    finally:
        j.close()


@pytest.fixture
def synced_behind(tmp_path, monkeypatch):
    """A journal with one record that its BackgroundSync has synced behind the writer (no
    whole-file sync yet): (the whole-file syncs seen, the journal, the sync, its segment)."""
    seen = _synced_files(monkeypatch)
    j = Journal.open(tmp_path, fsync="never", segment_size=1 << 16)
    bg = BackgroundSync(tmp_path, 1.0)
    try:
        j.append(1, b"x" * 32, 1)
        assert bg.sync_once() is True and seen == []
        yield seen, j, bg, tmp_path / "000000000000.fxj"
    finally:
        bg.stop()
        j.close()


def test_synced_behind_the_writer_a_roll_over_syncs_the_old_segment_whole(tmp_path, monkeypatch):
    """The writer seals its segment and moves on: the sealed one is synced whole (its seal and
    last records were written after the last sync), the new one behind the writer."""
    seen = _synced_files(monkeypatch)
    ranges = _msyncs(monkeypatch)
    j = Journal.open(tmp_path, fsync="never", segment_size=1 << 16)
    bg = BackgroundSync(tmp_path, 1.0)
    try:
        j.append(1, b"x" * 32, 1)
        assert bg.sync_once() is True
        assert seen == []                                   # behind the writer: no whole-file sync
        i = 2
        while len(sorted(tmp_path.glob("*.fxj"))) < 2:
            j.append(1, b"y" * 3000, i)
            i += 1
        ranges.clear()
        assert bg.sync_once() is True
        assert seen == ["000000000000.fxj"]
        assert bg._range is not None and bg._range.path.name == "000000000001.fxj"
        bg.stop()
        assert bg._range is None
    finally:
        j.close()


def test_a_segment_that_changes_size_under_the_sync_is_synced_whole_then_mapped_again(synced_behind):
    """A restarted writer's recovery may grow a short segment to its size: the mapping made
    before no longer covers it, so that period's sync takes the whole file and the next maps
    the segment again."""
    import os

    seen, _, bg, seg = synced_behind
    os.truncate(seg, (1 << 16) + 4096)                       # as a recovery growing it would
    assert bg.sync_once() is True
    assert seen == ["000000000000.fxj"] and bg._range is None
    seen.clear()
    assert bg.sync_once() is True
    assert seen == [] and bg._range is not None and bg._range.size == (1 << 16) + 4096
    assert bg.errors == 0


def test_syncing_behind_a_writer_in_another_process_keeps_up_and_never_fails(tmp_path):
    """The journal process syncs the trader's journal while the trader appends: a real writer
    process appends small records at a desk's pace (many to a page, some across two, the
    segments rolling) while this one syncs behind it every few ms; the walk never runs past what the writer committed, no
    sync fails, and once the writer is killed a last sync reaches its last record."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import numpy as np

    here = os.path.dirname(os.path.abspath(__file__))
    ack_path = tmp_path / "ack"
    ack_path.write_bytes(bytes(8))
    ack = np.memmap(ack_path, dtype="<u8", mode="r", shape=(1,))
    jpath = tmp_path / "j"
    child = subprocess.Popen([sys.executable, os.path.join(here, "crash_writer.py"), str(jpath), str(ack_path),
                              "never", str(1 << 16), "0", "20"], stdout=subprocess.PIPE, text=True)
    bg = BackgroundSync(jpath, 0.002)
    try:
        assert child.stdout.readline().split(), "the writer did not open the journal"
        deadline = time.monotonic() + 1.5
        syncs = 0
        while time.monotonic() < deadline:
            assert bg.sync_once() is True
            syncs += 1
            r = bg._range
            if r is not None:
                assert r.end >= r.durable >= 0 and r.synced_pages <= r.end
            time.sleep(0.002)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
    assert bg.errors == 0 and syncs > 50
    assert bg.sync_once() is True and bg.sync_once() is True     # the killed writer is quiet: its page too
    r = bg._range
    assert r is not None and r.durable == r.end
    with JournalReader(jpath) as reader:
        last = reader.next_seq - 1
    assert last >= int(ack[0]) >= 1
    bg.stop()


def test_a_record_that_is_not_intact_makes_the_segment_synced_whole_from_then_on(synced_behind):
    """Behind a damaged record the writer's position is unknown: the sync falls back to the
    whole file for that segment, says so once, and never stops making it durable."""
    import os

    seen, j, bg, seg = synced_behind
    at = j.appender.pos
    j.append(1, b"y" * 32, 2)
    fd = os.open(seg, os.O_RDWR)
    try:
        os.pwrite(fd, (0xFFFFFFFF).to_bytes(4, "little"), at + 8)   # inside the record's header
    finally:
        os.close(fd)
    assert bg.sync_once() is True and seen == ["000000000000.fxj"]
    assert bg.sync_once() is True and seen == ["000000000000.fxj"] * 2
    assert bg._range is None and bg.errors == 0
