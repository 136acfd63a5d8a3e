"""One simulated venue: the FIX application behind its acceptor sessions.

It reads requests (inbound.py), runs them through the order book and lifecycle (orders.py,
book.py), answers market-data requests (marketdata.py), and queues every answer with the
latencies its profile draws (outq.py). An ECN acknowledges at once and fills firm; an LP with
last look holds each order for its hold time and then fills it, or rejects it when the price
moved against it by more than its tolerance. Faults (faults.py, faultops.py) bend all this on
purpose. Time enters as `now` (epoch ns) from the event loop; latency draws come from a Random
seeded per venue, so the same seed and order flow give the same messages.
"""
from __future__ import annotations

import heapq
import random
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from fxpipe.fix.enums import ExecType, OrdStatus
from fxpipe.fix.session.session import SessionNotLoggedOn
from fxpipe.venue import faultops, link
from fxpipe.venue.book import PairBook, build_ladder
from fxpipe.venue.enums import OrdRejReason
from fxpipe.venue.faults import FaultBook
from fxpipe.venue.inbound import Refusal, RequestReader
from fxpipe.venue.market import Market
from fxpipe.venue.marketdata import MarketData
from fxpipe.venue.orders import CancelReject, ExecReport, Order, OrderManager
from fxpipe.venue.outbound import Renderer
from fxpipe.venue.outq import Outgoing, OutQueue
from fxpipe.venue.pairs import subset, symbol_index
from fxpipe.venue.profiles import Profile
from fxpipe.venue.settlement import next_roll_ns, trade_date

if TYPE_CHECKING:
    from fxpipe.feed.publisher import FeedPublisher
    from fxpipe.fix.session.transport import Engine

UNSUPPORTED_MESSAGE_TYPE = 3
CONDITIONALLY_REQUIRED_FIELD_MISSING = 5


class Venue:
    def __init__(self, profile: Profile, market: Market, seed: int, clock, broadcast=None):
        self.profile = profile
        self.market = market
        self.clock = clock
        self.broadcast = broadcast  # fn(changed market indices, now): step pace moves every venue
        wanted = {p.symbol for p in subset(market.pairs, list(profile.pairs) if profile.pairs else None)}
        self.mkt_index = [i for i, p in enumerate(market.pairs) if p.symbol in wanted]
        self.pairs = tuple(market.pairs[i] for i in self.mkt_index)
        self.venue_index = {mi: vi for vi, mi in enumerate(self.mkt_index)}
        self.symbols = symbol_index(self.pairs, profile.symbol_format)
        self.books = [PairBook(i) for i in range(len(self.pairs))]
        self.orders = OrderManager(profile.comp_id, self.books, profile.ioc_cancel_report)
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
        self.ladders: list[tuple[list, list]] = [([], []) for _ in self.pairs]
        self.holds: list[tuple[int, int, Order, int | None]] = []  # last look: (due, seq, order, ref px)
        self.timers: list[tuple[int, int, Callable[..., object], tuple]] = []  # (due, seq, fn, args)
        self.reorder: dict[str, list] = {}  # reports held by the reorder fault, per session
        self._tseq = 0
        self.next_roll = next_roll_ns(clock())
        self.counts = {"orders": 0, "fills": 0, "rejects": 0, "last_look_rejects": 0, "md_messages": 0}
        self.on_market(list(range(len(market.pairs))), clock())

    # -- timers ---------------------------------------------------------------------------------
    def after(self, due_ns: int, fn, *args) -> None:
        self._tseq += 1
        heapq.heappush(self.timers, (due_ns, self._tseq, fn, args))

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
            shown = ([(p, q) for p, q in bids], [(p, q) for p, q in asks])
            self.ladders[vi] = shown
            fills = self.books[vi].set_ladder(bids, asks)
            if fills:
                t = now + self.latency("fill")
                for r in self.orders.on_ladder(fills, now):
                    self.report(r, t)
            for session, (mt, body) in self.md.on_ladder(vi, *shown):
                self.emit(session, mt, body, now, now=now)
            if self.feed is not None:
                feed_updates.append((pair.instrument_id, now, shown[0], shown[1]))
        if feed_updates and self.feed is not None:  # only gathered when there is a feed
            self.feed.publish(feed_updates, now)

    def _inbound_moves_market(self, now: int) -> None:
        changed = self.market.on_inbound()
        if changed and self.broadcast is not None:
            self.broadcast(changed, now)

    # -- sessions ---------------------------------------------------------------------------------
    def on_logon(self, key: str, session, now: int) -> None:
        self.sessions[key] = session
        self.faults.on_logon(key, now)
        for item in self.out.release(key):
            self.out.push(now, item.session, item.msg_type, item.body, item.possdup)

    def on_logout(self, key: str, now: int) -> None:
        self.sessions.pop(key, None)
        self.md.drop_session(key)

    def on_message(self, key: str, msg, now: int) -> None:
        self._inbound_moves_market(now)
        handler = {"D": self._new, "F": self._cancel, "G": self._replace, "H": self._status,
                   "V": self._md_request}.get(msg.msg_type)
        if handler is None:
            mt, body = self.render.business_reject(msg.seq_num, msg.msg_type, None, UNSUPPORTED_MESSAGE_TYPE,
                                                   f"MsgType {msg.msg_type} is not supported by this venue")
            self.emit(key, mt, body, now)
            return
        handler(key, msg, now)
        faultops.fire_due(self, key, now)

    # -- outgoing -----------------------------------------------------------------------------------
    def emit(self, session: str, mt: str, body: list, due: int, possdup: bool = False, now: int | None = None) -> None:
        """Sends now when due now and nothing waits before it (market data, zero latency);
        queues otherwise."""
        if now is not None and due <= now and not possdup and self.out.idle(session, now):
            self._deliver(Outgoing(due, 0, session, mt, body), now)
            return
        self.out.push(due, session, mt, body, possdup)

    def report(self, r: ExecReport, due: int) -> None:
        """Queues an ExecutionReport, through the faults that bend reports."""
        if r.exec_type in (ExecType.FILL, ExecType.PARTIAL_FILL):
            self.counts["fills"] += 1
        elif r.exec_type == ExecType.REJECTED:
            self.counts["rejects"] += 1
        faultops.on_report(self, r, due)

    def send_report(self, r: ExecReport, due: int, possdup: bool = False) -> None:
        mt, body = self.render.exec_report(r)
        self.emit(r.session, mt, body, due, possdup)

    def cancel_reject(self, c: CancelReject, due: int) -> None:
        mt, body = self.render.cancel_reject(c)
        self.emit(c.session, mt, body, due)

    def _deliver(self, item: Outgoing, now: int) -> None:
        session = self.sessions.get(item.session)
        if session is None:
            self.out.hold(item)
            return
        try:
            if item.possdup:
                link.send_possdup(session, item.msg_type, item.body, now)
            else:
                session.send(item.msg_type, item.body)
        except SessionNotLoggedOn:
            self.out.hold(item)
        else:
            if item.msg_type in ("W", "X"):
                self.counts["md_messages"] += 1

    def on_timer(self, now: int) -> None:
        while self.holds and self.holds[0][0] <= now:
            _, _, o, ref = heapq.heappop(self.holds)
            self._last_look_decide(o, ref, now)
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
        pi = self.symbols.get(msg.get_str(55, ""), 0)
        r = self.orders.refusal(key, msg.get_str(11, "NONE"), pi, msg.get_str(54, "1"), now, why.text,
                                why.ord_rej_reason, symbol=msg.get_str(55))
        self.report(r, now + self.latency("ack"))

    def _new(self, key: str, msg, now: int) -> None:
        self.counts["orders"] += 1
        self.faults.count_order(key)
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
        ll = self.profile.last_look
        if ll is not None:
            if self.profile.ack_new:
                self.report(self.orders.ack(o, now), t_ack)
            ref = self.books[o.pair_index].best(o.side)
            self._tseq += 1
            heapq.heappush(self.holds, (now + int(ll.hold_ms * 1_000_000), self._tseq, o, ref))
            return
        ack = self.orders.ack(o, now) if self.profile.ack_new else None
        fills = self.orders.execute(o, now)
        faultops.ack_and_fills(self, key, ack, fills, t_ack, now)

    def _last_look_decide(self, o: Order, ref: int | None, now: int) -> None:
        if o.status != OrdStatus.PENDING_NEW and o.status != OrdStatus.NEW:
            return  # cancelled during the hold
        book = self.books[o.pair_index]
        pair = self.pairs[o.pair_index]
        cur = book.best(o.side)
        ll = self.profile.last_look
        assert ll is not None  # orders are held only under a last-look profile
        tol = int(ll.tolerance_pips * pair.pip_e8)
        moved = None
        if ref is None or cur is None:
            moved = "no price"
        else:
            adverse = (cur - ref) if o.side == "1" else (ref - cur)  # the price moved against the LP's client
            if adverse > tol:
                moved = f"{adverse / pair.pip_e8:.1f} pips"
        t = now + self.latency("fill")
        if moved is not None:
            self.counts["last_look_rejects"] += 1
            self.report(self.orders.reject(o, now, f"last look: price moved {moved} during the hold",
                                           OrdRejReason.BROKER_OPTION), t)
            return
        for r in self.orders.execute(o, now):
            self.report(r, t)

    def _cancel(self, key: str, msg, now: int) -> None:
        req = self.reader.cancel(key, msg)
        if isinstance(req, Refusal):
            self.cancel_reject(CancelReject(key, "NONE", msg.get_str(11, "NONE"), msg.get_str(41, "NONE"),
                                            OrdStatus.REJECTED, "1", 2, req.text, now), now + self.latency("ack"))
            return
        if faultops.fill_after_cancel(self, key, req, now):
            return
        got = self.orders.cancel(req, now)
        t = now + self.latency("ack")
        if isinstance(got, CancelReject):
            self.cancel_reject(got, t)
        else:
            self.report(got, t)

    def _replace(self, key: str, msg, now: int) -> None:
        req = self.reader.replace(key, msg)
        t = now + self.latency("ack")
        if isinstance(req, Refusal):
            self.cancel_reject(CancelReject(key, "NONE", msg.get_str(11, "NONE"), msg.get_str(41, "NONE"),
                                            OrdStatus.REJECTED, "2", 2, req.text, now), t)
            return
        results = self.orders.replace(req, now)
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
            mt, body = self.render.business_reject(msg.seq_num, "H", msg.get_str(11),
                                                   CONDITIONALLY_REQUIRED_FIELD_MISSING, req.text)
            self.emit(key, mt, body, t)
            return
        self.send_report(self.orders.status(key, req.cl_ord_id, req.pair_index, req.side, now), t)

    def _md_request(self, key: str, msg, now: int) -> None:
        req = self.reader.md_request(key, msg)
        if isinstance(req, Refusal):
            reason = {263: "4", 264: "5"}.get(req.tag) if req.tag is not None else None
            mt, body = self.render.md_reject(msg.get_str(262, "NONE"), reason, req.text)
            self.emit(key, mt, body, now)
            return
        for mt, body in self.md.request(req, lambda vi: self.ladders[vi]):
            self.emit(key, mt, body, now)

    def stats(self) -> dict:
        return dict(self.counts, open_orders=len(self.orders.open_orders()), queued=len(self.out),
                    sessions=sorted(self.sessions))
