"""Quotes for replay from an fxpipe journal (`market.replay_journal`): its Quote events, read
through the journal's numpy views, so selecting and checking a day of quotes runs at array speed.

What plays: top-of-book Quote events (level 0; the venue builds its deeper levels from its
profile, as for any market) of one venue or of all (`venue`: a name or id of the reference
data), for the chosen instruments (`instruments`: symbols; by default every instrument the
journal quotes, each of which must then be a pair of the market). Instrument ids map to the
market's pairs through the reference data, the ids every fxpipe event carries. A quote's time
is its `ts_receive_ns` (its `ts_venue_ns` when that is 0, else the record's time), in journal
order; a time earlier than the one before it counts as that one, so pacing never goes back.
The recorded sizes are the top level's sizes.

Everything is checked at load: a missing or empty journal, no quote left after the selection,
an unknown instrument or venue, a one-sided, crossed or off-tick quote each stop the load with
a ReplayError naming the journal, the record's sequence number and what to do.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import fxpipe.model.events as ev
from fxpipe.journal import JournalError, JournalReader
from fxpipe.model.refdata import RefData
from fxpipe.venue.pairs import Pair
from fxpipe.venue.replay import QuoteRows, ReplayError, ReplaySource

MAX_ID = 65535


def resolve(refdata: RefData, pairs: tuple[Pair, ...], venue: str | int | None,
            instruments: tuple[str, ...] | None) -> tuple[int | None, list[int] | None]:
    """(venue id, instrument ids) of a selection; ReplayError for a name the reference data
    or the market does not have."""
    venue_id = None
    if venue is not None:
        key = int(venue) if isinstance(venue, str) and venue.isdigit() else venue
        try:
            venue_id = refdata.venue(key).id
        except KeyError as exc:
            raise ReplayError(f"replay_venue: {exc.args[0]}") from None
    ids = None
    if instruments is not None:
        market = {p.instrument_id for p in pairs}
        ids = []
        for sym in instruments:
            try:
                inst = refdata.instrument(sym)
            except KeyError as exc:
                raise ReplayError(f"replay_instruments: {exc.args[0]}") from None
            if inst.id not in market:
                raise ReplayError(f"replay_instruments: {sym} is not a pair of this market "
                                  f"({', '.join(p.symbol for p in pairs)}); add it to market.pairs")
            ids.append(inst.id)
    return venue_id, ids


def load_journal(path: str | Path, pairs: tuple[Pair, ...], refdata: RefData, venue: str | int | None = None,
                 instruments: tuple[str, ...] | None = None) -> QuoteRows:
    """The selected quotes of the journal in `path` (see the module docstring)."""
    path = Path(path)
    if not path.exists():
        raise ReplayError(f"replay journal {path}: no such directory; give the directory an fxpipe "
                          f"journal writes (fxpipe journal verify DIR checks one)")
    if not path.is_dir():
        raise ReplayError(f"replay journal {path}: is a file; a journal is a directory of segment files "
                          f"(a CSV of quotes goes in market.replay instead)")
    venue_id, ids = resolve(refdata, pairs, venue, instruments)
    try:
        with JournalReader(path) as reader:
            if not reader.segments:
                raise ReplayError(f"replay journal {path}: holds no journal segments (*.fxj); give the "
                                  f"directory an fxpipe journal writes")
            cols = _columns(reader.array(ev.EventType.QUOTE))
    except JournalError as exc:
        raise ReplayError(f"replay journal {path}: {exc}") from None
    where = f"replay journal {path}"
    keep = cols["level"] == 0
    if venue_id is not None:
        keep &= cols["venue_id"] == venue_id
    if ids is not None:
        keep &= np.isin(cols["instrument_id"], ids)
    if not keep.any():
        raise ReplayError(f"{where}: no quotes to replay: {_what_it_holds(cols, refdata, venue_id, ids)}")
    sel = {k: v[keep] for k, v in cols.items()}
    pair = _pair_positions(sel, pairs, refdata, where)
    _check_quotes(sel, pair, pairs, path)
    ts = np.where(sel["ts_receive_ns"] != 0, sel["ts_receive_ns"],
                  np.where(sel["ts_venue_ns"] != 0, sel["ts_venue_ns"], sel["ts_ns"]))
    return QuoteRows(np.maximum.accumulate(ts), pair, sel["bid_px_e8"], sel["ask_px_e8"],
                     sel["bid_qty_e2"], sel["ask_qty_e2"])


def open_journal(path: str | Path, pairs: tuple[Pair, ...], refdata: RefData, venue: str | int | None = None,
                 instruments: tuple[str, ...] | None = None, loop: bool = False) -> ReplaySource:
    return ReplaySource(load_journal(path, pairs, refdata, venue, instruments), pairs, loop, str(path))


def _columns(quotes: np.ndarray) -> dict[str, np.ndarray]:
    """Copies of the fields replay needs (int64), so nothing points into the journal's mapping."""
    e, h = quotes["event"], quotes["hdr"]
    out = {name: e[name].astype(np.int64) for name in (
        "venue_id", "instrument_id", "level", "bid_px_e8", "ask_px_e8", "bid_qty_e2", "ask_qty_e2",
        "ts_receive_ns", "ts_venue_ns")}
    out["seq"] = h["seq"].astype(np.int64)
    out["ts_ns"] = h["ts_ns"].astype(np.int64)
    return out


def _pair_positions(sel: dict, pairs: tuple[Pair, ...], refdata: RefData, where: str) -> np.ndarray:
    lut = np.full(MAX_ID + 1, -1, dtype=np.int64)
    for i, p in enumerate(pairs):
        lut[p.instrument_id] = i
    pos = lut[sel["instrument_id"]]
    bad = np.flatnonzero(pos < 0)
    if len(bad):
        k = bad[0]
        iid, seq = int(sel["instrument_id"][k]), int(sel["seq"][k])
        try:
            sym = refdata.instrument(iid).symbol
        except KeyError:
            raise ReplayError(f"{where}: record {seq} quotes instrument id {iid}, which {refdata.source} "
                              f"does not list: the journal was written with other reference data; point "
                              f"market.refdata at that file") from None
        raise ReplayError(f"{where}: record {seq} quotes {sym} (instrument id {iid}), which this market "
                          f"does not quote ({', '.join(p.symbol for p in pairs)}); choose the instruments "
                          f"to replay with market.replay_instruments, or add {sym} to market.pairs")
    return pos


def _check_quotes(sel: dict, pair: np.ndarray, pairs: tuple[Pair, ...], path: Path) -> None:
    tick = np.array([p.tick_e8 for p in pairs], dtype=np.int64)[pair]
    bid, ask = sel["bid_px_e8"], sel["ask_px_e8"]
    checks = [
        ((sel["bid_qty_e2"] <= 0) | (sel["ask_qty_e2"] <= 0),
         "is one-sided (a size of 0); the simulator's market needs a bid and an offer"),
        ((bid <= 0) | (ask <= 0), "has a price that is not positive"),
        (ask <= bid, "is crossed or locked (offer at or below the bid)"),
        ((bid % tick != 0) | (ask % tick != 0), "has a price off the pair's tick"),
    ]
    for bad, what in checks:
        hits = np.flatnonzero(bad)
        if len(hits):
            k = hits[0]
            seq = int(sel["seq"][k])
            raise ReplayError(f"replay journal {path}: record {seq} ({pairs[pair[k]].symbol}, bid_px_e8 "
                              f"{int(bid[k])}, ask_px_e8 {int(ask[k])}) {what}; see it with `fxpipe journal "
                              f"show {path} --from-seq {seq} -n 1`, or select other quotes "
                              f"(market.replay_venue, market.replay_instruments)")


def _what_it_holds(cols: dict, refdata: RefData, venue_id: int | None, ids: list[int] | None) -> str:
    n = len(cols["seq"])
    if n == 0:
        return "the journal holds no Quote events"
    top = cols["level"] == 0
    if not top.any():
        return f"none of its {n} Quote events is a top-of-book quote (level 0)"
    wanted = ""
    if venue_id is not None:
        wanted += f" of venue {refdata.venue(venue_id).name}"
    if ids is not None:
        wanted += f" for {', '.join(refdata.instrument(i).symbol for i in ids)}"
    venues = sorted(set(cols["venue_id"][top].tolist()))
    insts = sorted(set(cols["instrument_id"][top].tolist()))
    return (f"none of its {n} Quote events is a top-of-book quote (level 0){wanted}; it has those of "
            f"venues {_names(venues, lambda i: refdata.venue(i).name)} "
            f"for {_names(insts, lambda i: refdata.instrument(i).symbol)}")


def _names(ids: list[int], name_of) -> str:
    out = []
    for i in ids:
        try:
            out.append(f"{name_of(i)} (id {i})")
        except KeyError:
            out.append(f"id {i} (not in the reference data)")
    return ", ".join(out)
