"""The order gateway's write-ahead step (fxpipe.oms.writeahead): each input numbered, stamped,
journaled as an input before the stage sees it, the stage's outputs journaled after it in
order; bad input refused before anything is written."""
from __future__ import annotations

import numpy as np
import pytest

import fxpipe.model.events as ev
from fxpipe.journal import Journal, JournalReader
from fxpipe.journal import layout as L
from fxpipe.oms.writeahead import WriteAhead


class Stage:
    """Answers every intent with an order update of the same ClOrdID (as a record) and its bytes
    again as a second output; anything else with nothing."""

    def __init__(self):
        self.seen: list[bytes] = []

    def on_event(self, data: bytes):
        assert type(data) is bytes
        self.seen.append(data)
        if data[0] | data[1] << 8 != ev.EventType.ORDER_INTENT:
            return []
        cl = int(np.frombuffer(data, ev.dtype_for(ev.EventType.ORDER_INTENT))[0]["cl_ord_id"])
        u = ev.make(ev.EventType.ORDER_UPDATE, cl_ord_id=cl, ord_status=ev.OrdStatus.PENDING_NEW)
        return [u, u.tobytes()]


def records(directory):
    with JournalReader(directory) as r:
        return [(rec.seq, rec.type, rec.flags, rec.stage, rec.ts_ns, bytes(rec.payload)) for rec in r.records()
                if rec.type < L.RT_RESERVED_MIN]


def test_inputs_are_numbered_stamped_and_journaled_before_the_stage_and_outputs_after(tmp_path):
    stage = Stage()
    clock = iter(range(1_000, 2_000)).__next__
    with Journal.open(tmp_path / "j", fsync="never") as j:
        wa = WriteAhead(j.appender, stage.on_event, clock, 41, 3)
        mark = ev.make(ev.EventType.QUOTE, venue_id=1, instrument_id=1, bid_px_e8=5, ask_px_e8=6,
                       ts_receive_ns=777)
        assert wa.feed(mark.tobytes()) is None and wa.seq == 42
        intent = ev.make(ev.EventType.ORDER_INTENT, cl_ord_id=9, venue_id=1, instrument_id=1, qty_e2=100,
                         price_e8=5, action=ev.IntentAction.NEW, side=ev.Side.BUY)
        outputs, out_raw = wa.feed(bytearray(intent.tobytes()))
        assert wa.seq == 43 and len(outputs) == 2 and out_raw[0] == out_raw[1] == outputs[1]
        timer = ev.make(ev.EventType.TIMER)
        assert wa.feed(timer) is None                     # a record is taken too
    got = records(tmp_path / "j")
    assert [(r[1], r[2], r[3]) for r in got] == [
        (ev.EventType.QUOTE, L.FLAG_INPUT, 3), (ev.EventType.ORDER_INTENT, L.FLAG_INPUT, 3),
        (ev.EventType.ORDER_UPDATE, L.FLAG_OUTPUT, 3), (ev.EventType.ORDER_UPDATE, L.FLAG_OUTPUT, 3),
        (ev.EventType.TIMER, L.FLAG_INPUT, 3)]
    inputs = [ev.read(bytearray(r[5])) for r in got if r[2] == L.FLAG_INPUT]
    assert [int(e["sequence"]) for e in inputs] == [42, 43, 44]
    # a receive time is kept; none is stamped from the clock, and the record's time is it
    assert [int(e["ts_receive_ns"]) for e in inputs] == [777, 1_000, 1_001]
    assert [r[4] for r in got] == [777, 1_000, 1_000, 1_000, 1_001]
    # the stage saw exactly what was journaled
    assert stage.seen == [r[5] for r in got if r[2] == L.FLAG_INPUT]


def test_what_is_not_one_event_is_refused_before_anything_is_written(tmp_path):
    stage = Stage()
    with Journal.open(tmp_path / "j", fsync="never") as j:
        wa = WriteAhead(j.appender, stage.on_event, lambda: 1, 0, 1)
        with pytest.raises(ValueError, match="an event is 192 bytes, got 100"):
            wa.feed(bytes(100))
        bogus = bytearray(ev.make(ev.EventType.TIMER).tobytes())
        bogus[0:2] = (0xFF00).to_bytes(2, "little")
        with pytest.raises(ValueError, match="event type 65280 is not an event"):
            wa.feed(bogus)
        with pytest.raises(ValueError, match="is not an event"):
            wa.feed(bytes(192))
        with pytest.raises(TypeError):
            wa.feed("an event")
        assert wa.seq == 0
    assert records(tmp_path / "j") == [] and stage.seen == []
    with Journal.open(tmp_path / "k") as k, pytest.raises(ValueError, match="stage_id"):
        WriteAhead(k.appender, stage.on_event, lambda: 1, 0, 256)


def test_an_input_the_stage_fails_on_stays_journaled_and_keeps_its_number(tmp_path):
    """Write-ahead: the journal has the input whatever the stage does with it (recovery replays
    it), and the next input does not reuse its number."""
    def failing(data):
        raise RuntimeError("the stage broke")
    with Journal.open(tmp_path / "j", fsync="never") as j:
        wa = WriteAhead(j.appender, failing, lambda: 5, 0, 1)
        with pytest.raises(RuntimeError, match="the stage broke"):
            wa.feed(ev.make(ev.EventType.TIMER))
        assert wa.seq == 1
    (rec,) = records(tmp_path / "j")
    assert rec[1] == ev.EventType.TIMER and int(ev.read(bytearray(rec[5]))["sequence"]) == 1


def test_a_stage_with_a_c_path_is_asked_there_first_and_its_bytes_are_journaled_as_made(tmp_path):
    """first(bytes, 0) answers what it covers (its outputs, bytearrays kept as the same objects
    in both lists, or [] for nothing); on_event gets only what first hands back with None."""
    stage = Stage()
    asked: list[bytes] = []

    def first(data, seq):
        assert type(data) is bytes and seq == 0
        asked.append(data)
        t = data[0] | data[1] << 8
        if t == ev.EventType.QUOTE:
            return []
        if t == ev.EventType.ORDER_INTENT:
            return [bytearray(ev.make(ev.EventType.ORDER_UPDATE, cl_ord_id=5).tobytes())]
        return None
    with Journal.open(tmp_path / "j", fsync="never") as j:
        wa = WriteAhead(j.appender, stage.on_event, iter(range(1, 100)).__next__, 0, 2, first=first)
        assert wa.feed(ev.make(ev.EventType.QUOTE, venue_id=1, instrument_id=1)) is None
        intent = ev.make(ev.EventType.ORDER_INTENT, cl_ord_id=5, venue_id=1, instrument_id=1, qty_e2=1,
                         price_e8=1, action=ev.IntentAction.NEW, side=ev.Side.BUY)
        outputs, out_raw = wa.feed(intent)
        assert type(outputs[0]) is bytearray and out_raw[0] is outputs[0]
        assert wa.feed(ev.make(ev.EventType.TIMER)) is None
        assert wa.seq == 3
    assert len(asked) == 3
    assert [d[0] | d[1] << 8 for d in stage.seen] == [ev.EventType.TIMER]      # only what first handed back
    got = records(tmp_path / "j")
    assert [(r[1], r[2]) for r in got] == [
        (ev.EventType.QUOTE, L.FLAG_INPUT), (ev.EventType.ORDER_INTENT, L.FLAG_INPUT),
        (ev.EventType.ORDER_UPDATE, L.FLAG_OUTPUT), (ev.EventType.TIMER, L.FLAG_INPUT)]
    assert got[2][5] == bytes(outputs[0])


def test_the_stage_c_path_is_called_in_c_and_does_what_the_python_call_does(tmp_path):
    """Given the oms stage's own C path (OmsStage.c_path), the step calls it without going
    through Python; given any other callable (here one that wraps it), through Python. Both
    journal the same records and hand back the same outputs."""
    from pathlib import Path

    from fxpipe.oms.stage import OmsStage

    root = Path(__file__).resolve().parents[2]
    refdata, limits = (root / "config" / "refdata.toml").read_text(), (root / "config" / "risk.toml").read_text()

    def run(directory, wrap: bool):
        stage = OmsStage(refdata, limits, prefix=3)
        first = (lambda raw, seq: stage.c_path(raw, seq)) if wrap else stage.c_path
        outs = []
        with Journal.open(directory, fsync="never") as j:
            wa = WriteAhead(j.appender, stage.python_path, iter(range(1, 1000)).__next__, 0, 2, first=first)
            assert (wa.core is None) == wrap
            for k in range(20):
                px = 1_085_000_00 + k * 1000
                wa.feed(ev.make(ev.EventType.QUOTE, instrument_id=1, venue_id=1, bid_px_e8=px - 1000,
                                ask_px_e8=px + 1000, bid_qty_e2=100_000_000, ask_qty_e2=100_000_000,
                                quote_cond=ev.QuoteCondition.FIRM, ts_receive_ns=1_700_000_000_000_000_000 + k))
                fed = wa.feed(ev.make(ev.EventType.ORDER_INTENT, venue_id=1, instrument_id=1, qty_e2=100_000_00,
                                      price_e8=px, action=ev.IntentAction.NEW, side=ev.Side.BUY, strategy_id=7,
                                      ord_type=ev.OrdType.LIMIT, ts_receive_ns=1_700_000_000_000_000_100 + k))
                outs.append([bytes(b) for b in fed[1]] if fed else None)
        return outs, [r[1:] for r in records(directory)]

    c_outs, c_journal = run(tmp_path / "c", wrap=False)
    py_outs, py_journal = run(tmp_path / "py", wrap=True)
    assert c_outs == py_outs and c_journal == py_journal
    assert sum(1 for o in c_outs if o) == 20
