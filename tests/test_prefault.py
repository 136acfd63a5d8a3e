"""Pages readied ahead of the memory-mapped writers of the order path (the journal, a FIX
session's store), in idle moments: the appends that follow take no first-touch page fault."""
from __future__ import annotations

import mmap
import resource

import pytest

from fxpipe.fix.session.store import FileStore
from fxpipe.journal import Journal
from fxpipe.prefault import PAGE, Ahead, populate_write

PAYLOAD = bytes(range(192))


def faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def journal_appends_faults(journal: Journal, n: int) -> int:
    append = journal.append
    before = faults()
    for i in range(n):
        append(1, PAYLOAD, i)
    return faults() - before


def test_appends_after_an_idle_prefault_take_no_page_fault(tmp_path):
    plain = Journal.open(tmp_path / "plain", fsync="never", segment_size=4 << 20)
    readied = Journal.open(tmp_path / "readied", fsync="never", segment_size=4 << 20)
    try:
        for j in (plain, readied):
            journal_appends_faults(j, 20)           # warm: the code's own first calls
        if readied.appender.prefault(256 << 10) == 0:
            pytest.skip("this kernel has no MADV_POPULATE_WRITE")
        n = 900                                     # ~200 KB, within what was readied
        control = journal_appends_faults(plain, n)
        assert control >= 8, f"the control journal took only {control} faults: the test proves nothing here"
        assert journal_appends_faults(readied, n) <= 1
    finally:
        plain.close()
        readied.close()


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
    plain, readied = FileStore(tmp_path / "plain", "never"), FileStore(tmp_path / "readied", "never")
    try:
        for s in (plain, readied):
            s.open(1)
            for seq in range(1, 11):
                s.index_sent(seq, s.log_sent(seq, msg))
        if readied.prefault() == 0:
            pytest.skip("this kernel has no MADV_POPULATE_WRITE")

        def sends(s) -> int:
            before = faults()
            for seq in range(11, 131):              # ~27 KB of messages
                s.index_sent(seq, s.log_sent(seq, msg))
            return faults() - before
        control = sends(plain)
        assert control >= 4, f"the control store took only {control} faults: the test proves nothing here"
        assert sends(readied) <= 1
        assert readied.get(130) == msg and readied.get(11) == msg
    finally:
        plain.close()
        readied.close()


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
