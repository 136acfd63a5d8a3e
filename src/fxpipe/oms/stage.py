"""The oms stage: one pure, deterministic handler that takes a strategy's intent through
pre-trade risk and the order book to a request for the venue, and a venue's report through the
order book to position deltas, positions, PnL and what risk trips. No I/O, no wall clock: the
order gateway sends the ORDER_INTENT outputs (the requests, ClOrdIDs filled in) and an
OrderStatusRequest for every update it publishes in UNKNOWN; everything else is for the exec
ring. The same inputs give the same outputs and the same state hash, live and in replay.

Inputs and what each causes, in this order:
- OrderIntent (new / replace): risk first (a reject: its RiskEvent), then the order book (the
  order's view, PENDING_NEW / PENDING_REPLACE, then the request to send; a refusal: the
  book's synthetic reject). Cancels skip risk, which never refuses one.
- OrderUpdate [+ Fill] from a venue (venue_id set by the gateway): the book's view of the
  order when it changed, a RiskEvent ALARM per alarm the book raised, then per position delta
  the delta itself, the PositionUpdate, PnL and what risk trips (loss limit); then what risk
  makes of the order's new view (overfill: alarm, strategy stopped, kill switch per config;
  reject storm). A kill switch's cancels go through the book like any cancel.
- Fill: only as the second half of a report (the OrderUpdate right before it, same ClOrdID);
  a Fill on its own never moves a position here (an alarm says so).
- Quote: the mark; PositionUpdates and what risk trips (see the book stage).
- Control: kill switch, cancel all, limit changes; cancels go through the book; the RiskEvents
  answering it carry its request_id in cl_ord_id (see _on_control).
- Timer ORDER_TIMEOUT: the request's order UNKNOWN (the gateway asks the venue); other timers:
  the PnL snapshot (every strategy with an open position, then the desk; see the book stage).
- SessionEvent of an order session: DISCONNECTED makes orders in flight UNKNOWN; ACTIVE lets
  the venue take orders again once none is left UNKNOWN there.

Request timers: every request sent arms a deadline; `due_timers(now_ns)` gives the Timer
events whose deadline passed (in deadline, then ClOrdID order) for the caller to journal and
feed back, and `on_timer(now_ns)` does both at once. A Timer event that comes without having
been handed out (a replay of the journal) takes its timer off lazily: each timeout costs
O(log n), so a venue that stops answering thousands of requests does not stall the oms.
"""
from __future__ import annotations

import hashlib
import heapq
import json
import struct
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import fxpipe.model.events as ev
from fxpipe.oms.enums import Alarm, Disposition, RequestState, VenueState, Verdict
from fxpipe.oms.results import IntentResult, ReportResult
from fxpipe.oms.routing import Router, RoutingConfig, RoutingConfigError
from fxpipe.oms.stagecore import StageCore
from fxpipe.oms.view import OrderBook
from fxpipe.stage import event_time, register_stage
from fxpipe.stages.book import BookStage

NAME = "oms"
_T = ev.EventType
# a report of these kinds carries a Fill made of the same message (see the FIX bridge)
_FILL_EXEC_TYPES = (int(ev.ExecType.PARTIAL_FILL), int(ev.ExecType.FILL))
_FILL_TRANS_TYPES = (int(ev.ExecTransType.CANCEL), int(ev.ExecTransType.CORRECT))
# order-book alarms other than the overfill (which the risk engine raises from the order's view)
_BOOK_ALARMS = (Alarm.UNKNOWN_ORDER, Alarm.DUPLICATE_MISMATCH, Alarm.EXEC_REF_CONFLICT,
                Alarm.STATE_CONFLICT, Alarm.INVALID_REPORT, Alarm.OUT_OF_MEMORY)


_DTYPES = {int(t): ev.dtype_for(t) for t in ev.EventType}
_QUOTE, _INTENT, _UPDATE, _FILL = int(_T.QUOTE), int(_T.ORDER_INTENT), int(_T.ORDER_UPDATE), int(_T.FILL)
_CONTROL, _TIMER, _SESSION = int(_T.CONTROL), int(_T.TIMER), int(_T.SESSION)
_CANCEL, _NEW, _REPLACE = int(ev.IntentAction.CANCEL), int(ev.IntentAction.NEW), int(ev.IntentAction.REPLACE)
_EXECUTION = int(ev.ReportKind.EXECUTION)
_RISK, _SET_LIMIT = int(_T.RISK), int(ev.ControlCommand.SET_LIMIT)
_ANSWERED_COMMANDS = {int(c) for c in (ev.ControlCommand.KILL_SWITCH_ON, ev.ControlCommand.KILL_SWITCH_OFF,
                                       ev.ControlCommand.CANCEL_ALL, ev.ControlCommand.SET_LIMIT)}
_CORRECT = int(ev.ExecTransType.CORRECT)
_INDICATIVE = int(ev.QuoteCondition.INDICATIVE)
_BUY = int(ev.Side.BUY)
_IMMEDIATE = (int(ev.TimeInForce.IOC), int(ev.TimeInForce.FOK))
_HOPS = ("ts_venue_ns", "ts_receive_ns", "ts_decode_ns", "ts_decide_ns", "ts_risk_ns", "ts_send_ns")


def _intent_time(e: Any) -> int:
    """An intent's event time as the book takes it: the latest hop stamp in its header."""
    return max(int(e[h]) for h in _HOPS)


def _rec(raw: bytes) -> Any:
    """A writable record over its own copy of one event's bytes."""
    t = raw[0] | (raw[1] << 8)
    try:
        return np.frombuffer(bytearray(raw), dtype=_DTYPES[t])[0]
    except KeyError:
        raise ValueError(f"unknown event type {t}") from None


def _expects_fill(u: Any) -> bool:
    return (int(u["report_kind"]) == _EXECUTION
            and (int(u["exec_type"]) in _FILL_EXEC_TYPES
                 or int(u["exec_trans_type"]) in _FILL_TRANS_TYPES))


class OmsStage:
    """prefix: this OMS's ClOrdID prefix; request_timeout_ms: how long a request may wait for
    the venue's answer before its order is UNKNOWN (0: never)."""

    name = NAME

    def __init__(self, refdata_text: str, limits_text: str = "", prefix: int = 1,
                 request_timeout_ms: int = 2000, accounting: str = "average",
                 reporting_currency: str | None = None, max_strategies: int = 64,
                 routing: dict | None = None, mark_updates: str = "each"):
        if request_timeout_ms < 0:
            raise ValueError(f"request_timeout_ms must be >= 0, got {request_timeout_ms}")
        self._config = {"refdata_text": refdata_text, "limits_text": limits_text, "prefix": prefix,
                        "request_timeout_ms": request_timeout_ms, "accounting": accounting,
                        "reporting_currency": reporting_currency, "max_strategies": max_strategies}
        if mark_updates != "each":      # see BookStage: mark PositionUpdates on the timer
            self._config["mark_updates"] = mark_updates
        self.numbers = BookStage(refdata_text, limits_text, accounting, reporting_currency,
                                 max_strategies, mark_updates)
        self.positions = self.numbers.positions
        self.risk = self.numbers.risk
        self.book = OrderBook(prefix, request_timeout_ms * 1_000_000)
        self._timers: list[tuple[int, int]] = []      # (deadline_ns, ClOrdID), a heap
        # a timer due_timers() took off the heap and handed out, until its Timer event comes
        # back; and one whose Timer event came without that (a replay): left on the heap,
        # skipped when it comes up. Both O(1): a list search per timeout made a venue's
        # thousands of timeouts quadratic
        self._handed_out: set[tuple[int, int]] = set()
        self._cancelled: set[tuple[int, int]] = set()
        # the common paths in C (intent, report + Fill); it also holds a report waiting for
        # its Fill, for both paths
        self._core = StageCore(self, self.book, self.positions, self.risk, self._timers)
        # venue 0 on an intent asks for a route; without a routing table nothing is tracked
        # and such an intent is refused (NO_ROUTE)
        self.router: Router | None = None
        if routing is not None:
            rc = RoutingConfig.from_dict(routing)
            refdata = self.numbers.refdata
            for r in rc.venues:
                if r.venue_id not in refdata._venue_ids:
                    raise RoutingConfigError(f"routing: venue id {r.venue_id} is not a venue of the "
                                             f"reference data ({', '.join(refdata.venues)})")
            pips = {i.id: int(i.pip_size_e8) for i in refdata.instruments.values()}
            self.router = Router(rc, lambda i: pips.get(i, 0))
            self._config["routing"] = rc.to_dict()
        if self.router is None and self.numbers.mark_on_timer:
            self._core.quotes_in_c(self.numbers._marked)

    @classmethod
    def from_config(cls, config: bytes) -> OmsStage:
        return cls(**json.loads(config.decode()))

    def config(self) -> bytes:
        return json.dumps(self._config, sort_keys=True).encode()

    # ------------------------------------------------------------------ the Stage protocol

    def on_event(self, event: Any, seq: int = 0, end_of_batch: bool = True) -> Sequence[Any]:
        raw = event if isinstance(event, bytes) else event.tobytes()
        done = self._core.on_event(raw, seq)
        if done is not None:
            return done
        return self.python_path(raw, seq)

    @property
    def c_path(self) -> Callable[[bytes, int], list[Any] | None]:
        """on_event's first half, in C, on an event's bytes and its sequence (0: the one in the
        bytes): the outputs, or None, having changed nothing, where python_path() takes the
        event. A host that calls the two itself (the order gateway's write-ahead step) saves a
        Python call on every intent, mark and report."""
        return self._core.on_event

    @property
    def bytes_out(self) -> bool:
        """Outputs of the C path as bytearrays rather than records (fxpipe.oms.stagecore), for a
        host that takes events as bytes; the Python path's stay records."""
        return bool(self._core.bytes_out)

    @bytes_out.setter
    def bytes_out(self, on: bool) -> None:
        self._core.bytes_out = on

    def python_path(self, raw: bytes, seq: int = 0) -> Sequence[Any]:
        """on_event's second half: what the C path handed back."""
        e = _rec(raw)
        if seq:
            e["sequence"] = seq
        t = int(e["type"])
        out: list[Any] = []
        held = self._core.take_held()
        if held is not None:
            if t == _FILL and int(e["cl_ord_id"]) == int(held["cl_ord_id"]):
                return self.on_report(held, e)
            out += self.on_report(held, None)
        if t == _UPDATE:
            if _expects_fill(e):
                self._core.hold(e)    # its Fill is the next event; applied together
                return out
            return out + self.on_report(e, None)
        if t == _INTENT:
            return out + self.on_intent(e)
        if t == _FILL:
            return out + [self._alarm(0, int(e["cl_ord_id"]), e, observed=int(e["last_qty_e2"]))]
        if t == _QUOTE:
            if self.router is not None:
                self._route_quote(e)
            return out + self._intents_through_book(self.numbers.on_event(e))
        if t == _CONTROL:
            return out + self._on_control(e)
        if t == _TIMER:
            if int(e["kind"]) == ev.TimerKind.ORDER_TIMEOUT:
                return out + self._on_timeout(e)
            return out + self.numbers.on_event(e)
        if t == _SESSION and int(e["session_kind"]) == ev.SessionKind.ORDERS:
            return out + self._on_session(e)
        if t == _SESSION and self.router is not None and int(e["session_kind"]) == ev.SessionKind.MARKET_DATA \
                and int(e["state"]) != ev.SessionState.ACTIVE:
            self.router.market_data_down(int(e["venue_id"]), event_time(e))
        return out

    def on_timer(self, now_ns: int) -> list[Any]:
        out: list[Any] = []
        for timer in self.due_timers(now_ns):
            out += self.on_event(timer)
        return out

    def state_hash(self) -> bytes:
        h = hashlib.sha256()
        h.update(int(self.book.state_hash()).to_bytes(8, "little"))
        h.update(self.numbers.state_hash())
        if self.router is not None:
            h.update(struct.pack("<q", self.router.now_ns))
            for instr, venue, top in self.router.state_items():
                h.update(struct.pack("<HHqqqqq", instr, venue, top.bid_px_e8, top.bid_qty_e2,
                                     top.ask_px_e8, top.ask_qty_e2, top.ts_ns))
        return h.digest()

    # ------------------------------------------------------------------ routing

    def _route_quote(self, q: Any) -> None:
        assert self.router is not None
        self.router.on_quote(int(q["venue_id"]), int(q["instrument_id"]), int(q["level"]),
                             int(q["quote_cond"]) == _INDICATIVE, int(q["bid_px_e8"]), int(q["bid_qty_e2"]),
                             int(q["ask_px_e8"]), int(q["ask_qty_e2"]), event_time(q))

    def _venue_takes_orders(self, venue_id: int) -> bool:
        return self.book.venue_state(venue_id) == VenueState.UP

    def _route(self, intent: Any) -> int:
        """The venue for a new order with venue_id 0 (0: none can take it)."""
        if self.router is None:
            return 0
        self.router.note_time(_intent_time(intent))
        return self.router.choose(int(intent["instrument_id"]), int(intent["side"]) == _BUY,
                                  self._venue_takes_orders)

    # ------------------------------------------------------------------ timers

    def due_timers(self, now_ns: int, limit: int | None = None) -> list[Any]:
        """Timer events (ORDER_TIMEOUT) for every request whose deadline is <= now_ns, at most
        `limit` of them (None: all); the rest come on the next call, in the same order."""
        due: list[Any] = []
        while self._timers and self._timers[0][0] <= now_ns and (limit is None or len(due) < limit):
            key = heapq.heappop(self._timers)
            if key in self._cancelled:
                self._cancelled.discard(key)
                continue          # its Timer event came already (replayed)
            deadline, cl = key
            req = self.book.request(cl)
            if req is None or req.state != RequestState.PENDING:
                continue          # answered in time: nothing to time out
            self._handed_out.add(key)
            due.append(ev.make(_T.TIMER, kind=ev.TimerKind.ORDER_TIMEOUT, deadline_ns=deadline,
                               ref_id=cl, ts_receive_ns=deadline))
        return due

    def requests_in_flight(self) -> int:
        """Requests sent and not answered yet (timed by request_timeout_ms or not), and IOC /
        FOK orders acknowledged but not done: their fill or cancel is still to come."""
        return self.book.pending_requests() + sum(
            1 for o in self.book.open_orders()
            if o.time_in_force in _IMMEDIATE and o.status != ev.OrdStatus.PENDING_NEW)

    @property
    def next_deadline_ns(self) -> int | None:
        while self._timers and self._timers[0] in self._cancelled:
            self._cancelled.discard(heapq.heappop(self._timers))
        return self._timers[0][0] if self._timers else None

    def _on_timeout(self, e: Any) -> list[Any]:
        deadline = int(e["deadline_ns"])
        cl = int(e["ref_id"])
        # a replayed timer leaves the heap as the live one did (lazily: skipped when it comes up)
        key = (deadline, cl)
        if key in self._handed_out:
            self._handed_out.discard(key)
        else:
            self._cancelled.add(key)
        now = max(deadline, int(e["ts_receive_ns"]), int(e["ts_venue_ns"]))
        res = self.book.on_timeout(cl, now)
        return self._after_report(res, int(e["sequence"]))

    def _on_session(self, e: Any) -> list[Any]:
        venue = int(e["venue_id"])
        now = max(int(e[f]) for f in ("ts_venue_ns", "ts_receive_ns", "ts_decode_ns"))
        state = int(e["state"])
        if state == ev.SessionState.DISCONNECTED:
            out = []
            for view in self.book.session_down(venue, now):
                out.append(view)
                out += self.risk.apply(view)
            return out
        if state == ev.SessionState.ACTIVE:
            self.book.session_up(venue, now)
        return []

    # ------------------------------------------------------------------ intents

    def on_intent(self, intent: Any) -> list[Any]:
        action = int(intent["action"])
        seq = int(intent["sequence"])
        reused = int(intent["cl_ord_id"]) != 0 and self.book.request(int(intent["cl_ord_id"])) is not None
        if int(intent["venue_id"]) == 0:
            intent = _rec(intent.tobytes())
            if action == _NEW:
                if int(intent["cl_ord_id"]) == 0 and not reused:
                    intent["cl_ord_id"] = self.book.next_cl_ord_id
                venue = self._route(intent)
                if venue == 0:
                    # the book's synthetic reject; risk never saw the order
                    update = _rec(self.book.refuse_no_route(intent.tobytes()).update_raw)
                    update["sequence"] = seq
                    return [update]
                intent["venue_id"] = venue
            else:
                # a cancel or replace goes where its order is
                view = self.book.order(int(intent["orig_cl_ord_id"]))
                if view is not None:
                    intent["venue_id"] = view.venue_id
        if action != _CANCEL and not reused:     # a reused ClOrdID: the book refuses
            if int(intent["cl_ord_id"]) == 0:
                # the ClOrdID is chosen before risk sees the intent, so both track the same id
                intent = _rec(intent.tobytes())
                intent["cl_ord_id"] = self.book.next_cl_ord_id
            reject = self.risk.check(intent)
            if reject is not None:
                return [reject]
        res: IntentResult = self.book.submit(intent.tobytes())
        update = _rec(res.update_raw)
        if res.verdict != Verdict.SEND:
            update["sequence"] = seq
            out = [update]
            if reused or action == _CANCEL:
                return out
            if action == _NEW:
                # risk counted the order as open: it never left, so it is done for risk
                gone = _rec(res.update_raw)
                gone["ord_status"] = ev.OrdStatus.CANCELED
                gone["leaves_qty_e2"] = 0
                self.risk.apply(gone)
            elif action == _REPLACE:
                self.risk.apply(update)   # a cancel reject to the replace: risk drops it
            return out
        send = _rec(res.send_raw) if res.send_raw is not None else None
        if res.deadline_ns and send is not None:
            heapq.heappush(self._timers, (res.deadline_ns, int(send["cl_ord_id"])))
        return [update] if send is None else [update, send]

    def _on_control(self, c: Any) -> list[Any]:
        """Risk's answer to an operator command, its cancels through the book. A Control with a
        request_id gets its id back in the cl_ord_id of every RiskEvent answering it (such a
        RiskEvent concerns no order), and a kill switch or cancel-all that changed no switch gets
        one RiskEvent echoing the switch's state, `limit` = the cancels sent."""
        out = self._intents_through_book(self.risk.apply(c))
        rid, cmd = int(c["request_id"]), int(c["command"])
        if not rid or cmd not in _ANSWERED_COMMANDS:
            return out
        answered = False
        for r in out:
            if int(r["type"]) == _RISK:
                r["cl_ord_id"] = rid
                answered = True
        if not answered and cmd != _SET_LIMIT:
            sid = int(c["strategy_id"])
            on = self.risk.killed(sid)
            A = ev.RiskAction
            action = (A.KILL_SWITCH_ON if on else A.KILL_SWITCH_OFF) if sid == 0 else \
                (A.STRATEGY_STOPPED if on else A.STRATEGY_RESUMED)
            out.append(ev.make(_T.RISK, check=ev.RiskCheck.KILL_SWITCH, action=action, strategy_id=sid,
                               cl_ord_id=rid, limit=sum(1 for r in out if int(r["type"]) == _INTENT),
                               cause_seq=int(c["sequence"]), ts_receive_ns=int(c["ts_receive_ns"])))
        return out

    def _intents_through_book(self, events: Sequence[Any]) -> list[Any]:
        """Risk's outputs with its cancel intents sent through the book: only those the book
        sends come out (a cancel for an order already done or already canceling is moot)."""
        out: list[Any] = []
        for e in events:
            if int(e["type"]) != _INTENT:
                out.append(e)
                continue
            res: IntentResult = self.book.submit(e.tobytes())
            if res.verdict == Verdict.SEND and res.send_raw is not None:
                send = _rec(res.send_raw)
                if res.deadline_ns:
                    heapq.heappush(self._timers, (res.deadline_ns, int(send["cl_ord_id"])))
                out += [_rec(res.update_raw), send]
        return out

    # ------------------------------------------------------------------ reports

    def on_report(self, update: Any, fill: Any | None) -> list[Any]:
        """One venue report: the OrderUpdate made of a 35=8/35=9 and, for an execution, bust or
        correction, the Fill made of the same message."""
        res: ReportResult = self.book.apply_report(
            update.tobytes(), None if fill is None else fill.tobytes())
        return self._after_report(res, int(update["sequence"]))

    def _after_report(self, res: ReportResult, seq: int) -> list[Any]:
        out: list[Any] = []
        view = _rec(res.update_raw)
        view["sequence"] = seq
        if res.publish:
            out.append(view)
        for alarm in _BOOK_ALARMS:
            if res.alarms & alarm:
                out.append(self._alarm(int(alarm), int(view["cl_ord_id"]), view,
                                       observed=res.alarm_observed, limit=res.alarm_limit))
        new_half = any(_rec(r)["exec_trans_type"] == _CORRECT and _rec(r)["last_qty_e2"] > 0
                       for r in res.fill_raws) if len(res.fill_raws) > 1 else False
        for raw in res.fill_raws:
            delta = _rec(raw)
            delta["sequence"] = seq
            out.append(delta)
            # the positions engine takes a correction as one fill naming the one it replaces:
            # the undo half of the book's pair is implied there
            if int(delta["exec_trans_type"]) == _CORRECT:
                if int(delta["last_qty_e2"]) < 0:
                    if new_half:
                        continue
                    # the book undid the named fill but counts nothing new (the new ExecID was
                    # busted before it arrived): for positions that is a bust of the named fill
                    delta = _rec(delta.tobytes())
                    delta["exec_trans_type"] = ev.ExecTransType.CANCEL
                    delta["last_qty_e2"] = -int(delta["last_qty_e2"])
                    out += self._intents_through_book(self.numbers.on_event(delta))
                    continue
                if self.positions.fill_state(int(delta["venue_id"]), bytes(delta["exec_ref_id"])) is None:
                    # a correction that overtook the fill it names: the book counts it as the
                    # order's fill (the named one will count for nothing), so positions do too
                    delta = _rec(delta.tobytes())
                    delta["exec_trans_type"] = ev.ExecTransType.NEW
                    delta["exec_ref_id"] = b""
            out += self._intents_through_book(self.numbers.on_event(delta))
        if res.publish and res.disposition == Disposition.APPLIED:
            out += self._intents_through_book(self.risk.apply(view))
        return out

    def _alarm(self, code: int, cl_ord_id: int, about: Any, observed: int = 0,
               limit: int = 0) -> Any:
        """A RiskEvent ALARM, check FILL_REFUSED (a venue report the book could not take as it
        stands), for the desk: `order_qty_e2` holds the order book's Alarm flag
        (fxpipe.oms.Alarm; 0 for a Fill with no report), `observed`/`limit` what it saw."""
        side = int(about["side"]) if "side" in about.dtype.names else 0
        return ev.make(_T.RISK, check=ev.RiskCheck.FILL_REFUSED, action=ev.RiskAction.ALARM,
                       value_scale=2, observed=observed, limit=limit, order_qty_e2=code,
                       cl_ord_id=cl_ord_id,
                       strategy_id=int(about["strategy_id"]), cause_seq=int(about["sequence"]),
                       instrument_id=int(about["instrument_id"]), venue_id=int(about["venue_id"]),
                       side=side if side in (ev.Side.BUY, ev.Side.SELL) else 0)

    # ------------------------------------------------------------------ recovery

    def rebuild(self, inputs: Sequence[Any]) -> list[Any]:
        """Feed journaled inputs (as on_event) and return every output; the stage ends in the
        state the live one had after the same inputs."""
        out: list[Any] = []
        for e in inputs:
            out += self.on_event(e)
        return out + self.flush()

    def flush(self) -> list[Any]:
        """Apply a report still waiting for its Fill (end of a journal)."""
        held = self._core.take_held()
        if held is None:
            return []
        return self.on_report(held, None)


register_stage(NAME, OmsStage.from_config)
