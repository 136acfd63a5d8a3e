"""The feed stage's FIX source: one FIX 4.2 market-data session per venue (an initiator on
fxpipe's session engine) turned into Quote events for the md ring, the FIX twin of the binary
source (stages/feed.py) with the same face: poll(timeout_s), stats(), close().

After each logon the source subscribes (MarketDataRequest: snapshot + updates, the venue's
symbols for the configured instruments, top of book or depth N, bids and offers). The books are
kept in C (fxpipe.fix.bridge.MarketDataBooks): a snapshot (W) replaces a symbol's book, an
incremental (X) applies by MDEntryPositionNo, prices stay exact integers. What the rest of the
pipeline must learn is said with market-data SessionEvents for the venue, as the binary
source says it:

- ACTIVE (LOGON) once every subscribed symbol's snapshot is in after a logon, then every book as
  fresh quotes; afterwards each W/X gives its changed books, one Quote per level, best first;
- DISCONNECTED (DISCONNECTED) when the session drops; the market state drops the venue's quotes;
- DISCONNECTED (REJECT_RECEIVED) when the venue refuses the request (MarketDataRequestReject):
  reject_code carries MDReqRejReason (281), the text is in stats()["venues"][id]["last_error"];
  the venue stays down until the session logs on again;
- RESENDING (SEQUENCE_GAP) when a book can no longer be trusted: the session saw a sequence gap
  (it sent a ResendRequest), a W/X did not decode, or an incremental did not fit its book (a
  position that is not there, crossed or disordered levels). The subscription is dropped and a
  new one asks for fresh snapshots; nothing of the venue is quoted until they are all in, then
  ACTIVE (RESEND_COMPLETE) and every book as fresh quotes.

Every event gets the source's own sequence number; quotes carry ts_receive_ns (when the message
was handed over), ts_decode_ns (after the book applied it), ts_venue_ns (its SendingTime) and
md_seq (its MsgSeqNum).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import fxpipe.model.events as ev
from fxpipe.fix import bridge
from fxpipe.fix.codec import FixParseError
from fxpipe.fix.session.application import Application
from fxpipe.fix.session.config import SessionConfig
from fxpipe.fix.session.transport import Engine
from fxpipe.model.refdata import RefData, load_refdata

log = logging.getLogger("fxpipe.stages.fix_feed")
_S = ev.SessionState
_R = ev.SessionReason
_QUOTE = ev.dtype_for(ev.EventType.QUOTE)

# the venue's symbol format by refdata venue kind, as the OMS venue adapters write symbols
SYMBOL_FORMATS = {"ecn": "slash", "lp": "concat"}


def venue_symbol(refdata: RefData, instrument_id: int, symbol_format: str) -> str:
    """How a venue writes an instrument: `slash` EUR/USD, `concat` EURUSD."""
    symbol = refdata.instrument(instrument_id).symbol
    if symbol_format == "slash":
        return symbol
    if symbol_format == "concat":
        return symbol.replace("/", "")
    raise ValueError(f"symbol_format {symbol_format!r}: use 'slash' (EUR/USD) or 'concat' (EURUSD)")


@dataclass
class MarketDataLink:
    """One venue's market-data session: its refdata id, where it listens, the comp ids, the
    instruments to subscribe (refdata symbols or ids; default: what refdata says it trades),
    the depth (1: top of book) and the venue's symbol format (default: by the venue's kind)."""

    venue_id: int
    port: int
    target_comp_id: str
    instruments: Sequence[str | int] = ()
    depth: int = 1
    symbol_format: str = ""
    sender_comp_id: str = "FXPIPE-MD"
    host: str = "127.0.0.1"
    heartbeat_s: int = 30


class _Venue:
    """One session's subscription state."""

    def __init__(self, link: MarketDataLink, symbols: dict[str, int]):
        self.link = link
        self.symbols = symbols                   # venue symbol -> instrument id
        self.books = bridge.MarketDataBooks(symbols, link.depth)
        self.session: Any = None
        self.state = _S.DISCONNECTED
        self.req_id = ""                         # the live MDReqID ("" when none)
        self.requests = 0                        # MDReqIDs used on this source
        self.recovering = False                  # a re-subscription after a gap, not a logon
        self.gaps_seen = 0
        self.counts = {"logons": 0, "disconnects": 0, "rejects": 0, "resubscribes": 0,
                       "undecodable": 0, "quotes": 0}
        self.last_error = ""


class FixFeedSource(Application):
    """Drive it from one thread: poll(timeout_s) returns the events in order."""

    def __init__(self, links: Sequence[MarketDataLink], state_dir: str | Path, *,
                 refdata: RefData | None = None, clock: Callable[[], int] = time.time_ns,
                 reconnect_min_s: float = 0.2, reconnect_max_s: float = 2.0, fsync: str = "never"):
        if not links:
            raise ValueError("FixFeedSource: no market-data links")
        if len({lk.venue_id for lk in links}) != len(links):
            raise ValueError("FixFeedSource: two market-data links for one venue")
        self.refdata = refdata or load_refdata()
        self.clock = clock
        self.sequence = 0
        self._out: list[np.void] = []
        self._closed = False
        # every link checked before anything connects
        self.venues = {lk.venue_id: _Venue(lk, self._symbols(lk)) for lk in links}
        self._by_session: dict[int, _Venue] = {}
        self.engine = Engine()
        for v in self.venues.values():
            lk = v.link
            cfg = SessionConfig.initiator(lk.sender_comp_id, lk.target_comp_id, lk.host, lk.port, state_dir,
                                          heartbeat_s=lk.heartbeat_s, fsync=fsync,
                                          # market data is re-requested, never resent from an earlier logon
                                          reset_on_logon=True, reconnect_min_s=reconnect_min_s,
                                          reconnect_max_s=reconnect_max_s)
            v.session = self.engine.add_session(cfg, self)
            self._by_session[id(v.session)] = v
        self.engine.start()

    def _symbols(self, lk: MarketDataLink) -> dict[str, int]:
        venue = self.refdata.venue(lk.venue_id)
        fmt = lk.symbol_format or SYMBOL_FORMATS.get(venue.kind, "slash")
        wanted = lk.instruments or venue.instrument_ids
        ids = [self.refdata.instrument(i).id for i in wanted]
        if len(set(ids)) != len(ids):
            raise ValueError(f"venue {lk.venue_id}: an instrument is listed twice in {list(wanted)}")
        if len(ids) > 8:
            raise ValueError(f"venue {lk.venue_id}: {len(ids)} instruments; one MarketDataRequest "
                             f"carries at most 8 symbols here")
        return {venue_symbol(self.refdata, i, fmt): i for i in ids}

    # ------------------------------------------------------------------ the feed stage's side

    def poll(self, timeout_s: float = 0.0, ready: Container[int] | None = None) -> list[np.void]:
        """Everything the sessions received now (waiting up to timeout_s for the first), in order.
        ready: as for the binary source (the sessions have one fd: all of them are served)."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.engine.poll(max(0.0, min(deadline - time.monotonic(), 0.05)))
            for v in self.venues.values():
                self._check_gap(v)
            if self._out or time.monotonic() >= deadline:
                break
        out, self._out = self._out, []
        return out

    def state(self, venue_id: int) -> int:
        """The venue's market-data SessionState as last said."""
        return int(self.venues[venue_id].state)

    def stats(self) -> dict:
        venues = {}
        for vid, v in self.venues.items():
            venues[vid] = {"state": _S(v.state).name, "md_req_id": v.req_id, **v.counts,
                           **v.books.stats(), "gaps": v.gaps_seen, "last_error": v.last_error,
                           "logged_on": bool(v.session.is_logged_on)}
        return {"events": self.sequence, "venues": venues}

    def fds(self) -> list[int]:
        """The sessions' epoll set: readable when any of their sockets is (see poll())."""
        return [self.engine.sel.fileno()]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.engine.stop(timeout_s=1.0)
        except Exception:
            self.engine.close()

    # ------------------------------------------------------------------ the venue's side

    def on_logon(self, session: Any) -> None:
        v = self._by_session[id(session)]
        v.counts["logons"] += 1
        v.gaps_seen = session.gaps.requests_sent
        v.recovering = False
        self._subscribe(v)

    def on_logout(self, session: Any, reason: str) -> None:
        v = self._by_session[id(session)]
        v.counts["disconnects"] += 1
        v.req_id = ""
        v.books.clear()
        self._say(v, _S.DISCONNECTED, _R.DISCONNECTED, self.clock())

    def on_message(self, session: Any, msg: Any) -> None:
        v = self._by_session[id(session)]
        mt = msg.msg_type
        if mt in ("W", "X"):
            self._check_gap(v)
            self._market_data(v, msg)
        elif mt == "Y":
            self._rejected(v, msg)
        elif mt == "j":
            v.last_error = f"BusinessMessageReject: {msg.get_str(58) or ''}"
            log.warning("venue %d market data: %s", v.link.venue_id, v.last_error)

    # ------------------------------------------------------------------ subscription

    def _request(self, v: _Venue, md_req_id: str, sub: str) -> None:
        body: list = [(262, md_req_id), (263, sub), (264, v.link.depth), (265, "1"), (267, 2),
                      (269, "0"), (269, "1"), (146, len(v.symbols))]
        body += [(55, s) for s in v.symbols]
        v.session.send("V", body)

    def _subscribe(self, v: _Venue) -> None:
        v.requests += 1
        v.req_id = f"MD-{v.link.venue_id}-{v.requests}"
        v.books.clear()
        self._request(v, v.req_id, "1")

    def _resubscribe(self, v: _Venue, why: str) -> None:
        """The books cannot be trusted: say so, then start over from fresh snapshots."""
        v.counts["resubscribes"] += 1
        v.last_error = why
        log.warning("venue %d market data: %s; requesting fresh snapshots", v.link.venue_id, why)
        self._say(v, _S.RESENDING, _R.SEQUENCE_GAP, self.clock())
        v.recovering = True
        old = v.req_id
        if v.session.is_logged_on:
            if old:
                self._request(v, old, "2")
            self._subscribe(v)
        else:
            v.req_id = ""
            v.books.clear()

    def _check_gap(self, v: _Venue) -> None:
        n = v.session.gaps.requests_sent
        if n != v.gaps_seen:
            v.gaps_seen = n
            if v.req_id:
                self._resubscribe(v, f"sequence gap on the session (ResendRequest {n})")

    # ------------------------------------------------------------------ messages

    def _market_data(self, v: _Venue, msg: Any) -> None:
        if not v.req_id:
            return
        t_recv = self.clock()
        try:
            # the session validated it against the dictionary already
            status, buf = v.books.apply(msg.raw, v.req_id, v.link.venue_id, t_recv, False, self.sequence + 1)
        except FixParseError as exc:
            v.counts["undecodable"] += 1
            self._resubscribe(v, f"{msg.msg_type} MsgSeqNum {msg.seq_num} did not decode: {exc}")
            return
        if status == bridge.OTHER_REQUEST:
            return
        if status == bridge.BROKEN:
            self._resubscribe(v, v.books.problem)
            return
        if status == bridge.UNKNOWN_SYMBOL:
            v.last_error = v.books.problem
        if v.state != _S.ACTIVE:
            if not v.books.complete():
                return
            self._say(v, _S.ACTIVE, _R.RESEND_COMPLETE if v.recovering else _R.LOGON, t_recv)
            v.recovering = False
            buf = v.books.quotes(v.link.venue_id, t_recv, self.sequence + 1)
        self._quotes(v, buf)

    def _quotes(self, v: _Venue, buf: bytearray) -> None:
        if not buf:
            return
        arr = np.frombuffer(buf, _QUOTE)       # numbered from self.sequence + 1 by the books
        n = len(arr)
        arr["ts_decode_ns"] = self.clock()
        self.sequence += n
        v.counts["quotes"] += n
        self._out.extend(arr)

    def _rejected(self, v: _Venue, msg: Any) -> None:
        req = msg.get_str(262) or ""
        if req != v.req_id:
            return
        reason = msg.get_str(281) or ""
        v.counts["rejects"] += 1
        v.last_error = (f"MarketDataRequest {req} rejected by {v.link.target_comp_id} "
                        f"(MDReqRejReason {reason or 'none'}): {msg.get_str(58) or ''}")
        log.error("venue %d market data: %s", v.link.venue_id, v.last_error)
        v.req_id = ""
        v.books.clear()
        self._say(v, _S.DISCONNECTED, _R.REJECT_RECEIVED, self.clock(), ref_seq=msg.seq_num,
                  reject_code=int(reason) if reason.isdigit() else 0)

    def _say(self, v: _Venue, state: int, reason: int, now: int, **fields: int) -> None:
        if state == v.state and reason != _R.REJECT_RECEIVED:
            return                           # said already
        prev, v.state = v.state, state
        self.sequence += 1
        store = v.session.store
        self._out.append(ev.make(ev.EventType.SESSION, venue_id=v.link.venue_id, sequence=self.sequence,
                                 session_kind=ev.SessionKind.MARKET_DATA, state=state, prev_state=prev,
                                 reason=reason, ts_receive_ns=now, next_sender_seq=store.next_sender,
                                 next_target_seq=store.next_target, **fields))
