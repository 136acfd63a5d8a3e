"""The background sync makes a journal durable without the writer syncing: it follows the
newest segment across a roll-over and stops cleanly."""
from __future__ import annotations

import time

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
    bg = BackgroundSync(tmp_path, 1.0)
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
        assert BackgroundSync(tmp_path, 1.0).sync_once() is True
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
