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
