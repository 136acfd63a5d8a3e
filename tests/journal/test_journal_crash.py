"""Crashes: a real writer process killed with SIGKILL at many random points, then the journal
reopened: no record the writer had finished appending is lost, a torn tail is cut, and every
surviving record is exactly what was written. Plus the states an interrupted roll-over leaves."""
import os
import random
import signal
import subprocess
import sys
import time

import jtestdata as d
import numpy as np
import pytest

from fxpipe.journal import Journal, JournalReader
from fxpipe.journal import layout as L
from fxpipe.journal.segments import create_segment
from fxpipe.journal.verify import verify_journal

HERE = os.path.dirname(os.path.abspath(__file__))
BIG = {"big_every": 2, "big_size": 128 * 1024}
KILLS = 30


def _write_then_kill(jpath, ack_path, args: list[str], checked_to: int, after_s: float) -> None:
    """Starts crash_writer.py on the journal, checks it resumes right after the last good record,
    lets it write for after_s and kills it with SIGKILL."""
    child = subprocess.Popen([sys.executable, os.path.join(HERE, "crash_writer.py"), str(jpath), str(ack_path),
                              *args], stdout=subprocess.PIPE, text=True)
    try:
        first = child.stdout.readline().split()
        assert first, "the writer did not open the journal"
        assert int(first[0]) == checked_to + 1  # it resumes exactly after the last good record
        time.sleep(after_s)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()


def _journal_and_ack(tmp_path):
    """The journal's path, and the writer's acknowledgement counter (its path, and a view)."""
    ack_path = tmp_path / "ack"
    ack_path.write_bytes(bytes(8))
    return tmp_path / "j", ack_path, np.memmap(ack_path, dtype="<u8", mode="r", shape=(1,))


def test_half_written_records_after_kill9_of_a_real_writer(tmp_path):
    jpath, ack_path, ack = _journal_and_ack(tmp_path)
    rng = random.Random(9)
    torn = 0
    checked_to = 0
    for i in range(KILLS):
        policy = "never" if i % 3 else "every:64"
        _write_then_kill(jpath, ack_path, [policy], checked_to, rng.uniform(0.0, 0.006))
        acked = int(ack[0])
        with Journal.open(jpath, segment_size=1 << 24, fsync="never", index_every=256) as j:
            last_good = j.next_seq - 1
            if j.tail is not None:
                torn += 1
                assert j.tail.cut
        # no acknowledged record lost; at most the one being acknowledged is extra
        assert acked <= last_good <= acked + 1, (acked, last_good)
        with JournalReader(jpath) as r:
            assert r.tail is None
            for rec in r.records(start_seq=checked_to + 1):
                assert bytes(rec.payload) == d.payload_for(rec.seq, **BIG)
                assert (rec.type, rec.ts_ns) == (d.type_for(rec.seq), d.ts_for(rec.seq))
            assert r.next_seq - 1 == last_good
        checked_to = last_good
    # the kills landed inside appends (a 128 KiB copy and checksum) often enough to tear records
    print(f"kills {KILLS}, torn tails cut {torn}, records {checked_to}")
    assert torn >= 1
    rep = verify_journal(jpath)
    assert rep.ok and rep.records == checked_to and rep.tail is None, rep.problems


def test_kill9_while_the_next_segment_is_written_ahead_loses_nothing_and_leaves_nothing(tmp_path):
    """The writer's idle calls write segments ahead (a spare under the temporary name, installed
    at the roll-over): killed at random points, in the middle of a spare's zeros, its writeback
    or its installation, the journal reopens with every acknowledged record, no spare left
    behind, and nothing but records where the spare became a segment."""
    jpath, ack_path, ack = _journal_and_ack(tmp_path)
    rng = random.Random(11)
    checked_to = 0
    seg = 1 << 20                        # a roll-over every ~8 records of 128 KiB
    for _ in range(KILLS):
        _write_then_kill(jpath, ack_path, ["never", str(seg), "6"], checked_to, rng.uniform(0.0, 0.03))
        acked = int(ack[0])
        with Journal.open(jpath, segment_size=seg, fsync="never", index_every=256) as j:
            last_good = j.next_seq - 1
            assert not list(jpath.glob("*.fxj.tmp")), "a spare survived the reopen"
        assert acked <= last_good <= acked + 1, (acked, last_good)
        with JournalReader(jpath) as r:
            assert r.tail is None
            for rec in r.records(start_seq=checked_to + 1):
                assert bytes(rec.payload) == d.payload_for(rec.seq, **BIG)
            assert r.next_seq - 1 == last_good
        checked_to = last_good
    assert len(list(jpath.glob("*.fxj"))) > 3, "the writer never rolled over"
    rep = verify_journal(jpath)
    assert rep.ok and rep.records == checked_to, rep.problems


def _write(path, n):
    with Journal.open(path, segment_size=1 << 16, fsync="never", index_every=64) as j:
        d.write(j, n)
        return j.journal_id, j.next_seq, j.appender.segment_no


def test_rollover_interrupted_before_the_new_segment_was_named(tmp_path):
    jid, nxt, seg = _write(tmp_path / "j", 300)
    leftover = tmp_path / "j" / (L.segment_name(seg + 1) + ".tmp")
    leftover.write_bytes(bytes(4096))
    with JournalReader(tmp_path / "j") as r:  # readers ignore it
        assert d.check_all(r) == 300
    with Journal.open(tmp_path / "j", segment_size=1 << 16, fsync="never") as j:
        assert any("interrupted while creating" in n for n in j.notes)
        d.write(j, 300)
    assert not leftover.exists()
    with JournalReader(tmp_path / "j") as r:
        assert d.check_all(r) == 600


@pytest.mark.parametrize("writable_first", [False, True])
def test_rollover_interrupted_between_creating_the_next_segment_and_sealing(tmp_path, writable_first):
    jid, nxt, seg = _write(tmp_path / "j", 300)
    os.close(create_segment(tmp_path / "j", seg + 1, jid, nxt, 1 << 16))
    if not writable_first:
        with JournalReader(tmp_path / "j") as r:
            assert d.check_all(r) == 300
            assert not r.segments[-2].sealed and r.segments[-1].count == 0
    with Journal.open(tmp_path / "j", segment_size=1 << 16, fsync="never") as j:
        assert any("interrupted roll-over" in n for n in j.notes)
        assert j.next_seq == 301
        d.write(j, 700)
    with JournalReader(tmp_path / "j") as r:
        assert all(s.sealed for s in r.segments[:-1])
        assert d.check_all(r) == 1000
    assert verify_journal(tmp_path / "j").ok
