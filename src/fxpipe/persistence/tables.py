"""The QuestDB tables the sink writes: one per event type, derived from the event layouts.

Every column comes from a field of the event's numpy dtype (fxpipe.model.events), so a new
field reaches QuestDB without a change here:

- `venue_id` / `*instrument_id` become SYMBOL columns holding the name from the reference data
  (`venue`, `instrument`, ...; an id the reference data lacks is written as its number);
- enum fields (`side`, `ord_status`, `hop`, ...) become SYMBOLs holding the member's name;
- currency codes (`*ccy`) are SYMBOLs, other text (`exec_id`, `order_id`) VARCHAR;
- every other integer, scaled prices, quantities and money included, is a LONG with the exact
  scaled value (`bid_px_e8`): nothing is turned into a float on the way.

Each row also carries `journal_seq` (the record's journal sequence), `journal` (the journal's
id, so several journals can feed one table) and the designated timestamp `ts`: the event's
`ts_venue_ns`, else its `ts_receive_ns`, else the journal record's own timestamp. QuestDB keeps
`ts` in microseconds; the exact nanosecond stamps stay in the LONG `ts_*_ns` columns.
Tables are WAL tables deduplicated on (ts, journal_seq, journal), so a row sent twice is
stored once.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

import numpy as np

import fxpipe.model.events as ev
from fxpipe.model.refdata import RefData

TABLE_NAMES: dict[ev.EventType, str] = {
    ev.EventType.QUOTE: "quotes",
    ev.EventType.ORDER_INTENT: "orders",
    ev.EventType.ORDER_UPDATE: "order_updates",
    ev.EventType.FILL: "fills",
    ev.EventType.POSITION_UPDATE: "positions",
    ev.EventType.PNL: "pnl",
    ev.EventType.LATENCY_SAMPLE: "latency",
    ev.EventType.RISK: "risk_events",
    ev.EventType.SESSION: "session_events",
    ev.EventType.CONTROL: "controls",
    ev.EventType.TIMER: "timers",
}
DEDUP_KEYS = ("ts", "journal_seq", "journal")

# How a field's raw value becomes a column value.
LONG, VARCHAR, SYMBOL_TEXT, SYMBOL_ENUM, SYMBOL_VENUE, SYMBOL_INSTRUMENT = range(6)
_QUESTDB_TYPE = {LONG: "LONG", VARCHAR: "VARCHAR", SYMBOL_TEXT: "SYMBOL", SYMBOL_ENUM: "SYMBOL",
                 SYMBOL_VENUE: "SYMBOL", SYMBOL_INSTRUMENT: "SYMBOL"}


@dataclass(frozen=True)
class Column:
    name: str            # the QuestDB column
    field: str           # the event field it comes from
    index: int           # position of the field in dtype.names (and in a record's tolist())
    kind: int
    enum: type[IntEnum] | None = None

    @property
    def questdb_type(self) -> str:
        return _QUESTDB_TYPE[self.kind]

    @property
    def is_symbol(self) -> bool:
        return self.questdb_type == "SYMBOL"


@dataclass(frozen=True)
class Table:
    name: str
    event_type: ev.EventType
    dtype: np.dtype
    columns: tuple[Column, ...]
    venue_ts_index: int       # positions of ts_venue_ns / ts_receive_ns in a record's tolist()
    receive_ts_index: int

    def create_sql(self) -> str:
        cols = ['"ts" TIMESTAMP', '"journal_seq" LONG', '"journal" SYMBOL']
        cols += [f'"{c.name}" {c.questdb_type}' for c in self.columns]
        return (f'CREATE TABLE IF NOT EXISTS "{self.name}" ({", ".join(cols)}) TIMESTAMP(ts) '
                f"PARTITION BY DAY WAL DEDUP UPSERT KEYS({', '.join(DEDUP_KEYS)})")


def _column(event_type: ev.EventType, dt: np.dtype, index: int, field: str) -> Column:
    fields = dt.fields
    assert fields is not None
    fdt = fields[field][0]
    if field == "venue_id":
        return Column("venue", field, index, SYMBOL_VENUE)
    if field.endswith("instrument_id"):
        return Column(field[:-len("_id")], field, index, SYMBOL_INSTRUMENT)
    if fdt.kind == "S":
        return Column(field, field, index, SYMBOL_TEXT if field.endswith("ccy") else VARCHAR)
    enum, _ = ev.enum_for(event_type, field)
    if enum is not None:
        return Column(field, field, index, SYMBOL_ENUM, enum)
    if fdt.kind == "u" and fdt.itemsize == 8:
        raise TypeError(f"{event_type.name}.{field} is uint64: QuestDB's LONG is signed")
    return Column(field, field, index, LONG)


def table_for(event_type: ev.EventType) -> Table:
    dt = ev.dtype_for(event_type)
    names = dt.names
    assert names is not None
    cols = tuple(_column(event_type, dt, i, f) for i, f in enumerate(names) if f != "type")
    return Table(TABLE_NAMES[event_type], event_type, dt, cols, names.index("ts_venue_ns"),
                 names.index("ts_receive_ns"))


TABLES: dict[int, Table] = {int(t): table_for(t) for t in TABLE_NAMES}


class Row(NamedTuple):
    table: str
    symbols: dict[str, str | None]
    columns: dict[str, int | str | None]
    ts_ns: int


class RowMaker:
    """Turns one journal record into one row, naming venues and instruments from refdata."""

    def __init__(self, refdata: RefData | None, journal_id: int):
        self.journal = f"{journal_id:016x}"
        self._venues = {v.id: v.name for v in refdata.venues.values()} if refdata else {}
        self._instruments = {i.id: i.symbol for i in refdata.instruments.values()} if refdata else {}

    def row(self, rtype: int, journal_seq: int, journal_ts_ns: int, payload: bytes) -> Row:
        """Raises KeyError for a type with no table and ValueError for a payload of the wrong size."""
        table = TABLES[rtype]
        if len(payload) != ev.SLOT_SIZE:
            raise ValueError(f"{table.event_type.name} record of {len(payload)} bytes, not {ev.SLOT_SIZE}")
        values = np.frombuffer(payload, table.dtype, 1)[0].tolist()
        symbols: dict[str, str | None] = {"journal": self.journal}
        columns: dict[str, int | str | None] = {"journal_seq": journal_seq}
        for c in table.columns:
            v = values[c.index]
            if c.kind == LONG:
                columns[c.name] = v
            elif c.kind == VARCHAR:
                text = v.decode("ascii", "replace")
                columns[c.name] = text or None
            else:
                symbols[c.name] = self._symbol(c, v)
        ts = values[table.venue_ts_index] or values[table.receive_ts_index] or journal_ts_ns
        return Row(table.name, symbols, columns, ts)

    def _symbol(self, c: Column, v) -> str | None:
        if c.kind == SYMBOL_TEXT:
            return v.decode("ascii", "replace") or None
        if v == 0:
            return None
        if c.kind == SYMBOL_VENUE:
            return self._venues.get(v, str(v))
        if c.kind == SYMBOL_INSTRUMENT:
            return self._instruments.get(v, str(v))
        assert c.enum is not None
        member = c.enum._value2member_map_.get(v)
        return member.name if member is not None else str(v)
