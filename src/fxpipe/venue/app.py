"""One simulated venue: the FIX application behind its acceptor sessions.

It reads requests (inbound.py), runs them through the order book and lifecycle (orders.py,
book.py), answers market-data requests (marketdata.py), and queues every answer with the
latencies its profile draws (outq.py). An ECN acknowledges at once and fills firm; an LP with
last look (lastlook.py) holds each order for a drawn hold time and then fills it at the
requested price or rejects it. What clients take leaves the venue's ladder short until it
refills, and subscribers and the binary feed see the book as it is after every trade. Cancels
and replaces may be acknowledged first (Pending Cancel / Pending Replace) and applied after the
venue's latency; a session that drops can have its working orders cancelled. Faults
(faults.py, faultops.py) bend all this on purpose. Time enters as `now` (epoch ns) from the
event loop; latency draws come from a Random seeded per venue, so the same seed and order flow
give the same messages.
"""
from __future__ import annotations

import heapq
import random
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from fxpipe.fix.enums import CxlRejReason, CxlRejResponseTo, ExecType, MDReqRejReason, MsgType, OrdStatus
from fxpipe.fix.session.session import SessionNotLoggedOn
from fxpipe.fix.tags import Tag
from fxpipe.venue import faultops, lastlook, link
from fxpipe.venue.book import PairBook, build_ladder
from fxpipe.venue.faults import ANY_SESSION, FaultBook
from fxpipe.venue.inbound import Refusal, RequestReader
from fxpipe.venue.market import Market
from fxpipe.venue.marketdata import MarketData
from fxpipe.venue.orders import CancelReject, CancelRequest, ExecReport, Order, OrderManager, ReplaceRequest
from fxpipe.venue.outbound import Renderer
from fxpipe.venue.outq import Outgoing, OutQueue
from fxpipe.venue.pairs import subset, symbol_index
from fxpipe.venue.profiles import Profile
from fxpipe.venue.settlement import next_roll_ns, trade_date

if TYPE_CHECKING:
    from fxpipe.feed.publisher import FeedPublisher
    from fxpipe.fix.session.transport import Engine

UNSUPPORTED_MESSAGE_TYPE = 3  # BusinessRejectReason (380)
CONDITIONALLY_REQUIRED_FIELD_MISSING = 5
# MDReqRejReason (281) for a refused MarketDataRequest, by the tag at fault
MD_REJECT_REASON: dict[int, str] = {Tag.SubscriptionRequestType: MDReqRejReason.UNSUPPORTED_SUBSCRIPTION_TYPE,
                                    Tag.MarketDepth: MDReqRejReason.UNSUPPORTED_MARKET_DEPTH}
ECHOED = (Tag.OrdType, Tag.TimeInForce, Tag.OrderQty, Tag.Currency)  # a refusal repeats what the client wrote


class Venue:
    def __init__(self, profile: Profile, market: Market, seed: int, clock, broadcast=None, run_id: str = ""):
        self.profile = profile
        self.market = market
        self.clock = clock
        self.broadcast = broadcast  # fn(changed market indices, now): step pace moves every venue
        wanted = {p.symbol for p in subset(market.pairs, list(profile.pairs) if profile.pairs else None)}
        self.mkt_index = [i for i, p in enumerate(market.pairs) if p.symbol in wanted]
        self.pairs = tuple(market.pairs[i] for i in self.mkt_index)
        self.venue_index = {mi: vi for vi, mi in enumerate(self.mkt_index)}
        self.symbols = symbol_index(self.pairs, profile.symbol_format)
        self.books = [PairBook(i, profile.refill_ns) for i in range(len(self.pairs))]
        self.orders = OrderManager(profile.comp_id, self.books, profile.ioc_cancel_report, run_id,
                                   profile.stale_orig_unknown)
        self.reader = RequestReader(profile, self.pairs, self.symbols)
        self.render = Renderer(profile, self.pairs)
        self.md = MarketData(self.render, self.symbols, profile.depth)
        self.out = OutQueue()
        self.faults = FaultBook()
        self.rng = random.Random(seed * 1_000_003 + zlib.crc32(profile.name.encode()))
        self.sessions: dict = {}  # client comp id -> logged-on Session
        self.engine: Engine | None = None  # fxpipe's FIX Engine, set by the server (pause_reading for stop_reading)
        self.logon_faults: link.LogonFaults | None = None  # the engine's logon policy, set by the server
        self.session_names: dict[str, str] = {}  # client comp id -> the engine's session name
        self.feed: FeedPublisher | None = None  # set when the venue has a binary feed
        self.quoted: list[tuple[list, list]] = [([], []) for _ in self.pairs]  # full ladders, as the market quotes
        self.ladders: list[tuple[list, list]] = [([], []) for _ in self.pairs]  # what subscribers were shown
        self.holds: list[tuple[int, int, Order, int | None]] = []  # last look: (due, seq, order, requested px)
        self.timers: list[tuple[int, int, Callable[..., object], tuple]] = []  # (due, seq, fn, args)
        self.reorder: dict[str, list] = {}  # reports held by the reorder fault, per session
        self._refill_due: set[int] = set()  # pairs with a refill timer set
        self._tseq = 0
        self.next_roll = next_roll_ns(clock())
        self.counts = {"orders": 0, "fills": 0, "rejects": 0, "last_look_rejects": 0, "md_messages": 0,
                       "cancelled_on_disconnect": 0}
        self.on_market(list(range(len(market.pairs))), clock())

    # -- timers ---------------------------------------------------------------------------------
    def after(self, due_ns: int, fn, *args) -> None:
        self._tseq += 1
        heapq.heappush(self.timers, (due_ns, self._tseq, fn, args))

    def hold_order(self, due_ns: int, o: Order, requested: int | None) -> None:
        """Holds an order for last look until due_ns (lastlook.decide then rules on it)."""
        self._tseq += 1
        heapq.heappush(self.holds, (due_ns, self._tseq, o, requested))

    def next_due_ns(self) -> int | None:
        cands = [t for t in (self.out.next_due(), self.holds[0][0] if self.holds else None,
                             self.timers[0][0] if self.timers else None) if t is not None]
        return min(cands) if cands else None

    def latency(self, which: str) -> int:
        dist = self.profile.ack_latency if which == "ack" else self.profile.fill_latency
        return dist.sample_ns(self.rng)

    # -- market ---------------------------------------------------------------------------------
    def on_market(self, changed: list[int], now: int) -> None:
        """Rebuilds the ladders of the pairs that moved: resting orders it crosses fill, and
        subscribers and the binary feed get the new levels."""
        src = self.market.source
        prof = self.profile
        feed_updates: list[tuple[int, int, list, list]] = []
        for mi in changed:
            vi = self.venue_index.get(mi)
            if vi is None:
                continue
            pair = self.pairs[vi]
            bid, ask = src.bid_e8[mi], src.ask_e8[mi]
            if bid and prof.markup_ticks:
                bid -= prof.markup_ticks * pair.tick_e8
                ask += prof.markup_ticks * pair.tick_e8
            top_b = getattr(src, "bid_qty_e2", None)
            top_a = getattr(src, "ask_qty_e2", None)
            bids, asks = build_ladder(bid, ask, pair.tick_e8, prof.level_step_ticks, prof.level_sizes_e2,
                                      top_b[mi] if top_b else None, top_a[mi] if top_a else None)
            if prof.refill_ns:  # kept whole for re-levelling as liquidity refills between updates
                self.quoted[vi] = ([[p, q] for p, q in bids], [[p, q] for p, q in asks])
            self._relevel(vi, now, feed_updates, bids, asks)
        if feed_updates and self.feed is not None:  # only gathered when there is a feed
            self.feed.publish(feed_updates, now)

    def _relevel(self, vi: int, now: int, feed_updates: list | None = None, bids: list | None = None,
                 asks: list | None = None) -> None:
        """Sets pair vi's book from the market's ladder (given, or the last one quoted) less
        what is still taken; resting orders it crosses fill; subscribers see the result."""
        if bids is None or asks is None:
            bids = [[p, q] for p, q in self.quoted[vi][0]]
            asks = [[p, q] for p, q in self.quoted[vi][1]]
        fills = self.books[vi].set_ladder(bids, asks, now)
        if fills:
            t = now + self.latency("fill")
            for r in self.orders.on_ladder(fills, now):
                self.report(r, t)
        self.publish_book(vi, now, feed_updates)

    def publish_book(self, vi: int, now: int, feed_updates: list | None = None) -> None:
        """Sends pair vi's levels as they are now (after a price update or a trade) to its
        subscribers (the levels that changed) and the binary feed; keeps a refill timer while
        the book is short of what the market quotes."""
        book = self.books[vi]
        shown = book.shown()
        if book.refill_ns and book.depleted and vi not in self._refill_due:
            self._refill_due.add(vi)
            self.after(now + book.refill_ns, self._refill, vi)
        self.ladders[vi] = shown
        for session, (mt, body) in self.md.on_ladder(vi, *shown):
            self.emit(session, mt, body, now, now=now)
        if self.feed is not None:
            update = (self.pairs[vi].instrument_id, now, shown[0], shown[1])
            if feed_updates is None:
                self.feed.publish([update], now)
            else:
                feed_updates.append(update)

    def _refill(self, vi: int) -> None:
        self._refill_due.discard(vi)
        self._relevel(vi, self.clock())

    def fresh_book(self, vi: int, now: int) -> PairBook:
        """Pair vi's book as it stands at `now`: what refilled since the last update is back."""
        book = self.books[vi]
        if book.refill_ns and book.depleted:
            self._relevel(vi, now)
        return book

    def _inbound_moves_market(self, now: int) -> None:
        changed = self.market.on_inbound()
        if changed and self.broadcast is not None:
            self.broadcast(changed, now)

    # -- sessions ---------------------------------------------------------------------------------
    def on_logon(self, key: str, session, now: int) -> None:
        self.sessions[key] = session
        self.faults.on_logon(key, now)
        for item in self.out.release(key):
            self.out.push(now, item.session, item.msg_type, item.body, item.dup, item.original)

    def on_logout(self, key: str, now: int) -> None:
        self.sessions.pop(key, None)
        self.md.drop_session(key)
        if self.profile.cancel_on_disconnect:
            reports = self.orders.cancel_session(key, now, "canceled: the session disconnected (cancel on disconnect)")
            self.counts["cancelled_on_disconnect"] += len(reports)
            for r in reports:
                self.report(r, now)  # held until the session logs on again
            touched = sorted({r.pair_index for r in reports})
            for vi in touched:
                self.publish_book(vi, now)

    def on_message(self, key: str, msg, now: int) -> None:
        self._inbound_moves_market(now)
        handler = {MsgType.NEW_ORDER_SINGLE: self._new, MsgType.ORDER_CANCEL_REQUEST: self._cancel,
                   MsgType.ORDER_CANCEL_REPLACE_REQUEST: self._replace, MsgType.ORDER_STATUS_REQUEST: self._status,
                   MsgType.MARKET_DATA_REQUEST: self._md_request}.get(msg.msg_type)
        if handler is None:
            mt, body = self.render.business_reject(msg.seq_num, msg.msg_type, None, UNSUPPORTED_MESSAGE_TYPE,
                                                   "Unsupported Message Type")
            self.emit(key, mt, body, now)
            return
        handler(key, msg, now)
        faultops.fire_due(self, key, now)
        faultops.fire_due(self, ANY_SESSION, now)

    # -- outgoing -----------------------------------------------------------------------------------
    def emit(self, session: str, mt: str, body: list, due: int, dup: str = "", now: int | None = None,
             original: Outgoing | None = None) -> Outgoing | None:
        """Sends now when due now and nothing waits before it (market data, zero latency);
        queues otherwise. Returns the queued message (None when sent at once)."""
        if now is not None and due <= now and not dup and self.out.idle(session, now):
            self._deliver(Outgoing(due, 0, session, mt, body), now)
            return None
        return self.out.push(due, session, mt, body, dup, original)

    def report(self, r: ExecReport, due: int) -> None:
        """Queues an ExecutionReport, through the faults that bend reports."""
        if r.exec_type in (ExecType.FILL, ExecType.PARTIAL_FILL):
            self.counts["fills"] += 1
        elif r.exec_type == ExecType.REJECTED:
            self.counts["rejects"] += 1
        faultops.on_report(self, r, due)

    def send_report(self, r: ExecReport, due: int, dup: str = "", original: Outgoing | None = None) -> Outgoing | None:
        mt, body = self.render.exec_report(r)
        return self.emit(r.session, mt, body, due, dup, original=original)

    def cancel_reject(self, c: CancelReject, due: int) -> None:
        mt, body = self.render.cancel_reject(c)
        self.emit(c.session, mt, body, due)

    def _deliver(self, item: Outgoing, now: int) -> None:
        session = self.sessions.get(item.session)
        if session is None:
            self.out.hold(item)
            return
        try:
            if item.dup == "resend" and item.original is not None and item.original.sent_seq:
                link.resend(session, item.original.sent_seq, item.msg_type, item.body, item.original.sent_ns)
            elif item.dup:
                sent_ns = item.original.sent_ns if item.original is not None else now
                link.send_possresend(session, item.msg_type, item.body, sent_ns or now)
            else:
                item.sent_seq = session.send(item.msg_type, item.body)
                item.sent_ns = now
        except SessionNotLoggedOn:
            self.out.hold(item)
        else:
            if item.msg_type in (MsgType.MARKET_DATA_SNAPSHOT_FULL_REFRESH, MsgType.MARKET_DATA_INCREMENTAL_REFRESH):
                self.counts["md_messages"] += 1

    def on_timer(self, now: int) -> None:
        while self.holds and self.holds[0][0] <= now:
            _, _, o, requested = heapq.heappop(self.holds)
            lastlook.decide(self, o, requested, now)
        while self.timers and self.timers[0][0] <= now:
            _, _, fn, args = heapq.heappop(self.timers)
            fn(*args)
        if now >= self.next_roll:
            self.next_roll = next_roll_ns(now)
            for r in self.orders.expire_day_orders(trade_date, now):
                self.report(r, now)
        for key in list(self.faults.armed):
            faultops.fire_due(self, key, now)
        for item in self.out.pop_due(now):
            self._deliver(item, now)

    # -- orders -------------------------------------------------------------------------------------
    def _refuse_order(self, key: str, msg, why: Refusal, now: int) -> None:
        pi = self.symbols.get(msg.get_str(Tag.Symbol, ""), 0)
        echo: dict[int, str] = {tag: msg.get_str(tag) for tag in ECHOED if msg.has(tag)}
        r = self.orders.refusal(key, msg.get_str(Tag.ClOrdID, "NONE"), pi, msg.get_str(Tag.Side, "1"), now,
                                why.text, why.ord_rej_reason, symbol=msg.get_str(Tag.Symbol), echo=echo)
        self.report(r, now + self.latency("ack"))

    def _new(self, key: str, msg, now: int) -> None:
        self.counts["orders"] += 1
        self.faults.count_order(key)
        self.faults.count_order(ANY_SESSION)
        req = self.reader.new_order(key, msg)
        if isinstance(req, Refusal):
            self._refuse_order(key, msg, req, now)
            return
        got = self.orders.accept(req, now)
        t_ack = now + self.latency("ack")
        if isinstance(got, ExecReport):  # duplicate ClOrdID
            self.report(got, t_ack)
            return
        o = got
        if self.profile.last_look is not None:
            lastlook.hold(self, o, now, t_ack)
            return
        ack = self.orders.ack(o, now) if self.profile.ack_new else None
        self.fresh_book(o.pair_index, now)
        fills = self.orders.execute(o, now)
        self.publish_book(o.pair_index, now)
        faultops.ack_and_fills(self, key, ack, fills, t_ack, now)

    def _amend_refused(self, key: str, msg, why: Refusal, to: str, now: int) -> None:
        self.cancel_reject(CancelReject(key, "NONE", msg.get_str(Tag.ClOrdID, "NONE"),
                                        msg.get_str(Tag.OrigClOrdID, "NONE"), OrdStatus.REJECTED, to,
                                        CxlRejReason.BROKER_OPTION, why.text, now), now + self.latency("ack"))

    def _cancel(self, key: str, msg, now: int) -> None:
        req = self.reader.cancel(key, msg)
        if isinstance(req, Refusal):
            self._amend_refused(key, msg, req, CxlRejResponseTo.ORDER_CANCEL_REQUEST, now)
            return
        self._amend(key, req, CxlRejResponseTo.ORDER_CANCEL_REQUEST, now)

    def _replace(self, key: str, msg, now: int) -> None:
        req = self.reader.replace(key, msg)
        if isinstance(req, Refusal):
            self._amend_refused(key, msg, req, CxlRejResponseTo.ORDER_CANCEL_REPLACE_REQUEST, now)
            return
        self._amend(key, req, CxlRejResponseTo.ORDER_CANCEL_REPLACE_REQUEST, now)

    def _amend(self, key: str, req: CancelRequest | ReplaceRequest, to: str, now: int) -> None:
        """A cancel or replace: refused at once, or applied at once, or (ack_requests)
        acknowledged as pending now and applied after the venue's latency, when it meets the
        order as it is by then (a fill may have come in between)."""
        t = now + self.latency("ack")
        o, rej = self.orders.check_amend(req, to, now)
        if rej is not None:
            self.cancel_reject(rej, t)
            return
        assert o is not None  # check_amend gives an order whenever it gives no reject
        if self.profile.ack_requests:
            self.report(self.orders.pending(o, req, now), t)
            self.after(t + self.latency("ack"), self._apply_amend, req, o)
            return
        self._apply_amend(req, o, now)

    def _apply_amend(self, req: CancelRequest | ReplaceRequest, o: Order, now: int | None = None) -> None:
        now = self.clock() if now is None else now
        faultops.race_fill(self, req, o, now)  # the fill_after_cancel / fill_in_flight faults
        t = now + self.latency("ack")
        if isinstance(req, CancelRequest):
            got = self.orders.cancel(req, now, checked=o)
            if isinstance(got, CancelReject):
                self.cancel_reject(got, t)
            else:
                self.report(got, t)
                self.publish_book(o.pair_index, now)
            return
        self.fresh_book(o.pair_index, now)
        results = self.orders.replace(req, now, checked=o)
        self.publish_book(o.pair_index, now)
        tf = t + self.latency("fill") if len(results) > 1 else t
        for k, r in enumerate(results):
            if isinstance(r, CancelReject):
                self.cancel_reject(r, t)
            else:
                self.report(r, t if k == 0 else tf)

    def _status(self, key: str, msg, now: int) -> None:
        req = self.reader.status(key, msg)
        t = now + self.latency("ack")
        if isinstance(req, Refusal):
            mt, body = self.render.business_reject(msg.seq_num, MsgType.ORDER_STATUS_REQUEST, msg.get_str(Tag.ClOrdID),
                                                   CONDITIONALLY_REQUIRED_FIELD_MISSING, req.text)
            self.emit(key, mt, body, t)
            return
        self.send_report(self.orders.status(key, req.cl_ord_id, req.pair_index, req.side, now), t)

    def _md_request(self, key: str, msg, now: int) -> None:
        req = self.reader.md_request(key, msg)
        if isinstance(req, Refusal):
            reason = MD_REJECT_REASON.get(req.tag) if req.tag else None
            mt, body = self.render.md_reject(msg.get_str(Tag.MDReqID, "NONE"), reason, req.text)
            self.emit(key, mt, body, now)
            return
        for mt, body in self.md.request(req, lambda vi: self.ladders[vi]):
            self.emit(key, mt, body, now)

    def stats(self) -> dict:
        return dict(self.counts, open_orders=len(self.orders.open_orders()), queued=len(self.out),
                    sessions=sorted(self.sessions))
