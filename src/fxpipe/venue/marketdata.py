"""Market-data subscriptions of one venue: MarketDataRequest in, snapshots and incrementals out.

A request (V) names symbols, entry types (bid, offer) and a depth; the venue answers each
symbol with a MarketDataSnapshotFullRefresh (W) and, for a subscription (263=1), with one
MarketDataIncrementalRefresh (X) per ladder change after it: per level (MDEntryPositionNo 290)
a change, a new level or a delete, only for levels that changed since the last message to
that subscriber. A symbol the venue does not quote gets a MarketDataRequestReject (Y), as
does a second live subscription with the same MDReqID.
"""
from __future__ import annotations

from dataclasses import dataclass

from fxpipe.fix.enums import MDReqRejReason
from fxpipe.venue.inbound import MDRequest
from fxpipe.venue.outbound import BID, OFFER, Renderer


@dataclass(slots=True, eq=False)
class Subscription:
    session: str
    md_req_id: str
    pair_index: int
    depth: int
    types: tuple[str, ...]
    bids: list
    asks: list


class MarketData:
    def __init__(self, render: Renderer, symbols: dict[str, int], max_depth: int):
        self.render = render
        self.symbols = symbols
        self.max_depth = max_depth
        self.by_req: dict[tuple[str, str], list[Subscription]] = {}
        self.by_pair: list[list[Subscription]] = [[] for _ in render.pairs]

    def _depth(self, requested: int) -> int:
        return self.max_depth if requested == 0 else min(requested, self.max_depth)

    def request(self, req: MDRequest, ladder) -> list[tuple[str, list]]:
        """Answers a MarketDataRequest; `ladder(pair_index)` gives the current (bids, asks).
        Returns the messages for the requesting session, in order."""
        key = (req.session, req.md_req_id)
        if req.subscription == "2":
            self.unsubscribe(*key)
            return []
        if key in self.by_req:
            return [self.render.md_reject(req.md_req_id, MDReqRejReason.DUPLICATE_MDREQID,
                                          f"MDReqID {req.md_req_id} is already subscribed; unsubscribe it first")]
        if not {"0", "1"} & set(req.entry_types):
            return [self.render.md_reject(req.md_req_id, MDReqRejReason.UNSUPPORTED_MDENTRYTYPE,
                                          "this venue publishes bids (269=0) and offers (269=1) only")]
        if req.update_type not in (None, "1"):
            return [self.render.md_reject(req.md_req_id, MDReqRejReason.UNSUPPORTED_MDUPDATETYPE,
                                          "this venue sends incremental refreshes only (265=1)")]
        unknown = [s for s in req.symbols if s not in self.symbols]
        if unknown:
            example = next(iter(self.symbols), "")
            return [self.render.md_reject(req.md_req_id, MDReqRejReason.UNKNOWN_SYMBOL,
                                          f"unknown symbol {unknown[0]!r}; symbols here are written like {example}")]
        depth = self._depth(req.depth)
        out, subs = [], []
        for sym in req.symbols:
            pi = self.symbols[sym]
            bids, asks = ladder(pi)
            bids, asks = list(bids[:depth]), list(asks[:depth])
            out.append(self.render.md_snapshot(req.md_req_id, pi, bids, asks, req.entry_types))
            if req.subscription == "1":
                subs.append(Subscription(req.session, req.md_req_id, pi, depth, req.entry_types, bids, asks))
        if subs:
            self.by_req[key] = subs
            for s in subs:
                self.by_pair[s.pair_index].append(s)
        return out

    def unsubscribe(self, session: str, md_req_id: str) -> bool:
        subs = self.by_req.pop((session, md_req_id), None)
        for s in subs or ():
            self.by_pair[s.pair_index].remove(s)
        return subs is not None

    def drop_session(self, session: str) -> None:
        for key in [k for k in self.by_req if k[0] == session]:
            self.unsubscribe(*key)

    def has_subscribers(self, pair_index: int) -> bool:
        return bool(self.by_pair[pair_index])

    def on_ladder(self, pair_index: int, bids: list, asks: list) -> list[tuple[str, tuple[str, list]]]:
        """(session, message) for every subscriber whose view of this pair changed."""
        out = []
        for s in self.by_pair[pair_index]:
            nb, na = bids[:s.depth], asks[:s.depth]
            changes = []
            if BID in s.types:
                changes += _diff(BID, s.bids, nb)
            if OFFER in s.types:
                changes += _diff(OFFER, s.asks, na)
            if changes:
                s.bids, s.asks = list(nb), list(na)
                out.append((s.session, self.render.md_incremental(s.md_req_id, pair_index, changes)))
        return out


def _diff(kind: str, old: list, new: list) -> list[tuple]:
    """Level changes from old to new; deletes only ever remove the tail, last level first, so
    no delete shifts the position of another entry of the same message."""
    changes = []
    for pos in range(len(old) - 1, len(new) - 1, -1):
        px, qty = old[pos]
        changes.append(("2", kind, pos + 1, px, qty))
    for pos in range(len(new)):
        if pos >= len(old):
            px, qty = new[pos]
            changes.append(("0", kind, pos + 1, px, qty))
        elif tuple(old[pos]) != tuple(new[pos]):
            px, qty = new[pos]
            changes.append(("1", kind, pos + 1, px, qty))
    return changes
