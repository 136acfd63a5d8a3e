"""The journal with fxpipe.model events: every event type round-trips bit for bit (iterator and
numpy views), `show` prints them readably, and `export` (CSV and Parquet, by time range, type,
instrument and sequence) writes exactly the events that were written, field by field."""
import subprocess
import sys

import jtestdata as d
import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from fxpipe.journal import Journal, JournalReader
from fxpipe.journal.export import Selection, export
from fxpipe.journal.fields import column, flat_fields
from fxpipe.journal.timefmt import format_time_ns
from fxpipe.model import events as ev
from fxpipe.model.numbers import format_decimal

TYPES = list(ev.EventType)


@pytest.fixture
def written(tmp_path):
    """A journal of every event type, interleaved in runs, across several segments."""
    per_type = {t: d.model_events(t, 300, seed=int(t)) for t in TYPES}
    order = []
    with Journal.open(tmp_path / "j", segment_size=1 << 16, fsync="never", index_every=64) as j:
        for start in range(0, 300, 50):
            for t in TYPES:
                run = per_type[t][start:start + 50]
                first = j.append_events(run)
                order += [(t, start + i, first + i) for i in range(len(run))]
    return tmp_path / "j", per_type, order


@pytest.mark.parametrize("etype", TYPES, ids=[t.name for t in TYPES])
def test_every_event_type_round_trips_bit_for_bit(written, etype):
    jdir, per_type, order = written
    want = per_type[etype]
    with JournalReader(jdir) as r:
        arr = r.array(int(etype))
        assert arr.dtype["event"] == ev.dtype_for(etype)
        rows = np.ascontiguousarray(arr).view(np.uint8).reshape(len(arr), -1) if len(arr) else None
        assert rows.shape == (300, 32 + ev.SLOT_SIZE)
        assert rows[:, 32:].tobytes() == want.tobytes()  # every byte, pads included
        assert np.array_equal(arr["hdr"]["ts_ns"], want["ts_receive_ns"])
        recs = list(r.records(types=[int(etype)]))
    assert b"".join(bytes(x.payload) for x in recs) == want.tobytes()
    seqs = [s for t, _, s in order if t == etype]
    assert [x.seq for x in recs] == seqs


def test_show_prints_events_readably(written):
    jdir, per_type, _ = written
    r = subprocess.run([sys.executable, "-m", "fxpipe", "journal", "show", str(jdir), "--type", "quote",
                        "-n", "3"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 3
    q = per_type[ev.EventType.QUOTE][0]
    assert "QUOTE" in lines[0] and format_time_ns(int(q["ts_receive_ns"])) in lines[0]
    assert f"bid_px_e8={format_decimal(int(q['bid_px_e8']), 8)} " in lines[0]


def _expected(per_type, order, etype, sel):
    rows = [(i, s) for t, i, s in order if t == etype]
    src = per_type[etype]
    keep = []
    for i, s in rows:
        ts = int(src["ts_receive_ns"][i])
        if sel.start_ts is not None and ts < sel.start_ts:
            continue
        if sel.end_ts is not None and ts >= sel.end_ts:
            continue
        if sel.instruments is not None and int(src["instrument_id"][i]) not in sel.instruments:
            continue
        if sel.start_seq is not None and s < sel.start_seq:
            continue
        if sel.end_seq is not None and s > sel.end_seq:
            continue
        keep.append((i, s))
    return src[[i for i, _ in keep]], [s for _, s in keep]


def _check_table(table, want, seqs):
    assert table.column("j_seq").to_pylist() == seqs
    assert table.column("j_ts_ns").to_pylist() == want["ts_receive_ns"].tolist()
    for name, path in flat_fields(want.dtype):
        got = table.column(name).to_pylist()
        assert got == column(want, path).tolist(), name
    assert not any(c.startswith("_") for c in table.column_names)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("etype", TYPES, ids=[t.name for t in TYPES])
def test_export_of_every_type_matches_what_was_written(written, tmp_path, fmt, etype):
    jdir, per_type, order = written
    sel = Selection(types=[int(etype)])
    out = tmp_path / f"out.{fmt}"
    res = export(jdir, out, fmt, sel)
    assert list(res.values())[0] == (out, 300)
    table = pacsv.read_csv(out) if fmt == "csv" else pq.read_table(out)
    _check_table(table, *_expected(per_type, order, etype, sel))


@pytest.mark.parametrize("sel", [
    Selection(types=[1], start_ts=d.T0 + 40_000_000, end_ts=d.T0 + 170_000_000),
    Selection(types=[1, 4], instruments=[2]),
    Selection(types=[3], instruments=[1, 3], start_ts=d.T0 + 100_000_000),
    Selection(types=[1], start_seq=500, end_seq=2000),
], ids=["time", "instrument", "instrument+time", "sequence"])
def test_export_selection_matches_the_same_selection_of_the_written_events(written, tmp_path, sel):
    jdir, per_type, order = written
    res = export(jdir, tmp_path / "out", "parquet", sel)
    assert len(res) == len(sel.types)
    for etype in sel.types:
        path, rows = res[ev.EventType(etype).name]
        want, seqs = _expected(per_type, order, ev.EventType(etype), sel)
        assert rows == len(want) > 0
        _check_table(pq.read_table(path), want, seqs)


def test_export_cli_all_types_to_a_directory(written, tmp_path):
    jdir, per_type, order = written
    r = subprocess.run([sys.executable, "-m", "fxpipe", "journal", "export", str(jdir), "--format", "csv",
                        "-o", str(tmp_path / "all"), "--instrument", "2",
                        "--from", format_time_ns(d.T0 + 50_000_000)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    sel = Selection(instruments=[2], start_ts=d.T0 + 50_000_000)
    for etype in TYPES:
        want, seqs = _expected(per_type, order, etype, sel)
        _check_table(pacsv.read_csv(tmp_path / "all" / f"{etype.name}.csv"), want, seqs)


def test_export_cli_takes_an_instrument_symbol_from_the_reference_data(written, tmp_path):
    jdir, per_type, order = written
    r = subprocess.run([sys.executable, "-m", "fxpipe", "journal", "export", str(jdir), "--format", "parquet",
                        "-o", str(tmp_path / "q.parquet"), "--type", "QUOTE", "--instrument", "GBP/USD"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    want, seqs = _expected(per_type, order, ev.EventType.QUOTE, Selection(instruments=[2]))
    _check_table(pq.read_table(tmp_path / "q.parquet"), want, seqs)


@pytest.mark.parametrize("args,match", [
    (["--type", "nosuch"], "unknown record type"),
    (["--instrument", "XAU/XAG"], "unknown instrument"),
    (["--from", "yesterday"], "cannot read time"),
    (["--format", "xml"], "invalid choice"),
])
def test_export_cli_bad_arguments_are_clear_errors(written, tmp_path, args, match):
    jdir, _, _ = written
    r = subprocess.run([sys.executable, "-m", "fxpipe", "journal", "export", str(jdir), "-o",
                        str(tmp_path / "x"), *args], capture_output=True, text=True)
    assert r.returncode == 2 and match in r.stderr
    assert not (tmp_path / "x").exists()


def test_export_by_instrument_of_a_type_without_layout_is_refused(tmp_path):
    with Journal.open(tmp_path / "j", segment_size=1 << 16, fsync="never") as j:
        j.append(500, b"opaque", 1)
    r = subprocess.run([sys.executable, "-m", "fxpipe", "journal", "export", str(tmp_path / "j"), "-o",
                        str(tmp_path / "x.csv"), "--format", "csv", "--instrument", "1"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "no instrument field" in r.stderr


def test_opaque_records_export_as_hex(tmp_path):
    with Journal.open(tmp_path / "j", segment_size=1 << 16, fsync="never") as j:
        for i in range(20):
            j.append(500, bytes([i]) * (i % 5), 1000 + i)
    export(tmp_path / "j", tmp_path / "x.csv", "csv", Selection(start_ts=1005))
    t = pacsv.read_csv(tmp_path / "x.csv", convert_options=pacsv.ConvertOptions(
        column_types={"payload_hex": "string"}))
    assert t.column("j_seq").to_pylist() == list(range(6, 21))
    assert t.column("payload_hex").to_pylist() == [(bytes([i]) * (i % 5)).hex() for i in range(5, 20)]


def test_append_events_refuses_non_events(tmp_path):
    with Journal.open(tmp_path / "j", segment_size=1 << 16, fsync="never") as j:
        with pytest.raises(ValueError, match="event records"):
            j.append_events(np.zeros(3, dtype=[("a", "<i8")]))
        with pytest.raises(ValueError, match="C-contiguous"):
            j.append_events(ev.empty(ev.EventType.QUOTE, 6)[::2])
        assert j.append_events(ev.empty(ev.EventType.QUOTE, 0)) == -1
        assert j.next_seq == 1


def test_a_batch_of_mixed_types_is_one_record_each_typed_and_stamped_by_its_own_slot(tmp_path):
    kinds = [ev.EventType.ORDER_UPDATE, ev.EventType.FILL, ev.EventType.POSITION_UPDATE, ev.EventType.PNL,
             ev.EventType.ORDER_UPDATE, ev.EventType.QUOTE]
    events = [d.model_events(t, 1, seed=k)[0] for k, t in enumerate(kinds)]
    slots = np.concatenate([np.frombuffer(e.tobytes(), dtype=np.uint8) for e in events]).reshape(-1, ev.SLOT_SIZE)
    batch = slots.view(ev.dtype_for(ev.EventType.QUOTE)).ravel()      # as a ring hands a batch over
    with Journal.open(tmp_path / "j", segment_size=1 << 16, fsync="never") as j:
        assert j.append_events(batch) == 1
    with JournalReader(tmp_path / "j") as r:
        recs = list(r.records())
    assert [x.type for x in recs] == [int(t) for t in kinds]
    assert [bytes(x.payload) for x in recs] == [e.tobytes() for e in events]
    assert [x.ts_ns for x in recs] == [int(e["ts_receive_ns"]) for e in events]


def test_a_batch_with_one_slot_of_no_known_type_writes_nothing(tmp_path):
    slots = np.concatenate([np.frombuffer(d.model_events(ev.EventType.FILL, 3, seed=1).tobytes(), dtype=np.uint8)])
    slots = slots.reshape(-1, ev.SLOT_SIZE).copy()
    slots[2, :2] = 0xFF                                       # type 65535: reserved
    with Journal.open(tmp_path / "j", segment_size=1 << 16, fsync="never") as j:
        with pytest.raises(ValueError, match="row 2: record type 65535.*nothing of this batch was written"):
            j.append_events(slots.view(ev.dtype_for(ev.EventType.FILL)).ravel())
        assert j.next_seq == 1
