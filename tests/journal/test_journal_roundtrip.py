"""Writing and reading back: records of every size across roll-overs, reopening and appending
on, seeks by sequence and time, numpy views (zero-copy and gathered), fsync policies, and the
errors for bad input, which leave the journal as it was."""
import os
import subprocess
import sys
import time

import jtestdata as d
import numpy as np
import pytest

from fxpipe.journal import FsyncPolicy, Journal, JournalError, JournalLockedError, JournalReader
from fxpipe.journal import layout as L
from fxpipe.journal.index import INDEX_NAME

SMALL = 1 << 16
HDR = 72  # index file header size


def open_j(path, **kw):
    kw.setdefault("segment_size", SMALL)
    kw.setdefault("fsync", "never")
    kw.setdefault("index_every", 64)
    return Journal.open(path, **kw)


def test_round_trip_across_rollovers_and_reopen(tmp_path):
    with open_j(tmp_path / "j") as j:
        d.write(j, 1500)
        assert j.tail is None and j.notes == []
    with open_j(tmp_path / "j") as j:
        assert j.next_seq == 1501
        d.write(j, 1500)
    with JournalReader(tmp_path / "j") as r:
        assert len(r.segments) > 5
        assert all(s.sealed for s in r.segments[:-1])
        assert r.tail is None
        assert d.check_all(r) == 3000


def test_empty_and_large_payloads(tmp_path):
    with open_j(tmp_path / "j") as j:
        j.append(9, b"", 5)
        big = os.urandom(SMALL - L.SEGMENT_HEADER_SIZE - L.SEAL_RECORD_SIZE - L.RECORD_HEADER_SIZE)
        j.append(9, big, 6)
        j.append(9, b"z", 7)
    with JournalReader(tmp_path / "j") as r:
        got = [(x.seq, x.ts_ns, bytes(x.payload)) for x in r]
    assert got == [(1, 5, b""), (2, 6, big), (3, 7, b"z")]


def test_first_seq_and_records_keep_their_flags_and_stage(tmp_path):
    with open_j(tmp_path / "j", first_seq=1000) as j:
        assert j.append(4, b"abc", 1, flags=L.FLAG_INPUT, stage=7) == 1000
        assert j.append(4, b"def", 2, flags=L.FLAG_OUTPUT, stage=7) == 1001
    with JournalReader(tmp_path / "j") as r:
        recs = list(r)
    assert [(x.seq, x.flags, x.stage) for x in recs] == [(1000, 1, 7), (1001, 2, 7)]


def test_seek_by_sequence_and_time_agree_with_a_full_scan(tmp_path):
    with open_j(tmp_path / "j") as j:
        d.write(j, 3000)
    with JournalReader(tmp_path / "j") as r:
        everything = list(r)
        rng = np.random.default_rng(3)
        for seq in rng.integers(1, 3001, 25).tolist():
            rec = r.get(seq)
            assert rec.seq == seq and bytes(rec.payload) == d.payload_for(seq)
            assert [x.seq for x in r.records(start_seq=seq, end_seq=seq + 5)] == list(
                range(seq, min(seq + 5, 3000) + 1))
        for a, b in rng.integers(0, 3000, (20, 2)).tolist():
            t0, t1 = d.ts_for(min(a, b)), d.ts_for(max(a, b))
            want = [x.seq for x in everything if t0 <= x.ts_ns < t1]
            assert [x.seq for x in r.records(start_ts=t0, end_ts=t1)] == want
        typed = [x.seq for x in r.records(types=[2, 3])]
        assert typed == [x.seq for x in everything if x.type in (2, 3)]


def test_numpy_views_are_zero_copy_and_match_what_was_written(tmp_path):
    q = d.quotes(5000)
    ts = q["venue_ts_ns"].copy()
    with open_j(tmp_path / "j") as j:
        assert j.append_array(7, q, ts) == 1
    for verify in (True, False):
        with JournalReader(tmp_path / "j", verify=verify) as r:
            views = r.views(7, d.QUOTE_DTYPE)
            assert len(views) == len(r.segments)
            assert all(v.zero_copy for v in views)
            assert all(not v.array.flags.writeable for v in views)
            arr = r.array(7, d.QUOTE_DTYPE)
            assert np.array_equal(arr["event"], q)
            assert np.array_equal(arr["hdr"]["ts_ns"], ts)
            assert np.array_equal(arr["hdr"]["seq"], np.arange(1, 5001))


def test_numpy_views_of_a_mixed_journal_gather_and_match(tmp_path):
    q = d.quotes(3000)
    with open_j(tmp_path / "j") as j:
        for i in range(0, 3000, 10):
            j.append_array(7, q[i:i + 10], q["venue_ts_ns"][i:i + 10])
            j.append(3, b"x" * (i % 13), 0)  # other records between the quotes
    with JournalReader(tmp_path / "j") as r:
        views = r.views(7, d.QUOTE_DTYPE)
        assert not any(v.zero_copy for v in views)
        arr = r.array(7, d.QUOTE_DTYPE)
        assert np.array_equal(arr["event"], q)
        assert [len(x.payload) for x in r.records(types=[3])] == [i % 13 for i in range(0, 3000, 10)]


def test_a_dtype_of_the_wrong_size_is_refused(tmp_path):
    with open_j(tmp_path / "j") as j:
        j.append_array(7, d.quotes(10), 0)
    with JournalReader(tmp_path / "j") as r, pytest.raises(Exception, match="48-byte payloads"):
        r.array(7, np.dtype([("a", "<i8")]))


@pytest.mark.parametrize("policy,records,expected_syncs", [
    ("never", 50, 0), ("every-record", 50, 50), ("every:10", 50, 5), ("every:7", 50, 7)])
def test_fsync_policy_decides_how_often_data_is_synced(tmp_path, policy, records, expected_syncs):
    j = open_j(tmp_path / "j", fsync=policy)
    d.write(j, records)
    assert j.appender.syncs == expected_syncs
    j.close()


def test_time_bounded_policy_syncs_from_the_idle_loop(tmp_path):
    j = open_j(tmp_path / "j", fsync="every:/5ms")
    d.write(j, 3)
    before = j.appender.syncs
    time.sleep(0.02)
    assert j.maybe_sync() is True
    assert j.appender.syncs == before + 1
    assert j.maybe_sync() is False  # nothing unsynced
    j.close()


@pytest.mark.parametrize("text", ["sometimes", "every:", "every:0", "every:-3", "every:5s"])
def test_unknown_fsync_policy_is_a_clear_error(text):
    with pytest.raises(ValueError, match="fsync policy"):
        FsyncPolicy.parse(text)


def test_policy_text_round_trips():
    for text in ("never", "every-record", "every:100", "every:/20ms", "every:100/20ms"):
        assert str(FsyncPolicy.parse(text)) == text


def test_bad_appends_are_refused_and_lose_nothing(tmp_path):
    with open_j(tmp_path / "j") as j:
        d.write(j, 10)
        with pytest.raises(ValueError, match="outside"):
            j.append(0, b"x", 1)
        with pytest.raises(ValueError, match="outside"):
            j.append(L.RT_RESERVED_MIN, b"x", 1)
        with pytest.raises(ValueError, match="within 0..255"):
            j.append(1, b"x", 1, flags=256)
        with pytest.raises(ValueError, match="cannot fit"):
            j.append(1, bytes(SMALL), 1)
        with pytest.raises((BufferError, ValueError)):
            j.append_array(7, d.quotes(10)[::2], 0)
        with pytest.raises(ValueError, match="timestamps"):
            j.append_array(7, d.quotes(10), np.zeros(3, dtype=np.int64))
        with pytest.raises(TypeError):
            j.append(1, "text is not bytes", 1)
        d.write(j, 10)
    with pytest.raises(ValueError, match="closed"):
        j.append(1, b"x", 1)
    with JournalReader(tmp_path / "j") as r:
        assert d.check_all(r) == 20


@pytest.mark.parametrize("kw,match", [({"segment_size": 5000}, "multiple of 4096"),
                                      ({"index_every": 100}, "power of two"),
                                      ({"first_seq": 0}, "first_seq")])
def test_bad_journal_settings_are_clear_errors(tmp_path, kw, match):
    with pytest.raises(ValueError, match=match):
        open_j(tmp_path / "j", **kw)
    # the failed open released the writer lock
    open_j(tmp_path / "j").close()


def test_two_writers_on_one_store_are_refused(tmp_path):
    code = ("import sys, time; from fxpipe.journal import Journal;"
            f"j = Journal.open({str(tmp_path / 'j')!r}, fsync='never', segment_size=1 << 16);"
            "print('open', flush=True); sys.stdin.readline(); j.close()")
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout.readline().strip() == "open"
        with pytest.raises(JournalLockedError, match=f"pid {child.pid}"):
            open_j(tmp_path / "j")
        # readers are welcome while the writer holds the lock
        with JournalReader(tmp_path / "j") as r:
            assert r.live_writer
    finally:
        child.communicate("done\n", timeout=30)
    open_j(tmp_path / "j").close()


def test_second_writer_in_the_same_process_is_refused(tmp_path):
    with open_j(tmp_path / "j"):
        with pytest.raises(JournalLockedError):
            open_j(tmp_path / "j")


def test_reader_sees_a_live_writer_and_refresh_picks_up_new_records(tmp_path):
    j = open_j(tmp_path / "j")
    d.write(j, 100)
    r = JournalReader(tmp_path / "j")
    assert r.live_writer and r.tail is None and r.next_seq == 101
    d.write(j, 2000)
    r.refresh()
    assert d.check_all(r) == 2100
    r.close()
    j.close()


def test_missing_or_corrupt_index_is_rebuilt_and_equal(tmp_path):
    with open_j(tmp_path / "j") as j:
        d.write(j, 2500)
    saved = (tmp_path / "j" / INDEX_NAME).read_bytes()
    (tmp_path / "j" / INDEX_NAME).unlink()
    with JournalReader(tmp_path / "j") as r:
        assert any("index rebuilt" in n for n in r.notes)
        assert r.get(1234).seq == 1234
    assert not (tmp_path / "j" / INDEX_NAME).exists()  # readers never write
    with open_j(tmp_path / "j") as j:
        assert any("index file missing" in n for n in j.notes)
    assert (tmp_path / "j" / INDEX_NAME).read_bytes()[HDR:] == saved[HDR:]  # same entries and rows
    damaged = bytearray(saved)
    damaged[len(saved) - 20] ^= 0x10
    (tmp_path / "j" / INDEX_NAME).write_bytes(bytes(damaged))
    with open_j(tmp_path / "j") as j:
        assert any("CRC32C" in n for n in j.notes)
    assert (tmp_path / "j" / INDEX_NAME).read_bytes()[HDR:] == saved[HDR:]


def test_stale_index_is_extended_from_the_segments(tmp_path):
    with open_j(tmp_path / "j") as j:
        d.write(j, 1000)
    old = (tmp_path / "j" / INDEX_NAME).read_bytes()
    with open_j(tmp_path / "j") as j:
        d.write(j, 1500)
    (tmp_path / "j" / INDEX_NAME).write_bytes(old)
    with JournalReader(tmp_path / "j") as r:
        assert d.check_all(r) == 2500
        assert r.get(2400).seq == 2400


def test_a_file_or_missing_directory_is_a_clear_error(tmp_path):
    (tmp_path / "f").write_text("not a journal")
    with pytest.raises(JournalError, match="is a file"):
        open_j(tmp_path / "f")
    with pytest.raises(JournalError, match="no journal"):
        Journal.open(tmp_path / "absent", create=False)
    with pytest.raises(JournalError, match="no journal"):
        JournalReader(tmp_path / "absent")
    r = subprocess.run([sys.executable, "-m", "fxpipe", "journal", "verify", str(tmp_path / "absent")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "no journal at" in r.stderr
