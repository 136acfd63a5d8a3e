"""Status sections in shared memory: a reader never returns a torn snapshot while another
process rewrites it, never makes the writer wait, and says when a section is absent, stale,
torn or not a status file."""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import stat
import time

import pytest

from fxpipe.ops.status_shm import StatusError, StatusReader, StatusWriter, status_path


def _writer_loop(prefix: str, stop, ready) -> None:
    w = StatusWriter(prefix, "ops", capacity=1 << 16)
    ready.set()
    n = 0
    while not stop.is_set():
        n += 1
        # the size changes with n, every field depends on n: any mix of two writes shows
        w.write({"n": n, "check": n * 7919, "pad": "x" * (n % 4000), "tail": n})
    w.close()


def test_no_torn_snapshot_while_another_process_rewrites_it(prefix):
    ctx = mp.get_context("fork")
    ready, stop = ctx.Event(), ctx.Event()
    p = ctx.Process(target=_writer_loop, args=(prefix, stop, ready))
    p.start()
    try:
        assert ready.wait(10)
        r = StatusReader(prefix, retry_s=1.0)
        seen, last, changed = 0, 0, 0
        deadline = time.monotonic() + 10
        while seen < 3000 and time.monotonic() < deadline:
            s = r.read("ops")
            if s.snapshot is None:
                assert s.state in ("absent", "busy"), s
                continue
            snap = s.snapshot
            n = snap["n"]
            assert snap["check"] == n * 7919 and snap["tail"] == n and len(snap["pad"]) == n % 4000
            assert n >= last             # never an older snapshot after a newer one
            changed += n > last
            last = n
            seen += 1
        assert seen > 100 and changed > 50     # it read while the writer kept rewriting
    finally:
        stop.set()
        p.join(30)
    assert p.exitcode == 0


def test_file_is_owner_only_and_named_after_prefix_and_section(prefix):
    with StatusWriter(prefix, "supervisor") as w:
        w.write({"workers": []})
        st = os.stat(status_path(prefix, "supervisor"))
        assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == os.getuid()
        assert status_path(prefix, "supervisor").name == f"{prefix}.status.supervisor"
    s = StatusReader(prefix).read("supervisor")
    assert s.snapshot == {"workers": []}


def test_absent_section_and_nothing_written_yet_are_reported(prefix):
    r = StatusReader(prefix)
    assert r.read("ops").state == "absent" and "not started" in r.read("ops").detail
    w = StatusWriter(prefix, "ops")
    assert r.read("ops").state == "absent" and r.read("ops").detail == "nothing written yet"
    w.write({"a": 1})
    assert r.read("ops").state == "ok" and r.sections() == ["ops"]
    w.close(unlink=True)
    assert r.read("ops").state == "absent"


def test_old_snapshot_is_stale(prefix):
    with StatusWriter(prefix, "ops") as w:
        w.write({"a": 1})
        time.sleep(0.3)
        s = StatusReader(prefix, stale_after_s=0.1).read("ops")
        assert s.state == "stale" and "ago" in s.detail and s.snapshot == {"a": 1}


def _write_once_and_exit(prefix):
    StatusWriter(prefix, "ops").write({"a": 2})
    os._exit(0)


def test_snapshot_of_a_dead_writer_is_stale(prefix):
    p = mp.get_context("fork").Process(target=_write_once_and_exit, args=(prefix,))
    p.start()
    p.join(10)
    s = StatusReader(prefix).read("ops")
    assert s.state == "stale" and "is gone" in s.detail and s.snapshot == {"a": 2}


def _die_mid_write(prefix, ready):
    w = StatusWriter(prefix, "ops")
    w.write({"a": 3})
    h = w._hdr[0]
    h["seq"] = int(h["seq"]) + 1          # as if killed between the two seq stores
    ready.set()
    signal.pause()


def test_writer_killed_mid_write_reads_as_torn_and_a_new_writer_recovers(prefix):
    ctx = mp.get_context("fork")
    ready = ctx.Event()
    p = ctx.Process(target=_die_mid_write, args=(prefix, ready))
    p.start()
    assert ready.wait(10)
    assert StatusReader(prefix, retry_s=0.05).read("ops").state == "busy"    # its writer still lives
    p.kill()
    p.join(10)
    assert StatusReader(prefix, retry_s=0.05).read("ops").state == "torn"
    with StatusWriter(prefix, "ops") as w:
        w.write({"a": 4})
        assert StatusReader(prefix).read("ops").snapshot == {"a": 4}


def test_snapshot_too_large_is_refused_and_the_last_one_stays(prefix):
    with StatusWriter(prefix, "ops", capacity=256) as w:
        w.write({"a": 1})
        with pytest.raises(StatusError, match="exceeds the capacity 256"):
            w.write({"a": "x" * 300})
        assert StatusReader(prefix).read("ops").snapshot == {"a": 1}


def test_a_file_that_is_not_a_status_file_is_damaged_and_never_overwritten(prefix):
    path = status_path(prefix, "ops")
    path.write_bytes(b"NOTSTATUS" + b"\0" * 100)
    os.chmod(path, 0o600)
    assert StatusReader(prefix).read("ops").state == "damaged"
    with pytest.raises(StatusError, match="not an fxpipe status file"):
        StatusWriter(prefix, "ops")
    assert path.read_bytes().startswith(b"NOTSTATUS")
    path.write_bytes(b"short")
    with pytest.raises(StatusError, match="not an fxpipe status file"):
        StatusWriter(prefix, "ops")
    assert path.read_bytes() == b"short"


def test_corrupt_payload_is_never_returned(prefix):
    with StatusWriter(prefix, "ops") as w:
        w.write({"a": 1})
        w._mm[64] = ord("[")                   # payload changed under an even seq: the CRC disagrees
        s = StatusReader(prefix, retry_s=0.05).read("ops")
        assert s.state == "busy" and s.snapshot is None


@pytest.mark.parametrize("prefix_, section", [("bad/prefix", "ops"), ("p", "Ops"), ("p", "../x"), ("", "ops")])
def test_bad_names_are_refused(prefix_, section):
    with pytest.raises(StatusError):
        StatusWriter(prefix_, section)


def test_ops_publisher_keeps_going_when_a_snapshot_does_not_fit(prefix, tmp_path):
    import json as _json
    import logging

    from opsdata import stream

    from fxpipe.ops import logs
    from fxpipe.ops.host import OpsPublisher

    path = tmp_path / "log.jsonl"
    h = logs.configure_logging(str(path))
    try:
        pub = OpsPublisher(prefix, raise_alarms=False, capacity=256)
        pub.on_batch(stream())
        pub.publish()                      # far more than 256 bytes: logged, not raised
        assert pub.publish_errors == 1
        assert StatusReader(prefix).read("ops").detail == "nothing written yet"
        pub.writer.close()
    finally:
        logging.getLogger(logs.ROOT).removeHandler(h)
        h.close()
    (line,) = [_json.loads(x) for x in path.read_text().splitlines()]
    assert line["msg"] == "ops status not published" and "exceeds the capacity" in line["fields"]["error"]


def test_ops_publisher_publishes_at_once_when_a_command_is_answered(prefix):
    import fxpipe.model.events as ev
    from fxpipe.ops.host import OpsPublisher

    pub = OpsPublisher(prefix, raise_alarms=False, interval_s=3600)
    assert pub.maybe_publish(now=0.0)                  # the first one
    pub.on_event(ev.make(ev.EventType.QUOTE, instrument_id=1, ts_receive_ns=1))
    assert not pub.maybe_publish(now=1.0)              # not due
    pub.on_event(ev.make(ev.EventType.RISK, check=ev.RiskCheck.KILL_SWITCH, action=ev.RiskAction.KILL_SWITCH_ON,
                         cl_ord_id=77, ts_receive_ns=2))
    assert pub.maybe_publish(now=2.0)                  # an answer: now
    assert StatusReader(prefix).read("ops").snapshot["requests"]["77"]["state"] == "done"
    pub.close(unlink=True)
