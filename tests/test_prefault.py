"""Pages readied ahead of the memory-mapped writers of the order path (the journal, a FIX
session's store), in idle moments: the appends that follow take no first-touch page fault."""
from __future__ import annotations

import mmap
import resource
from pathlib import Path

import pytest

from fxpipe.fix.session.store import FileStore
from fxpipe.journal import Journal
from fxpipe.prefault import PAGE, Ahead, populate_write

PAYLOAD = bytes(range(192))


def faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def mapped_pages(path: Path, offset: int, length: int) -> list[bool]:
    """Whether each page of [offset, offset + length) of the file at path has a page-table entry
    in this process now (/proc/self/maps for where the file is mapped, /proc/self/pagemap bit 63
    for each page): what a write there will find without a fault."""
    name = str(path.resolve())
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5] == name:
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            file_off = int(fields[2], 16)
            start = lo + offset - file_off
            assert lo <= start and start + length <= hi
            with open("/proc/self/pagemap", "rb") as pm:
                pm.seek(start // PAGE * 8)
                raw = pm.read(length // PAGE * 8)
            return [bool(int.from_bytes(raw[i:i + 8], "little") >> 63) for i in range(0, len(raw), 8)]
    raise AssertionError(f"{name} is not mapped in this process")


def journal_appends_faults(journal: Journal, n: int) -> int:
    append = journal.append
    before = faults()
    for i in range(n):
        append(1, PAYLOAD, i)
    return faults() - before


def test_appends_after_an_idle_prefault_take_no_page_fault(tmp_path):
    """After prefault() the pages ahead of the writer are in its page tables, and appends into
    them take no fault. (Without it each 4 KB, or each large folio where the kernel caches the
    file in those, costs the first append into it a fault: 5 to 42 faults for this much here.)"""
    j = Journal.open(tmp_path / "j", fsync="never", segment_size=4 << 20)
    try:
        journal_appends_faults(j, 20)                # warm: the code's own first calls
        pos = j.appender.pos
        start = pos & ~(PAGE - 1)
        segment = next((tmp_path / "j").glob("*.fxj"))
        if j.appender.prefault(256 << 10) == 0:
            pytest.skip("this kernel has no MADV_POPULATE_WRITE")
        assert all(mapped_pages(segment, start, 256 << 10))
        assert journal_appends_faults(j, 900) <= 1   # ~200 KB, within what was readied
    finally:
        j.close()


def test_a_journal_prefault_acts_only_when_the_writer_used_half_of_what_was_readied(tmp_path):
    j = Journal.open(tmp_path / "j", fsync="never", segment_size=4 << 20)
    try:
        j.append(1, PAYLOAD, 1)
        first = j.prefault()
        if first == 0:
            pytest.skip("this kernel has no MADV_POPULATE_WRITE")
        assert first >= 64 << 10
        assert j.prefault() == 0                    # nothing written since
        j.append(1, PAYLOAD, 2)
        assert j.prefault() == 0                    # far from the readied end
        for i in range(200):                        # ~45 KB: past half of the window
            j.append(1, PAYLOAD, i)
        assert j.prefault() > 0
        recs = list(_records(tmp_path / "j"))
        assert len(recs) == 202 and all(r == PAYLOAD for r in recs)   # readying wrote nothing
    finally:
        j.close()


def _records(directory):
    from fxpipe.journal import JournalReader

    with JournalReader(directory) as r:
        for rec in r.records():
            yield bytes(rec.payload)


def test_a_prefault_at_the_end_of_a_segment_stops_at_its_end_and_the_roll_goes_on(tmp_path):
    j = Journal.open(tmp_path / "j", fsync="never", segment_size=4 * PAGE)
    try:
        for i in range(60):                          # rolls over several 16 KB segments
            j.append(1, PAYLOAD, i)
            j.prefault()
        assert len(list(_records(tmp_path / "j"))) == 60
    finally:
        j.close()


def test_a_session_store_readies_its_message_log_so_sends_take_no_page_fault(tmp_path):
    msg = b"8=FIX.4.2\x019=150\x0135=D\x01" + b"x" * 170
    store = FileStore(tmp_path / "s", "never")
    try:
        store.open(1)
        for seq in range(1, 11):
            store.index_sent(seq, store.log_sent(seq, msg))
        end = store._log_end
        if store.prefault() == 0:
            pytest.skip("this kernel has no MADV_POPULATE_WRITE")
        start = end & ~(PAGE - 1)
        assert all(mapped_pages(tmp_path / "s" / "messages", start, 64 << 10))
        # counted around the log's writes alone: the index entries that follow a send go into a
        # dict that grows (malloc may take fresh pages for it, more or less often depending on
        # what the process allocated before), which is not the send's path
        during = 0
        for seq in range(11, 131):                  # ~27 KB of messages
            before = faults()
            offset = store.log_sent(seq, msg)
            during += faults() - before
            store.index_sent(seq, offset)
        assert during <= 1
        assert store.get(130) == msg and store.get(11) == msg
    finally:
        store.close()


def test_ahead_asks_once_per_half_window_and_again_in_a_new_file():
    a = Ahead(nbytes=64 << 10)
    assert a.due("seg0", 100)
    a.readied(0, 64 << 10)
    assert not a.due("seg0", 100) and not a.due("seg0", 32 << 10)
    assert a.due("seg0", (32 << 10) + 1)
    a.readied(32 << 10, 0)                          # refused: not asked again until half used
    assert not a.due("seg0", (32 << 10) + 5)
    assert a.due("seg1", 0)                         # a new segment


def test_populate_write_clamps_to_pages_within_the_mapping(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"\0" * (3 * PAGE))
    with open(path, "r+b") as fh, mmap.mmap(fh.fileno(), 3 * PAGE) as mm:
        n = populate_write(mm, 100, 10 * PAGE)
        if n == -1:
            pytest.skip("this kernel has no MADV_POPULATE_WRITE")
        assert n == 3 * PAGE
        assert populate_write(mm, 3 * PAGE, 4 * PAGE) == 0
        assert bytes(mm[:10]) == b"\0" * 10
