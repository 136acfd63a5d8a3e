"""Backtest: the decision stage (the same strategy classes as live) over recorded quotes, with a
simulated venue in place of the oms and its sessions.

Quotes come from a journal (every Quote record that was an input or a ring event, not a
stage's output) or a CSV with the header
`ts_ns,venue_id,instrument_id,bid_px_e8,bid_qty_e2,ask_px_e8,ask_qty_e2` (exact integers).
The simulated venue answers each intent at the event time of the quote that caused it:
- an IOC limit fills against the venue's current top of book up to the quoted size, at the
  quote's price, and the rest is canceled (as an ECN does);
- a DAY/GTC limit is acknowledged and rests; it fills in full at its own price when a later
  quote of its venue trades through it (the conservative queue model: only when the market
  crosses the order, never at the touch);
- cancel and replace act on open orders; on an order already done, a cancel reject.
Cash and positions are exact integers: cash in e10 (qty_e2 × price_e8), marked at the last mid.
"""
from __future__ import annotations

import csv
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np

import fxpipe.model.events as ev
from fxpipe.model.packing import fields_reader, packer
from fxpipe.oms.stagecore import record_of
from fxpipe.stages.decision import DecisionStage
from fxpipe.stages.quotes import top_of

CSV_FIELDS = ("ts_ns", "venue_id", "instrument_id", "bid_px_e8", "bid_qty_e2", "ask_px_e8", "ask_qty_e2")


class BacktestError(ValueError):
    """The input cannot be backtested (says which line or record, and why)."""


@dataclass
class _Resting:
    cl_ord_id: int
    strategy_id: int
    venue_id: int
    instrument_id: int
    side: int
    qty_e2: int
    price_e8: int
    cum_qty_e2: int = 0


@dataclass
class BacktestResult:
    quotes: int = 0
    intents: int = 0
    orders: int = 0
    fills: int = 0
    cancels: int = 0
    rejects: int = 0
    positions: dict[tuple[int, int], int] = field(default_factory=dict)   # (strategy, instrument) -> qty_e2
    cash_e10: dict[tuple[int, int], int] = field(default_factory=dict)    # quote-ccy cash, e10
    last_mid_e8: dict[int, int] = field(default_factory=dict)
    state_hash: bytes = b""

    def pnl_e10(self, strategy_id: int, instrument_id: int) -> int:
        key = (strategy_id, instrument_id)
        return self.cash_e10.get(key, 0) + self.positions.get(key, 0) * self.last_mid_e8.get(instrument_id, 0)

    def summary(self) -> str:
        lines = [f"quotes {self.quotes}, intents {self.intents}, orders {self.orders}, fills {self.fills}, "
                 f"cancels {self.cancels}, rejects {self.rejects}"]
        for (sid, instr), qty in sorted(self.positions.items()):
            pnl = Decimal(self.pnl_e10(sid, instr)).scaleb(-10)
            lines.append(f"  strategy {sid} instrument {instr}: position {Decimal(qty).scaleb(-2)} (base), "
                         f"PnL {pnl} (quote ccy, marked at mid {Decimal(self.last_mid_e8.get(instr, 0)).scaleb(-8)})")
        lines.append(f"  decision state hash {self.state_hash.hex()}")
        return "\n".join(lines)


class _Maker:
    """Events of one type made from named integer fields (and one text field) through a struct,
    as records over a slab (fxpipe.oms.stagecore.record_of): ~2 us an event where ev.make costs
    ~10, and a backtest's venue makes one or two per intent."""

    def __init__(self, event_type: int, names: tuple[str, ...], text: str | None = None):
        dt = ev.dtype_for(event_type)
        self.order = ("type", *sorted(names, key=lambda n: dt.fields[n][1]))
        self.struct = packer(event_type, self.order, whole=True)
        self.type = int(event_type)
        self.text_at = dt.fields[text][1] if text else -1
        self.text_len = dt.fields[text][0].itemsize if text else 0

    def make(self, text: bytes = b"", **values: int) -> np.void:
        values["type"] = self.type
        buf = bytearray(self.struct.pack(*[values[n] for n in self.order]))
        if text:
            if len(text) > self.text_len:
                raise ValueError(f"{text!r} is longer than its field ({self.text_len} bytes)")
            buf[self.text_at:self.text_at + len(text)] = text
        return record_of(buf)


_FILL_MAKER_FIELDS = ("cl_ord_id", "venue_id", "instrument_id", "strategy_id", "side", "last_qty_e2", "last_px_e8",
                      "exec_trans_type", "ts_receive_ns")
_UPDATE_MAKER_FIELDS = ("cl_ord_id", "orig_cl_ord_id", "strategy_id", "venue_id", "instrument_id", "order_qty_e2",
                        "price_e8", "cum_qty_e2", "leaves_qty_e2", "ord_status", "exec_type", "side", "report_kind",
                        "ts_receive_ns")
_FILL = _Maker(ev.EventType.FILL, _FILL_MAKER_FIELDS, text="exec_id")
_UPDATE = _Maker(ev.EventType.ORDER_UPDATE, _UPDATE_MAKER_FIELDS)
_EXEC_TRANS_NEW = int(ev.ExecTransType.NEW)
_EXECUTION = int(ev.ReportKind.EXECUTION)
_INTENT, _FILL_T, _UPDATE_T = int(ev.EventType.ORDER_INTENT), int(ev.EventType.FILL), int(ev.EventType.ORDER_UPDATE)
_NEW, _CANCEL = int(ev.IntentAction.NEW), int(ev.IntentAction.CANCEL)
_IOC, _FOK, _BUY = int(ev.TimeInForce.IOC), int(ev.TimeInForce.FOK), int(ev.Side.BUY)
_REJECTED = int(ev.OrdStatus.REJECTED)
_ACTION_AT = ev.dtype_for(_INTENT).fields["action"][1]
_ORD_STATUS_AT = ev.dtype_for(_UPDATE_T).fields["ord_status"][1]
_INTENT_FIELDS = fields_reader(_INTENT, "action", "cl_ord_id", "orig_cl_ord_id", "strategy_id", "venue_id",
                               "instrument_id", "side", "qty_e2", "price_e8", "time_in_force")
_BOOKED_FIELDS = fields_reader(_FILL_T, "strategy_id", "instrument_id", "side", "last_qty_e2", "last_px_e8")


class SimVenue:
    def __init__(self) -> None:
        self.resting: dict[int, _Resting] = {}
        self.tops: dict[tuple[int, int], tuple[int, int, int, int]] = {}   # (venue, instr) -> bid, bq, ask, aq
        self.exec_no = 0

    def on_quote(self, q: np.void, now: int) -> list[np.void]:
        return self.on_top(int(q["venue_id"]), int(q["instrument_id"]), int(q["bid_px_e8"]), int(q["bid_qty_e2"]),
                           int(q["ask_px_e8"]), int(q["ask_qty_e2"]), now)

    def on_top(self, venue_id: int, instrument_id: int, bid: int, bq: int, ask: int, aq: int,
               now: int) -> list[np.void]:
        """on_quote() of a top of book given as its numbers."""
        key = (venue_id, instrument_id)
        self.tops[key] = (bid, bq, ask, aq)
        out: list[np.void] = []
        if not self.resting:
            return out
        for cl in sorted(self.resting):
            o = self.resting[cl]
            if (o.venue_id, o.instrument_id) != key:
                continue
            through = (o.side == ev.Side.BUY and aq and ask < o.price_e8) or \
                      (o.side == ev.Side.SELL and bq and bid > o.price_e8)
            if through:
                out += self._fill(o, o.qty_e2 - o.cum_qty_e2, o.price_e8, now)
                del self.resting[cl]
        return out

    def on_intent(self, it: np.void | bytes | bytearray, now: int) -> list[np.void]:
        """The venue's answer to an OrderIntent (its record or its bytes)."""
        raw = it if isinstance(it, bytes | bytearray) else it.tobytes()
        action, cl, orig_cl, sid, venue, instr, side, qty, px, tif = _INTENT_FIELDS(raw)
        if action == _NEW:
            o = _Resting(cl, sid, venue, instr, side, qty, px)
            if tif == _IOC or tif == _FOK:
                return self._take(o, tif, now)
            self.resting[cl] = o
            return [self._update(o, ev.OrdStatus.NEW, ev.ExecType.NEW, now)]
        orig = self.resting.get(orig_cl)
        if orig is None:
            u = _UPDATE.make(cl_ord_id=cl, orig_cl_ord_id=orig_cl, strategy_id=sid, venue_id=0, instrument_id=0,
                             order_qty_e2=0, price_e8=0, cum_qty_e2=0, leaves_qty_e2=0,
                             ord_status=int(ev.OrdStatus.REJECTED), exec_type=int(ev.ExecType.REJECTED), side=0,
                             report_kind=int(ev.ReportKind.CANCEL_REJECT), ts_receive_ns=now)
            return [u]
        del self.resting[orig.cl_ord_id]
        if action == _CANCEL:
            return [self._update(orig, ev.OrdStatus.CANCELED, ev.ExecType.CANCELED, now)]
        new = _Resting(cl, orig.strategy_id, orig.venue_id, orig.instrument_id, orig.side, qty, px, orig.cum_qty_e2)
        if new.cum_qty_e2 >= new.qty_e2:    # replaced down to what is already filled: done
            return [self._update(new, ev.OrdStatus.FILLED, ev.ExecType.REPLACE, now, orig.cl_ord_id)]
        self.resting[cl] = new
        return [self._update(new, ev.OrdStatus.NEW, ev.ExecType.REPLACE, now, orig.cl_ord_id)]

    def _take(self, o: _Resting, tif: int, now: int) -> list[np.void]:
        top = self.tops.get((o.venue_id, o.instrument_id))
        avail, px = 0, 0
        if top is not None:
            bid, bq, ask, aq = top
            if o.side == ev.Side.BUY and aq and ask <= o.price_e8:
                avail, px = aq, ask
            elif o.side == ev.Side.SELL and bq and bid >= o.price_e8:
                avail, px = bq, bid
        qty = min(avail, o.qty_e2)
        if tif == ev.TimeInForce.FOK and qty < o.qty_e2:
            qty = 0
        out = self._fill(o, qty, px, now) if qty else []
        if o.cum_qty_e2 < o.qty_e2:
            out.append(self._update(o, ev.OrdStatus.CANCELED, ev.ExecType.CANCELED, now))
        return out

    def _fill(self, o: _Resting, qty: int, px: int, now: int) -> list[np.void]:
        o.cum_qty_e2 += qty
        self.exec_no += 1
        f = _FILL.make(cl_ord_id=o.cl_ord_id, venue_id=o.venue_id, instrument_id=o.instrument_id,
                       strategy_id=o.strategy_id, side=o.side, last_qty_e2=qty, last_px_e8=px,
                       exec_trans_type=_EXEC_TRANS_NEW, ts_receive_ns=now, text=b"BT%d" % self.exec_no)
        done = o.cum_qty_e2 >= o.qty_e2
        u = self._update(o, ev.OrdStatus.FILLED if done else ev.OrdStatus.PARTIALLY_FILLED,
                         ev.ExecType.FILL if done else ev.ExecType.PARTIAL_FILL, now)
        return [f, u]

    @staticmethod
    def _update(o: _Resting, status: int, exec_type: int, now: int, orig: int = 0) -> np.void:
        leaves = 0 if status in (ev.OrdStatus.FILLED, ev.OrdStatus.CANCELED) else o.qty_e2 - o.cum_qty_e2
        return _UPDATE.make(cl_ord_id=o.cl_ord_id, orig_cl_ord_id=orig, strategy_id=o.strategy_id,
                            venue_id=o.venue_id, instrument_id=o.instrument_id, order_qty_e2=o.qty_e2,
                            price_e8=o.price_e8, cum_qty_e2=o.cum_qty_e2, leaves_qty_e2=leaves, ord_status=status,
                            exec_type=exec_type, side=o.side, report_kind=_EXECUTION, ts_receive_ns=now)


def quotes_from_csv(path) -> Iterator[bytes]:
    """Each row's Quote event, as its bytes, in file order (sequence = the row's number). The
    file is parsed in bulk (pyarrow) when every field is a plain integer in range; anything
    else is read row by row, which names the first row that is not."""
    quotes = _csv_in_bulk(path)
    if quotes is None:
        yield from _csv_row_by_row(path)
        return
    yield from _each_event(quotes.tobytes(), quotes.dtype.itemsize, 0, quotes.dtype.itemsize)


def _csv_in_bulk(path) -> np.ndarray | None:
    """The CSV's Quote events, or None where the bulk parser does not take the file as it
    stands (a missing column, a field that is not a plain integer, a value out of range): the
    row-by-row reader then says what is wrong, or takes what it accepts that this does not."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
            column_types={f: pa.int64() for f in CSV_FIELDS}, include_columns=list(CSV_FIELDS)))
    except (pa.ArrowInvalid, pa.ArrowTypeError, KeyError):
        return None
    cols = {f: table.column(f) for f in CSV_FIELDS}
    if any(c.null_count for c in cols.values()):
        return None
    vals = {f: c.to_numpy() for f, c in cols.items()}
    q = ev.empty(ev.EventType.QUOTE, table.num_rows)
    for f in CSV_FIELDS:
        target = "ts_receive_ns" if f == "ts_ns" else f
        info = np.iinfo(q.dtype[target])
        v = vals[f]
        if len(v) and (v.min() < info.min or v.max() > info.max):
            return None
        q[target] = v
    q["sequence"] = np.arange(1, table.num_rows + 1)
    return q


def _csv_row_by_row(path) -> Iterator[bytes]:
    with open(path, newline="") as fh:
        rows = csv.DictReader(fh)
        missing = [f for f in CSV_FIELDS if f not in (rows.fieldnames or [])]
        if missing:
            raise BacktestError(f"{path}: header lacks {', '.join(missing)} (need {','.join(CSV_FIELDS)})")
        for n, row in enumerate(rows, start=2):
            try:
                vals = {f: int(row[f]) for f in CSV_FIELDS}
            except (TypeError, ValueError):
                raise BacktestError(f"{path} line {n}: every field must be an integer "
                                    f"(prices in e8, quantities in e2): {row}") from None
            q = ev.empty(ev.EventType.QUOTE, 1)[0]
            q["ts_receive_ns"] = vals.pop("ts_ns")
            q["sequence"] = n - 1
            for k, v in vals.items():
                try:
                    q[k] = v
                except OverflowError:
                    raise BacktestError(f"{path} line {n}: {k} = {v} is out of its field's range") from None
            yield q.tobytes()


def quotes_from_journal(directory) -> Iterator[bytes]:
    """The journal's Quote events that were inputs (not a stage's output, not fxpipe's own
    synthetic composite), as their bytes, in sequence order: read a segment at a time through
    the journal's numpy views (the records' checksums verified as the reader does)."""
    from fxpipe.journal import JournalReader
    from fxpipe.journal import layout as L
    from fxpipe.journal.errors import JournalError

    dt = ev.dtype_for(ev.EventType.QUOTE)
    with JournalReader(directory) as reader:
        try:
            views = reader.views(ev.EventType.QUOTE, dt)
        except JournalError:
            # quote records of another length (another layout): the ones of ours, one by one
            for rec in reader.records(types=[ev.EventType.QUOTE]):
                if not rec.flags & L.FLAG_OUTPUT and len(rec.payload) == dt.itemsize:
                    raw = bytes(rec.payload)
                    if not (raw[2] | raw[3] << 8) & ev.EventFlag.SYNTHETIC:
                        yield raw
            return
        for v in views:
            a = v.array
            keep = (a["hdr"]["flags"] & L.FLAG_OUTPUT) == 0
            keep &= (a["event"]["flags"] & int(ev.EventFlag.SYNTHETIC)) == 0
            # the records' bytes as they lie (a copy of the typed array would not carry the
            # event's padding bytes: numpy copies a structured item field by field)
            kept = a.view(np.dtype((np.void, a.dtype.itemsize)))[keep]
            yield from _each_event(kept.tobytes(), a.dtype.itemsize, L.RECORD_HEADER_SIZE, dt.itemsize)


def _each_event(buf: bytes, stride: int, at: int, size: int) -> Iterator[bytes]:
    """The size-byte event at offset `at` of each stride-byte item of buf."""
    for start in range(at, len(buf), stride):
        yield buf[start:start + size]


def run_backtest(stage: DecisionStage, quotes: Iterable[np.void | bytes | bytearray]) -> BacktestResult:
    """quotes: Quote records, or their bytes (read in C, once for the simulated venue and once for
    the decision stage: the per-quote path costs what the strategy costs, not field reads)."""
    bytes_out, stage.bytes_out = stage.bytes_out, True
    try:
        return _run(stage, quotes)
    finally:
        stage.bytes_out = bytes_out


def _run(stage: DecisionStage, quotes: Iterable[np.void | bytes | bytearray]) -> BacktestResult:
    venue = SimVenue()
    res = BacktestResult()
    last_ts = -1
    for q in quotes:
        raw = q if isinstance(q, bytes | bytearray) else q.tobytes()
        try:
            seq, now, venue_id, instr, bid, bq, ask, aq = top_of(raw)
        except ValueError:
            _not_a_quote(raw)
            raise
        if now < last_ts:
            raise BacktestError(f"quote {seq} goes back in time ({now} < {last_ts}): sort the input")
        last_ts = now
        res.quotes += 1
        if bq and aq:
            res.last_mid_e8[instr] = (bid + ask) // 2
        # the venue's fills of resting orders first, then the quote, then what they all caused
        queue: list = venue.on_top(venue_id, instr, bid, bq, ask, aq, now)
        if not queue:
            queue = stage.on_quote_bytes(raw)
            if not queue:
                continue
        else:
            queue.append(None)
        while queue:
            e = queue.pop(0)
            if e is None:
                queue.extend(stage.on_quote_bytes(raw))
                continue
            # every event as its bytes once: the strategies' intents come so (bytes_out), the
            # venue's reports and the stage's own events are records
            b = e if type(e) is bytearray else e.tobytes()
            t = b[0] | b[1] << 8
            if t == _INTENT:
                res.intents += 1
                res.orders += b[_ACTION_AT] == _NEW
                res.cancels += b[_ACTION_AT] == _CANCEL
                queue.extend(venue.on_intent(b, now))
                continue
            if t == _FILL_T:
                _book_fill(res, b)
            elif t == _UPDATE_T and b[_ORD_STATUS_AT] == _REJECTED:
                res.rejects += 1
            queue.extend(stage.on_event(b))
    res.state_hash = stage.state_hash()
    return res


def _not_a_quote(raw: bytes | bytearray) -> None:
    """Raises the BacktestError that says why raw is not a Quote event (when it says more than
    the reader's ValueError)."""
    if len(raw) == ev.SLOT_SIZE:
        t, seq = struct.unpack_from("<H6xq", raw)
        if t != ev.EventType.QUOTE:
            name = ev.EventType(t).name if t in ev.EventType._value2member_map_ else f"type {t}"
            raise BacktestError(f"event {seq} is a {name}, not a Quote: a backtest takes quotes")
    else:
        raise BacktestError(f"a backtest takes Quote events of {ev.SLOT_SIZE} bytes, got {len(raw)} bytes")


def _book_fill(res: BacktestResult, raw: bytes | bytearray) -> None:
    res.fills += 1
    sid, instr, side, qty, px = _BOOKED_FIELDS(raw)
    key = (sid, instr)
    sign = 1 if side == _BUY else -1
    res.positions[key] = res.positions.get(key, 0) + sign * qty
    res.cash_e10[key] = res.cash_e10.get(key, 0) - sign * qty * px


def backtest_file(path, strategies: list[dict]) -> BacktestResult:
    p = Path(path)
    quotes = quotes_from_journal(p) if p.is_dir() else quotes_from_csv(p)
    return run_backtest(DecisionStage(strategies), quotes)
