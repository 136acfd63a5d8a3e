"""Damage on disk: flipped bytes in every part of a record, header and seal; truncated files;
missing and foreign segments. A torn or corrupt tail is cut to the last good record; damage in
the middle is an error naming the file and offset, and leaves the files untouched."""
import hashlib
import os
import shutil
import subprocess
import sys

import jtestdata as d
import pytest

from fxpipe.journal import Journal, JournalCorruptError, JournalError, JournalReader, MissingSegmentError
from fxpipe.journal import layout as L
from fxpipe.journal.index import INDEX_NAME

SMALL = 1 << 16
N = 2001


def open_j(path, **kw):
    return Journal.open(path, segment_size=SMALL, fsync="never", index_every=64, **kw)


@pytest.fixture
def jdir(tmp_path):
    with open_j(tmp_path / "j") as j:
        d.write(j, N)
    return tmp_path / "j"


def where(jdir, seq):
    """(segment file, record offset, payload length) of the record with `seq`."""
    with JournalReader(jdir) as r:
        rec = r.get(seq)
        return r.segment(rec.segment_no).path, rec.offset, len(rec.payload)


def segments(jdir):
    return sorted(p for p in jdir.iterdir() if p.suffix == ".fxj")


def flip(path, offset, mask=0x40):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ mask]))


def fingerprint(jdir):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in segments(jdir)}


# (name, offset within the record, payload length needed) for every part of a record
RECORD_PARTS = [("commit", 0), ("crc", 5), ("length", 9), ("type", 12), ("stage", 14), ("flags", 15),
                ("seq", 17), ("ts", 26), ("payload", 33), ("padding", None)]


def seq_with_padding(first):
    seq = first
    while d.payload_for(seq) and len(d.payload_for(seq)) % 8 == 0 or len(d.payload_for(seq)) < 2:
        seq += 1
    return seq


@pytest.mark.parametrize("part,at", RECORD_PARTS, ids=[p for p, _ in RECORD_PARTS])
def test_flipped_byte_in_the_middle_of_the_last_segment_names_file_and_offset(jdir, part, at):
    with JournalReader(jdir) as r:
        last = r.segments[-1]
        seq = seq_with_padding(last.first_seq + 3)
        assert seq < r.next_seq - 3
    path, off, length = where(jdir, seq)
    flip(path, off + (L.RECORD_HEADER_SIZE + length if at is None else at))
    before = fingerprint(jdir)
    for opener in (open_j, JournalReader):
        with pytest.raises(JournalCorruptError) as err:
            opener(jdir)
        assert err.value.path == str(path) and err.value.offset == off
        assert "intact records follow" in str(err.value) and "--truncate-at" in str(err.value)
    assert fingerprint(jdir) == before  # a refused open changes nothing


@pytest.mark.parametrize("part,at", RECORD_PARTS, ids=[p for p, _ in RECORD_PARTS])
def test_flipped_byte_in_a_sealed_segment_stops_readers_and_verify(jdir, part, at):
    seq = seq_with_padding(200)
    path, off, length = where(jdir, seq)
    assert path != segments(jdir)[-1]
    flip(path, off + (L.RECORD_HEADER_SIZE + length if at is None else at))
    with JournalReader(jdir) as r:
        got = []
        with pytest.raises(JournalCorruptError) as err:
            for rec in r.records():
                got.append(rec.seq)
        assert err.value.path == str(path) and err.value.offset == off
        assert got == list(range(1, len(got) + 1)) and len(got) < seq  # nothing skipped
    r = subprocess.run([sys.executable, "-m", "fxpipe", "journal", "verify", str(jdir)],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert f"{path} at offset {off}" in r.stdout


@pytest.mark.parametrize("part,at", RECORD_PARTS, ids=[p for p, _ in RECORD_PARTS])
def test_corrupt_last_record_is_a_torn_tail_and_is_cut(jdir, part, at):
    path, off, length = where(jdir, N)
    assert length % 8 and length > 2  # N is chosen so the last record has padding
    flip(path, off + (L.RECORD_HEADER_SIZE + length if at is None else at))
    with JournalReader(jdir) as r:
        assert r.tail is not None and r.tail.offset == off and not r.tail.cut
        assert r.next_seq == N
    with open_j(jdir) as j:
        assert j.tail is not None and j.tail.cut and j.tail.offset == off
        assert j.tail.path == path
        assert j.next_seq == N  # only the damaged record is gone
        d.write(j, 10)
    with JournalReader(jdir) as r:
        assert r.tail is None
        assert d.check_all(r) == N + 9


def test_torn_record_without_commit_marker_is_cut(jdir):
    path, off, length = where(jdir, N)
    with open(path, "r+b") as f:  # as if killed after the header and half the payload
        f.seek(off)
        f.write(b"\x00" * 4)
        f.seek(off + L.RECORD_HEADER_SIZE + length // 2)
        f.write(b"\x00" * (length - length // 2))
    with open_j(jdir) as j:
        assert j.tail.offset == off and "no commit marker" in j.tail.reason
        assert j.next_seq == N
    with open(path, "rb") as f:
        f.seek(off)
        assert not any(f.read(L.RECORD_HEADER_SIZE + length))  # cut means zeroed


def test_zeroed_commit_marker_in_the_middle_is_not_mistaken_for_the_end(jdir):
    with JournalReader(jdir) as r:
        seq = r.segments[-1].first_seq + 2
    path, off, _ = where(jdir, seq)
    with open(path, "r+b") as f:
        f.seek(off)
        f.write(b"\x00" * 4)
    with pytest.raises(JournalCorruptError, match="intact records follow") as err:
        open_j(jdir)
    assert err.value.offset == off


@pytest.mark.parametrize("at,match", [(0, "not a journal segment"), (8, "layout version"),
                                      (20, "header CRC32C"), (33, "header CRC32C")])
def test_flipped_byte_in_a_segment_header(jdir, at, match):
    path = segments(jdir)[1]
    flip(path, at)
    with pytest.raises(JournalCorruptError, match=match) as err:
        JournalReader(jdir)
    assert err.value.path == str(path)


def test_flipped_byte_in_a_seal(jdir):
    with JournalReader(jdir) as r:
        info = r.segments[1]
        seal_at = info.end
    flip(info.path, seal_at + L.RECORD_HEADER_SIZE + 9)
    with pytest.raises(JournalCorruptError, match="not sealed") as err:
        open_j(jdir)
    assert err.value.path == str(info.path) and err.value.offset == seal_at


def test_last_segment_truncated_mid_record_is_cut_and_regrown(jdir):
    path, off, length = where(jdir, N - 1)
    os.truncate(path, off + 20)
    with JournalReader(jdir) as r:
        assert r.tail.offset == off
    with open_j(jdir) as j:
        assert j.tail.offset == off and j.next_seq == N - 1
        d.write(j, 500)  # refills past the old end, onto a new segment
    assert os.path.getsize(path) == SMALL
    with JournalReader(jdir) as r:
        assert d.check_all(r) == N + 498


def test_last_segment_truncated_at_a_record_boundary_is_reported(jdir):
    path, off, _ = where(jdir, N)
    os.truncate(path, off)
    with open_j(jdir) as j:
        assert j.tail is not None and "truncated" in j.tail.reason
        assert j.next_seq == N


def test_middle_segment_truncated_is_an_error(jdir):
    path = segments(jdir)[2]
    os.truncate(path, 5000)
    with pytest.raises(JournalCorruptError, match="truncated") as err:
        open_j(jdir)
    assert err.value.path == str(path)


def test_segment_shorter_than_its_header(jdir):
    path = segments(jdir)[1]
    os.truncate(path, 40)
    with pytest.raises(JournalCorruptError, match="header truncated"):
        JournalReader(jdir)


@pytest.mark.parametrize("which", ["first", "middle", "last"])
def test_missing_segment_is_detected(jdir, which):
    segs = segments(jdir)
    victim = {"first": segs[0], "middle": segs[len(segs) // 2], "last": segs[-1]}[which]
    victim.unlink()
    for opener in (open_j, JournalReader):
        with pytest.raises(MissingSegmentError, match=victim.name):
            opener(jdir)
    (jdir / INDEX_NAME).unlink()
    with pytest.raises(MissingSegmentError, match=victim.name):
        JournalReader(jdir)


def test_segment_from_another_journal_is_refused(tmp_path, jdir):
    with open_j(tmp_path / "other") as j:
        d.write(j, N)
    shutil.copy(tmp_path / "other" / L.segment_name(2), jdir / L.segment_name(2))
    with pytest.raises(JournalError, match="another journal"):
        open_j(jdir)


def test_operator_cut_after_middle_corruption(jdir):
    with JournalReader(jdir) as r:
        seq = r.segments[-1].first_seq + 4
    path, off, _ = where(jdir, seq)
    flip(path, off + 40)
    with pytest.raises(JournalCorruptError) as err:
        open_j(jdir)
    r = subprocess.run([sys.executable, "-m", "fxpipe", "journal", "verify", str(jdir),
                        "--truncate-at", f"{path.name}:{err.value.offset}"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OK" in r.stdout
    with open_j(jdir) as j:
        assert j.next_seq == seq
    with JournalReader(jdir) as r:
        assert d.check_all(r) == seq - 1


def test_truncate_at_refuses_a_bad_cut_point(jdir):
    r = subprocess.run([sys.executable, "-m", "fxpipe", "journal", "verify", str(jdir),
                        "--truncate-at", f"{L.segment_name(0)}:13"], capture_output=True, text=True)
    assert r.returncode == 2 and "not a record offset" in r.stderr
    with JournalReader(jdir) as r:
        assert d.check_all(r) == N


def test_cutting_a_torn_tail_never_shrinks_a_segment_under_its_readers(jdir, monkeypatch):
    """A reader that has the segment mapped (a tailing JournalReader, the QuestDB sink) takes
    SIGBUS on any page past the file's end: the writer's cut zeroes the tail in place and never
    makes the file shorter, not even for a moment."""
    path, off, _ = where(jdir, N)
    flip(path, off + 33)                       # the last record torn
    size = path.stat().st_size
    mapped = JournalReader(jdir)               # holds every segment mapped while the cut runs
    shrinks = []
    real = os.ftruncate

    def watch(fd, length):
        if os.readlink(f"/proc/self/fd/{fd}") == str(path) and length < os.fstat(fd).st_size:
            shrinks.append(length)
        real(fd, length)
    monkeypatch.setattr(os, "ftruncate", watch)
    with open_j(jdir) as j:
        assert j.next_seq == N                 # the torn record was cut
    assert not shrinks and path.stat().st_size == size
    with open(path, "rb") as f:
        f.seek(off)
        assert f.read(size - off).count(0) == size - off, "the cut tail reads as zeros"
    mapped.close()
