"""Replay: a live run of the market-state stage recorded into a journal replays equal, bit for
bit; a tampered output, state hash or configuration is reported at the first differing record
with the field; pacing follows recorded event time times a factor."""
import json
import subprocess
import sys

import jtestdata as d
import numpy as np
import pytest

from fxpipe.journal import Journal, JournalReader
from fxpipe.journal import layout as L
from fxpipe.model import events as ev
from fxpipe.replay import StageRecorder, replay_journal
from fxpipe.replay.market_state import MarketStateStage
from fxpipe.replay.replayer import ReplayError

STALE = 2_000_000_000
N = 1500


def record_run(path, events, stage_id=3, checkpoint_every=400, close=True):
    """A live run: the stage fed through a recorder into a real journal."""
    outputs = []
    with Journal.open(path, segment_size=1 << 17, fsync="never") as j:
        rec = StageRecorder(j, MarketStateStage(stale_after_ns=STALE), stage_id, d.T0)
        for i, e in enumerate(events, 1):
            outputs += rec.feed(e)
            if i % checkpoint_every == 0:
                rec.checkpoint()
        if close:
            rec.close()
    return outputs


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    path = tmp_path_factory.mktemp("replay") / "j"
    outputs = record_run(path, d.market_events(N, seed=11))
    return path, outputs


def copy_journal(src, dst):
    import shutil

    shutil.copytree(src, dst)
    return dst


def output_records(path):
    with JournalReader(path) as r:
        return [x for x in r if x.flags & L.FLAG_OUTPUT]


def test_recorded_live_run_replays_equal(recorded):
    path, outputs = recorded
    rep = replay_journal(path)
    assert rep.ok, str(rep.divergence)
    assert rep.inputs == N and rep.outputs == len(outputs) > 200
    assert rep.state_hashes == N // 400 + 1 and rep.stages == {3: "market_state"}
    assert rep.inputs_after_last_hash == {3: 0}
    # the journal holds inputs, outputs and hashes with the stage id and roles in the header
    with JournalReader(path) as r:
        recs = list(r)
    assert sum(1 for x in recs if x.flags & L.FLAG_INPUT) == N
    assert [bytes(x.payload) for x in recs if x.flags & L.FLAG_OUTPUT] == [o.tobytes() for o in outputs]
    assert {x.stage for x in recs} == {3}


def test_replay_cli_reports_equal(recorded):
    path, outputs = recorded
    r = subprocess.run([sys.executable, "-m", "fxpipe", "replay", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "EQUAL" in r.stdout and f"outputs compared {len(outputs)}" in r.stdout


def test_replaying_the_same_journal_twice_gives_the_same_result(recorded):
    path, _ = recorded
    a, b = replay_journal(path), replay_journal(path)
    assert a.ok and b.ok
    assert (a.inputs, a.outputs, a.state_hashes, a.final_hash_seq) == (b.inputs, b.outputs, b.state_hashes,
                                                                         b.final_hash_seq)


def test_tampered_output_is_reported_at_that_record_with_the_field(recorded, tmp_path):
    path = copy_journal(recorded[0], tmp_path / "j")
    victim = output_records(path)[57]
    q = np.frombuffer(bytes(victim.payload), dtype=ev.dtype_for(ev.EventType.QUOTE)).copy()
    was = int(q["ask_px_e8"][0])
    q["ask_px_e8"] += 1
    d.rewrite_record(path, victim.seq, payload=q.tobytes())
    r = subprocess.run([sys.executable, "-m", "fxpipe", "replay", str(path)], capture_output=True, text=True)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "DIVERGED" in r.stdout
    assert f"record seq {victim.seq} (stage 3 market_state" in r.stdout
    assert f"field ask_px_e8: journal {was + 1}, replay {was}" in r.stdout
    rep = replay_journal(path)
    assert rep.divergence.seq == victim.seq and rep.divergence.field == "ask_px_e8"
    assert rep.outputs == 58  # it stopped at the first divergence


def test_tampered_padding_byte_is_a_divergence_too(recorded, tmp_path):
    path = copy_journal(recorded[0], tmp_path / "j")
    victim = output_records(path)[10]
    raw = bytearray(victim.payload)
    raw[150] = 1  # inside Quote's _pad
    d.rewrite_record(path, victim.seq, payload=bytes(raw))
    rep = replay_journal(path)
    assert rep.divergence.seq == victim.seq and rep.divergence.field == "byte 150 (padding)"


def test_tampered_state_hash_is_reported(recorded, tmp_path):
    path = copy_journal(recorded[0], tmp_path / "j")
    with JournalReader(path) as r:
        hashes = [x for x in r if x.type == L.RT_STATE_HASH]
    bad = bytes(b ^ 0xFF for b in hashes[1].payload)
    d.rewrite_record(path, hashes[1].seq, payload=bad)
    rep = replay_journal(path)
    assert rep.divergence.seq == hashes[1].seq and rep.divergence.what == "state hash differs"
    assert rep.state_hashes == 2


def test_an_output_the_journal_lacks_is_reported(recorded, tmp_path):
    path = copy_journal(recorded[0], tmp_path / "j")
    victim = output_records(path)[20]
    d.rewrite_record(path, victim.seq, flags=0)  # no longer an output of the stage
    rep = replay_journal(path)
    assert not rep.ok and "output the journal does not have" in rep.divergence.what
    assert rep.divergence.seq > victim.seq


def test_recorded_configuration_is_what_replay_uses(recorded, tmp_path):
    path = copy_journal(recorded[0], tmp_path / "j")
    with JournalReader(path) as r:
        start = next(x for x in r if x.type == L.RT_STAGE_START)
    payload = bytes(start.payload)
    n = int.from_bytes(payload[:2], "little")
    config = json.dumps({"stale_after_ns": STALE * 2}).encode()
    assert len(config) == len(payload) - 2 - n
    d.rewrite_record(path, start.seq, payload=payload[:2 + n] + config)
    rep = replay_journal(path)
    assert not rep.ok  # a stage that keeps quotes longer disagrees with the recording


def test_run_without_a_final_state_hash_is_compared_by_outputs(tmp_path):
    record_run(tmp_path / "j", d.market_events(300, seed=2), checkpoint_every=10_000, close=False)
    rep = replay_journal(tmp_path / "j")
    assert rep.ok and rep.state_hashes == 0 and rep.inputs == 300
    r = subprocess.run([sys.executable, "-m", "fxpipe", "replay", str(tmp_path / "j")],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "no state hash recorded" in r.stdout


def test_pace_follows_event_time_times_the_factor(tmp_path):
    events = d.market_events(5, seed=1)
    for i, e in enumerate(events):
        e["ts_receive_ns"] = d.T0 + i * 1_000_000_000  # one input per recorded second
    record_run(tmp_path / "j", events)
    now = [100.0]
    sleeps = []

    def sleep(s):
        sleeps.append(round(s, 9))
        now[0] += s

    rep = replay_journal(tmp_path / "j", speed=4.0, clock=lambda: now[0], sleep=sleep)
    assert rep.ok
    assert sleeps == [0.25, 0.25, 0.25, 0.25]
    sleeps.clear()
    assert replay_journal(tmp_path / "j", clock=lambda: now[0], sleep=sleep).ok
    assert sleeps == []  # as fast as possible


def test_journal_without_recorded_stage_is_a_clear_error(tmp_path):
    with Journal.open(tmp_path / "j", segment_size=1 << 16, fsync="never") as j:
        j.append_events(d.model_events(ev.EventType.QUOTE, 5))
    with pytest.raises(ReplayError, match="no recorded stage"):
        replay_journal(tmp_path / "j")
    r = subprocess.run([sys.executable, "-m", "fxpipe", "replay", str(tmp_path / "j")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "no recorded stage" in r.stderr


def test_unknown_stage_and_bad_speed_are_clear_errors(tmp_path):
    with Journal.open(tmp_path / "j", segment_size=1 << 16, fsync="never") as j:
        j.append_stage_start(1, "no_such_stage", b"{}", 0)
    with pytest.raises(ReplayError, match="no stage named 'no_such_stage'"):
        replay_journal(tmp_path / "j")
    with pytest.raises(ValueError, match="speed"):
        replay_journal(tmp_path / "j", speed=-1)


def test_recorder_refuses_stage_id_zero(tmp_path):
    with Journal.open(tmp_path / "j", segment_size=1 << 16, fsync="never") as j:
        with pytest.raises(ValueError, match="stage_id"):
            StageRecorder(j, MarketStateStage(), 0)
