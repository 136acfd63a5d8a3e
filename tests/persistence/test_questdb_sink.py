"""The QuestDB sink against a loopback QuestDB stand-in (fxpipe.persistence.testing): every row
and its types, exactly once across resends, restarts and kill -9, QuestDB down or refusing
rows, and damaged journals."""
from __future__ import annotations

import json
import logging
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sinkdata as sd

import fxpipe.model.events as ev
from fxpipe.journal import Journal, JournalCorruptError, JournalReader
from fxpipe.journal import layout as L
from fxpipe.model.refdata import load_refdata
from fxpipe.persistence import checkpoint as ckpt
from fxpipe.persistence.questdb_http import QuestDBConfError
from fxpipe.persistence.questdb_sink import QuestDBSink, SinkError, SinkOptions, run_sink
from fxpipe.persistence.tables import TABLE_NAMES, TABLES
from fxpipe.persistence.testing import IlpReceiver

ROOT = Path(__file__).resolve().parents[2]
FAST = SinkOptions(batch_rows=64, batch_interval_s=0.01, poll_s=0.01, backoff_min_s=0.01, backoff_max_s=0.05,
                   follow=False)


@pytest.fixture
def rx():
    r = IlpReceiver()
    yield r
    r.stop()


def once(jdir, conf, cp=None, **kw):
    return run_sink(jdir, conf, cp, lambda: False, options=kw.pop("options", FAST), refdata=load_refdata(), **kw)


def seqs(rx, table=None):
    tables = [table] if table else list(TABLE_NAMES.values())
    return sorted(r["journal_seq"] for t in tables for r in rx.rows(t))


def test_every_event_lands_once_with_exact_typed_columns(tmp_path, rx):
    sd.make_journal(tmp_path / "j", 300)
    sink = once(tmp_path / "j", rx.conf)
    assert seqs(rx) == list(range(1, 301))
    assert sink.acked_seq == 300 and sink.rows_sent == 300
    for t in TABLES.values():
        if rx.rows(t.name):
            types = rx.column_types(t.name)
            assert types["ts"] == "TIMESTAMP" and types["journal_seq"] == "LONG"
            assert {c.name: c.questdb_type for c in t.columns}.items() <= types.items()
            assert rx.tables[t.name].dedup_keys == ("ts", "journal_seq", "journal")
    fills = rx.rows("fills")
    f = next(r for r in fills if r["journal_seq"] == 4)          # event 3: the first fill
    src = sd.event(3)
    assert f["venue"] == "ECN1" and f["instrument"] == "USD/CHF"
    assert f["last_px_e8"] == 15_125_300_000 and f["commission_e4"] == -12_3456
    assert f["side"] == "BUY" and f["liquidity"] == "ADDED" and f["commission_ccy"] == "USD"
    assert f["exec_id"] == "EXEC-00000003" and f["exec_ref_id"] is None
    assert f["ts"] == int(src["ts_venue_ns"]) // 1000                 # venue time designated
    assert f["ts_receive_ns"] == int(src["ts_receive_ns"])             # nanoseconds kept exact
    q0 = next(r for r in rx.rows("quotes") if r["journal_seq"] == 1)
    assert q0["ts"] == sd.T0 // 1000 and q0["quote_cond"] == "FIRM"   # no venue time: receive time
    pos = rx.rows("positions")[0]
    assert pos["net_qty_e2"] == -(2**62) + 4 and pos["realized_pnl_e4"] == -123_456_789_0123
    assert pos["reason"] == "FILL" and pos["rpt_ccy"] == "USD"
    assert rx.rows("pnl")[0]["realized_e4"] == 2**62 + 5               # beyond a double's 53 bits
    upd = rx.rows("order_updates")[0]
    assert upd["order_id"] == 'ORD-2-"q",= x' and upd["ord_status"] == "PARTIALLY_FILLED"
    assert rx.rows("latency")[0]["hop"] and rx.rows("orders")[0]["action"] == "NEW"


def test_resend_after_lost_checkpoint_doubles_nothing(tmp_path, rx):
    sd.make_journal(tmp_path / "j", 200)
    cp = tmp_path / "cp"
    once(tmp_path / "j", rx.conf, cp)
    first = {t: rx.rows(t) for t in TABLE_NAMES.values()}
    cp.unlink()
    sink = once(tmp_path / "j", rx.conf, cp)
    assert sink.rows_sent == 200                                       # it did send everything again
    assert {t: rx.rows(t) for t in TABLE_NAMES.values()} == first


def test_restart_resumes_after_the_checkpoint(tmp_path, rx):
    jdir, cp = tmp_path / "j", tmp_path / "cp"
    with Journal.open(jdir, fsync="never") as j:
        sd.write(j, 0, 100)
        once(jdir, rx.conf, cp)
        sd.write(j, 100, 50)
    sink = once(jdir, rx.conf, cp)
    assert sink.rows_sent == 50 and seqs(rx) == list(range(1, 151))
    assert ckpt.load(cp).last_seq == 150


def test_checkpoint_is_owner_only_and_names_its_journal(tmp_path, rx):
    sd.make_journal(tmp_path / "j", 10)
    sd.make_journal(tmp_path / "other", 10)
    once(tmp_path / "j", rx.conf)
    path = ckpt.default_path(tmp_path / "j")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".*.tmp"))
    with JournalReader(tmp_path / "j") as r:
        assert ckpt.load(path) == ckpt.Checkpoint(r.state.journal_id, 10)
    with pytest.raises(SinkError, match="belongs to journal"):
        once(tmp_path / "other", rx.conf, path)


def test_garbled_checkpoint_is_a_clear_error(tmp_path, rx):
    sd.make_journal(tmp_path / "j", 10)
    (tmp_path / "cp").write_text("{not json")
    with pytest.raises(ckpt.CheckpointError, match="not a QuestDB sink checkpoint"):
        once(tmp_path / "j", rx.conf, tmp_path / "cp")


def test_checkpoint_past_the_journal_end_is_refused(tmp_path, rx):
    sd.make_journal(tmp_path / "j", 10)
    with JournalReader(tmp_path / "j") as r:
        ckpt.save(tmp_path / "cp", ckpt.Checkpoint(r.state.journal_id, 99))
    with pytest.raises(SinkError, match="ends at 10"):
        once(tmp_path / "j", rx.conf, tmp_path / "cp")


@pytest.mark.parametrize("conf,match", [("tcp::addr=127.0.0.1:9009;", "gives no acknowledgement"),
                                        ("http::addr=127.0.0.1:x;", "not a number"),
                                        ("127.0.0.1:9000", "looks like"),
                                        ("http::retry_timeout=5;", "no addr")])
def test_unusable_conf_is_refused_before_anything_is_read(tmp_path, conf, match):
    sd.make_journal(tmp_path / "j", 1)
    with pytest.raises(QuestDBConfError, match=match):
        once(tmp_path / "j", conf)


def _follow(jdir, conf, cp, alarms, stop):
    opts = SinkOptions(batch_rows=32, batch_interval_s=0.01, poll_s=0.01, backoff_min_s=0.02,
                       backoff_max_s=0.1, follow=True)
    sink = QuestDBSink(jdir, conf + "retry_timeout=0;", cp, opts, load_refdata(), alarms.append)
    return threading.Thread(target=sink.run, args=(stop.is_set,), daemon=True), sink


def wait_for(cond, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@pytest.mark.parametrize("how", ["503", "gone"])
def test_questdb_down_raises_alarm_then_catches_up(tmp_path, rx, caplog, how):
    jdir, cp = tmp_path / "j", tmp_path / "cp"
    alarms, stop = [], threading.Event()
    caplog.set_level(logging.WARNING, "fxpipe.persistence.questdb")
    with Journal.open(jdir, fsync="never", segment_size=1 << 16) as j:
        sd.write(j, 0, 100)
        t, sink = _follow(jdir, rx.conf, cp, alarms, stop)
        t.start()
        wait_for(lambda: rx.row_count() == 100, "the first 100 rows")
        port, saved = rx.port, rx.tables
        if how == "503":
            rx.down(503)
        else:
            rx.stop()
        sd.write(j, 100, 900)                          # several segments while QuestDB is away
        wait_for(lambda: any(a.name == "questdb_down" and a.active for a in alarms), "the alarm")
        assert ckpt.load(cp).last_seq < 1000           # nothing acknowledged while down
        time.sleep(0.3)                                # several retries
        assert len(sink.pending) <= 32                 # the rest waits in the journal, not in memory
        if how == "503":
            rx.up()
            back = rx
        else:                                          # QuestDB restarts with its data
            back = IlpReceiver(port=port)
            back.tables = saved
        try:
            wait_for(lambda: back.row_count() == 1000, "the catch-up")
            wait_for(lambda: any(not a.active for a in alarms), "the alarm to clear")
        finally:
            stop.set()
            t.join(10)
            if back is not rx:
                back.stop()
    assert seqs(back) == list(range(1, 1001))
    assert ckpt.load(cp).last_seq == 1000
    lines = [json.loads(r.getMessage()) for r in caplog.records]
    assert [ln["active"] for ln in lines if ln.get("alarm") == "questdb_down"] == [True, False]
    assert '"alarm": "questdb_down"' in caplog.records[0].getMessage()


def test_rows_questdb_refuses_wait_in_the_journal(tmp_path, rx):
    sd.make_journal(tmp_path / "j", 40)
    sql = TABLES[ev.EventType.FILL].create_sql().replace('"last_qty_e2" LONG', '"last_qty_e2" BOOLEAN')
    assert rx.exec_sql(sql)[0] == 200                  # someone made fills with a wrong column type
    alarms, stop = [], threading.Event()
    t, _ = _follow(tmp_path / "j", rx.conf, tmp_path / "cp", alarms, stop)
    t.start()
    try:
        wait_for(lambda: any(a.name == "questdb_rejected" for a in alarms), "the rejection alarm")
        assert "cast error" in alarms[0].detail["error"]
        assert rx.row_count() == 0 and not (tmp_path / "cp").exists()
        with rx.lock:
            del rx.tables["fills"]                    # the operator drops the bad table
        wait_for(lambda: rx.row_count() == 40, "the rows after the fix")
    finally:
        stop.set()
        t.join(10)
    assert seqs(rx) == list(range(1, 41))


def test_follow_picks_up_appends_and_new_segments(tmp_path, rx):
    jdir = tmp_path / "j"
    alarms, stop = [], threading.Event()
    with Journal.open(jdir, fsync="never", segment_size=1 << 16) as j:
        sd.write(j, 0, 1)
        t, _ = _follow(jdir, rx.conf, tmp_path / "cp", alarms, stop)
        t.start()
        try:
            for k in range(10):
                sd.write(j, 1 + k * 100, 100)
                time.sleep(0.01)
            wait_for(lambda: rx.row_count() == 1001, "every appended row")
        finally:
            stop.set()
            t.join(10)
        assert len(list(jdir.glob("*.fxj"))) > 3
    assert seqs(rx) == list(range(1, 1002)) and not alarms


def _flip(jdir, seq, at=L.RECORD_HEADER_SIZE + 20):
    with JournalReader(jdir) as r:
        rec = r.get(seq)
        path, off = r.segment(rec.segment_no).path, rec.offset
    with open(path, "r+b") as f:
        f.seek(off + at)
        b = f.read(1)
        f.seek(off + at)
        f.write(bytes([b[0] ^ 0x40]))


def test_corrupt_journal_tail_is_reported_not_crashed_on(tmp_path, rx):
    sd.make_journal(tmp_path / "j", 50)
    _flip(tmp_path / "j", 50)
    alarms = []
    sink = once(tmp_path / "j", rx.conf, on_alarm=alarms.append)
    assert seqs(rx) == list(range(1, 50)) and sink.acked_seq == 49
    assert [a.name for a in alarms] == ["journal_tail"] and "offset" in alarms[0].message


def test_corruption_in_the_middle_is_refused_naming_file_and_offset(tmp_path, rx):
    sd.make_journal(tmp_path / "j", 50)
    _flip(tmp_path / "j", 20)
    with pytest.raises(JournalCorruptError, match=r"000000000000\.fxj at offset \d+"):
        once(tmp_path / "j", rx.conf, tmp_path / "cp")
    assert rx.row_count() == 0 and not (tmp_path / "cp").exists()


def _sink_cli(jdir, conf, cp, *extra):
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return [sys.executable, "-m", "fxpipe", "sink", "questdb", str(jdir), "--addr", conf,
            "--checkpoint", str(cp), *extra], env


def test_kill_9_mid_stream_then_restart_loses_and_doubles_nothing(tmp_path, rx):
    jdir, cp = tmp_path / "j", tmp_path / "cp"
    sd.make_journal(jdir, 3000)
    rx.write_delay_s = 0.02                            # a slow QuestDB keeps the sink mid-stream
    cmd, env = _sink_cli(jdir, rx.conf, cp, "--follow", "--batch-rows", "50", "--batch-ms", "5")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: rx.row_count() >= 500, "the sink to be mid-stream", timeout=60)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    cut = rx.row_count()
    assert 500 <= cut < 3000
    rx.write_delay_s = 0.0
    cmd, env = _sink_cli(jdir, rx.conf, cp)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "acknowledged through sequence 3000" in done.stderr
    assert seqs(rx) == list(range(1, 3001))            # nothing lost, nothing doubled
    assert ckpt.load(cp).last_seq == 3000


def test_cli_refuses_a_tcp_address_with_one_line(tmp_path):
    sd.make_journal(tmp_path / "j", 1)
    cmd, env = _sink_cli(tmp_path / "j", "tcp::addr=127.0.0.1:9009;", tmp_path / "cp")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "fxpipe sink: " in done.stderr and "Traceback" not in done.stderr


def test_sink_never_touches_the_journal_files(tmp_path, rx):
    sd.make_journal(tmp_path / "j", 100)
    before = {p.name: p.read_bytes() for p in (tmp_path / "j").iterdir()}
    QuestDBSink(tmp_path / "j", rx.conf, options=FAST).run(lambda: False)
    assert {p.name: p.read_bytes() for p in (tmp_path / "j").iterdir()} == before


def test_following_sink_alarms_on_corruption_appearing_and_keeps_running(tmp_path, rx):
    jdir = tmp_path / "j"
    alarms, stop = [], threading.Event()
    with Journal.open(jdir, fsync="never") as j:
        sd.write(j, 0, 30)
        t, _ = _follow(jdir, rx.conf, tmp_path / "cp", alarms, stop)
        t.start()
        try:
            wait_for(lambda: rx.row_count() == 30, "the first rows")
            _flip(jdir, 10)                            # the disk damages a record already sent
            sd.write(j, 30, 5)
            wait_for(lambda: any(a.name == "journal_corrupt" for a in alarms), "the corruption alarm")
            assert t.is_alive()
        finally:
            stop.set()
            t.join(10)
    assert not t.is_alive() and seqs(rx) == list(range(1, 31))


def test_torn_tail_alarm_clears_once_the_writer_cuts_it_and_appends(tmp_path, rx):
    jdir = tmp_path / "j"
    sd.make_journal(jdir, 20)
    _flip(jdir, 20)                                    # what a writer crashing mid-append leaves
    alarms, stop = [], threading.Event()
    t, _ = _follow(jdir, rx.conf, tmp_path / "cp", alarms, stop)
    t.start()
    try:
        wait_for(lambda: [a.name for a in alarms] == ["journal_tail"], "the tail alarm")
        with Journal.open(jdir, fsync="never") as j:   # the restarted writer cuts the tail
            sd.write(j, 19, 6)
        wait_for(lambda: rx.row_count() == 25, "the rows after the cut")
        wait_for(lambda: len(alarms) == 2, "the alarm to clear")
    finally:
        stop.set()
        t.join(10)
    assert [(a.name, a.active) for a in alarms] == [("journal_tail", True), ("journal_tail", False)]
    assert seqs(rx) == list(range(1, 26))
