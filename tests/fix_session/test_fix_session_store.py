"""The durable file store: numbers and messages survive restart, torn tails are cut, one writer."""
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
import zlib

import pytest

from fxpipe.fix.session.store import FileStore, StoreError, StoreLockedError

T0 = 1_700_000_000_000_000_000
# Child processes import fxpipe from wherever this test run does.
CHILD_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}


def opened(path, **kw):
    s = FileStore(path, **kw)
    s.open(T0)
    return s


def test_new_store_starts_at_one(tmp_path):
    s = opened(tmp_path / "st")
    assert (s.next_sender, s.next_target, s.creation_ns) == (1, 1, T0)
    assert s.message_count() == 0 and s.recovery.torn_bytes_cut == 0
    s.close()


def test_sequence_numbers_and_messages_survive_restart(tmp_path):
    s = opened(tmp_path / "st", fsync="always")
    for seq in range(1, 6):
        s.save_sent(seq, b"msg-%d" % seq)
    for _ in range(3):
        s.incr_next_target()
    s.close()
    s = FileStore(tmp_path / "st")
    s.open(T0 + 99)
    assert (s.next_sender, s.next_target, s.creation_ns) == (6, 4, T0)
    assert s.message_count() == 5
    assert s.get_range(2, 4, 100) == [(2, b"msg-2"), (3, b"msg-3"), (4, b"msg-4")]
    assert s.get_range(4, 10, 2) == [(4, b"msg-4"), (5, b"msg-5")]
    assert s.get(9) is None
    s.close()


def test_message_store_corruption_torn_tail_is_cut(tmp_path):
    """Message store corruption: a half-written last record is cut at recovery; every whole one is kept."""
    s = opened(tmp_path / "st")
    for seq in range(1, 4):
        s.save_sent(seq, b"x" * 50)
    s.close()
    log = tmp_path / "st" / "messages"
    whole = log.stat().st_size
    with open(log, "ab") as f:
        f.write(b"\xc5\xf1\x01\x01" + b"\x00" * 9)  # a record header cut mid-way
    s = FileStore(tmp_path / "st")
    rec = s.open(T0)
    assert rec.torn_bytes_cut == 13 and s.message_count() == 3
    assert log.stat().st_size == whole
    assert s.next_sender == 4
    s.save_sent(4, b"after")
    s.close()
    s = opened(tmp_path / "st")
    assert s.get(4) == b"after" and s.get(3) == b"x" * 50
    s.close()


def test_message_store_corruption_bad_checksum_in_the_tail_cuts_from_there(tmp_path):
    """A store without its index (an older layout, or the index lost) is scanned in full: the
    first record that fails its checksum and everything after it are cut."""
    s = opened(tmp_path / "st")
    for seq in range(1, 5):
        s.save_sent(seq, b"payload-%d" % seq)
    s.close()
    log = tmp_path / "st" / "messages"
    data = bytearray(log.read_bytes())
    rec_len = len(data) // 4
    data[2 * rec_len + 25] ^= 0xFF  # flip a byte in record 3's payload
    log.write_bytes(bytes(data))
    (tmp_path / "st" / "messages.idx").unlink()
    s = opened(tmp_path / "st")
    assert s.recovery.rebuilt_index
    assert s.message_count() == 2 and s.recovery.torn_bytes_cut == 2 * rec_len
    # seqnums slot still says 5: a resend of 3..4 becomes a gap fill, never a reused number.
    assert s.next_sender == 5
    assert s.get(3) is None
    s.close()


def test_message_store_corruption_in_the_indexed_part_is_caught_when_read(tmp_path):
    """Open reads only the unindexed tail; a record that rotted since is caught by its checksum
    when a resend reads it (None: the resend gap-fills it), and its neighbours are served."""
    s = opened(tmp_path / "st")
    for seq in range(1, 5):
        s.save_sent(seq, b"payload-%d" % seq)
    s.close()
    log = tmp_path / "st" / "messages"
    data = bytearray(log.read_bytes())
    rec_len = len(data) // 4
    data[2 * rec_len + 25] ^= 0xFF
    log.write_bytes(bytes(data))
    s = opened(tmp_path / "st")
    assert s.recovery.scanned_bytes == 0 and not s.recovery.rebuilt_index
    assert s.get(3) is None
    assert [raw for _, raw in s.get_range(1, 4, 10)] == [b"payload-1", b"payload-2", None, b"payload-4"]
    s.close()


def test_restart_reads_only_the_unindexed_tail(tmp_path):
    """Restart cost is flat in the store's size: after a clean close nothing is scanned; after a
    crash that left records unindexed, only those."""
    s = opened(tmp_path / "st")
    for seq in range(1, 3001):
        s.save_sent(seq, b"%08d" % seq * 20)
    s.close()
    s = opened(tmp_path / "st")
    assert s.recovery.scanned_bytes == 0 and s.message_count() == 3000
    assert s.get(1) == b"00000001" * 20 and s.get(3000) == b"00003000" * 20
    s.close()
    # records a crash left after the index's claim: a whole one and a torn one
    head_and_crc = bytes(log_record(3001, b"tail"))
    with open(tmp_path / "st" / "messages", "ab") as f:
        f.write(head_and_crc + head_and_crc[:7])
    s = opened(tmp_path / "st")
    assert s.recovery.scanned_bytes == len(head_and_crc) * 2 - (len(head_and_crc) - 7)
    assert s.recovery.torn_bytes_cut == 7
    assert s.get(3001) == b"tail" and s.next_sender == 3002 and s.message_count() == 3001
    s.close()


def test_an_older_store_without_an_index_is_indexed_once(tmp_path):
    s = opened(tmp_path / "st")
    for seq in range(1, 11):
        s.save_sent(seq, b"m%d" % seq)
    s.close()
    (tmp_path / "st" / "messages.idx").unlink()
    s = opened(tmp_path / "st")
    assert s.recovery.rebuilt_index and s.message_count() == 10 and s.get(7) == b"m7"
    s.close()
    s = opened(tmp_path / "st")
    assert not s.recovery.rebuilt_index and s.recovery.scanned_bytes == 0 and s.get(10) == b"m10"
    s.close()


def test_store_files_are_private(tmp_path):
    s = opened(tmp_path / "st")
    s.save_sent(1, b"order")
    s.close()
    for name in ("lock", "seqnums", "messages", "messages.idx"):
        assert (tmp_path / "st" / name).stat().st_mode & 0o777 == 0o600, name


def log_record(seq: int, payload: bytes) -> bytes:
    """A record as the store writes it (see the layout in store.py)."""
    head = struct.pack("<HBBQI", 0xF1C5, 1, 1, seq, len(payload))
    return head + struct.pack("<I", zlib.crc32(payload, zlib.crc32(head))) + payload


def test_torn_seqnum_slot_falls_back_to_the_other(tmp_path):
    s = opened(tmp_path / "st")
    s.set_next_target(7)
    s.set_next_target(8)
    s.close()
    seq = tmp_path / "st" / "seqnums"
    data = bytearray(seq.read_bytes())
    # the slot with the higher generation is the newest; corrupt that one.
    newest = max((0, 64), key=lambda off: int.from_bytes(data[off + 8:off + 16], "little"))
    data[newest + 20] ^= 0xFF
    seq.write_bytes(bytes(data))
    s2 = FileStore(tmp_path / "st")
    s2.open(T0)
    assert s2.next_target == 7
    s2.close()


def test_both_slots_bad_is_a_clear_error(tmp_path):
    s = opened(tmp_path / "st")
    s.close()
    (tmp_path / "st" / "seqnums").write_bytes(b"\x00" * 128)
    with pytest.raises(StoreError, match="set them with"):
        FileStore(tmp_path / "st").open(T0)
    # the failed open released the lock
    opened(tmp_path / "st2").close()


def test_message_store_corruption_two_writers_refused(tmp_path):
    """One writer per store; the second is told who holds it."""
    s = opened(tmp_path / "st")
    with pytest.raises(StoreLockedError, match=f"process {os.getpid()}"):
        FileStore(tmp_path / "st").open(T0)
    s.close()
    opened(tmp_path / "st").close()


def test_lock_held_by_another_process(tmp_path):
    code = textwrap.dedent(f"""
        import sys, time
        from fxpipe.fix.session.store import FileStore
        s = FileStore({str(tmp_path / 'st')!r}); s.open(0)
        print("ready", flush=True); sys.stdin.readline()
    """)
    p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                         env=CHILD_ENV)
    try:
        assert p.stdout.readline().strip() == "ready"
        with pytest.raises(StoreLockedError, match=str(p.pid)):
            FileStore(tmp_path / "st").open(T0)
    finally:
        p.stdin.close()
        p.wait(10)
    opened(tmp_path / "st").close()


def test_message_store_corruption_stale_offsets_after_reset(tmp_path):
    """Stale offsets after a reset: no old message is served for a reused sequence number."""
    s = opened(tmp_path / "st")
    for seq in range(1, 4):
        s.save_sent(seq, b"old-%d" % seq)
    s.incr_next_target()
    s.reset(T0 + 5)
    assert (s.next_sender, s.next_target, s.creation_ns) == (1, 1, T0 + 5)
    assert s.get(2) is None
    s.save_sent(1, b"new-1")
    s.close()
    s = opened(tmp_path / "st")
    assert s.get(1) == b"new-1" and s.get(2) is None and s.next_sender == 2
    assert s.creation_ns == T0 + 5
    s.close()


@pytest.mark.parametrize("fsync", ["interval", "never"])
def test_index_entries_still_pending_at_a_reset_are_dropped_with_their_messages(tmp_path, fsync):
    """Entries waiting for the session timer belong to the messages a reset drops: none of them
    is written into the new session's index afterwards."""
    s = opened(tmp_path / "st", fsync=fsync)
    for seq in range(1, 4):
        s.save_sent(seq, b"old-%d" % seq)
    s.reset(T0 + 5)
    s.save_sent(1, b"new-1")
    assert s.message_count() == 1
    assert s.get_range(1, 3, 10) == [(1, b"new-1"), (2, None), (3, None)]
    s.close()
    s = opened(tmp_path / "st")
    assert s.message_count() == 1 and s.get(2) is None and s.next_sender == 2
    s.close()


def test_lowering_next_sender_survives_restart(tmp_path):
    s = opened(tmp_path / "st")
    for seq in range(1, 11):
        s.save_sent(seq, b"m")
    s.set_next_sender(5)
    assert s.get(7) is None
    s.close()
    s = opened(tmp_path / "st")
    assert s.next_sender == 5 and s.get(4) == b"m" and s.get(7) is None
    s.close()


def test_bad_sequence_number_rejected(tmp_path):
    s = opened(tmp_path / "st")
    with pytest.raises(StoreError, match="next_target must be >= 1"):
        s.set_next_target(0)
    s.close()


def test_unusable_directory_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="check the store_dir"):
        FileStore(tmp_path / "file" / "st").open(T0)


def test_interval_fsync_policy_syncs_when_due(tmp_path):
    s = opened(tmp_path / "st", fsync="interval", fsync_interval_ns=1000)
    s.save_sent(1, b"a")
    assert s._dirty
    s.flush_due(T0 + 10)
    assert s._dirty
    s.flush_due(T0 + 2000)
    assert not s._dirty
    s.close()


def test_half_written_records_after_kill_9(tmp_path):
    """Half-written records: kill -9 during writes; every record recovered is whole and in order."""
    code = textwrap.dedent(f"""
        from fxpipe.fix.session.store import FileStore
        s = FileStore({str(tmp_path / 'st')!r}, fsync="never"); s.open(0)
        print("ready", flush=True)
        seq = 1
        while True:
            s.save_sent(seq, (b"%08d" % seq) * (1 + seq % 40))
            seq += 1
    """)
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=CHILD_ENV)
    try:
        assert p.stdout.readline().strip() == "ready"
        time.sleep(0.3)
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(10)
        p.stdout.close()
    s = opened(tmp_path / "st")
    n = s.message_count()
    assert n > 10
    for seq in range(1, n + 1):
        assert s.get(seq) == (b"%08d" % seq) * (1 + seq % 40)
    assert s.next_sender == n + 1
    s.close()


def test_a_message_sent_before_its_index_entry_survives_a_kill_9(tmp_path):
    """The outbox writes a message to the wire between the store's log write and its index
    entry: a process killed in that window still has the message for a resend and never
    reuses its number."""
    code = textwrap.dedent(f"""
        import os, signal
        from fxpipe.fix.session.store import FileStore
        s = FileStore({str(tmp_path / 'st')!r}); s.open(0)
        for seq in (1, 2):
            s.save_sent(seq, b"order-%d" % seq)
        s.log_sent(3, b"order-3")            # on the wire now; the index entry never comes
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    p = subprocess.run([sys.executable, "-c", code], env=CHILD_ENV, timeout=30)
    assert p.returncode == -signal.SIGKILL
    s = FileStore(tmp_path / "st")
    s.open(T0)
    assert s.next_sender == 4
    assert s.get_range(1, 3, 10) == [(1, b"order-1"), (2, b"order-2"), (3, b"order-3")]
    s.close()


def test_index_entries_wait_for_the_timer_and_are_found_meanwhile(tmp_path):
    """Under `interval`/`never` a sent message's index entry is not written per message: get()
    finds it before the session timer's flush, the flush writes the run in one go, and only
    then does the slot claim the log as indexed."""
    s = opened(tmp_path / "st", fsync="never")
    for seq in range(1, 6):
        s.save_sent(seq, b"m%d" % seq)
    idx = tmp_path / "st" / "messages.idx"
    assert idx.stat().st_size == 0, "no index write per message"
    assert s.get_range(1, 5, 10) == [(seq, b"m%d" % seq) for seq in range(1, 6)]
    s.flush_due(T0)
    assert idx.stat().st_size == 5 * 8
    assert s.get(3) == b"m3"
    s.save_sent(6, b"m6")
    assert s.message_count() == 6          # reads the index file: pending entries go first
    s.close()
    s = opened(tmp_path / "st")
    assert s.next_sender == 7 and s.recovery.scanned_bytes == 0
    assert s.get(6) == b"m6"
    s.close()


def test_messages_whose_index_entries_were_pending_survive_a_kill_9(tmp_path):
    code = textwrap.dedent(f"""
        import os, signal
        from fxpipe.fix.session.store import FileStore
        s = FileStore({str(tmp_path / 'st')!r}, fsync="never"); s.open(0)
        for seq in range(1, 4):
            s.save_sent(seq, b"order-%d" % seq)
        s.flush_due(0)
        for seq in range(4, 8):
            s.save_sent(seq, b"order-%d" % seq)   # entries pending, never flushed
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    p = subprocess.run([sys.executable, "-c", code], env=CHILD_ENV, timeout=30)
    assert p.returncode == -signal.SIGKILL
    s = FileStore(tmp_path / "st")
    s.open(T0)
    assert s.next_sender == 8 and s.recovery.scanned_bytes > 0
    assert s.get_range(1, 7, 10) == [(seq, b"order-%d" % seq) for seq in range(1, 8)]
    s.close()


def test_the_log_mapping_room_is_not_taken_for_a_torn_tail(tmp_path):
    """The log is written through a mapping with room ahead of the records: a kill leaves that
    room as zeros, which recovery cuts without calling it torn; a clean close leaves none."""
    code = textwrap.dedent(f"""
        import os, signal
        from fxpipe.fix.session.store import FileStore
        s = FileStore({str(tmp_path / 'st')!r}, fsync="never"); s.open(0)
        for seq in range(1, 4):
            s.save_sent(seq, b"order-%d" % seq)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    assert subprocess.run([sys.executable, "-c", code], env=CHILD_ENV, timeout=30).returncode == -signal.SIGKILL
    log = tmp_path / "st" / "messages"
    assert log.stat().st_size >= 1 << 20, "the mapping's room is in the file after a kill"
    s = FileStore(tmp_path / "st")
    rec = s.open(T0)
    assert rec.torn_bytes_cut == 0 and s.next_sender == 4
    records = log.stat().st_size
    assert records < 3 * 64
    s.save_sent(4, b"order-4")
    assert s.get_range(1, 4, 10) == [(seq, b"order-%d" % seq) for seq in range(1, 5)]
    s.close()
    assert log.stat().st_size == records + 20 + len(b"order-4")     # one record header + payload
