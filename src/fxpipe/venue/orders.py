"""Client orders at one venue: their FIX 4.2 lifecycle and the ExecutionReports it produces.

The OrderManager is a pure state machine over requests and event timestamps: new (market or
limit; DAY, GTC, IOC, FOK), cancel, cancel/replace and status, fills when a pair's ladder
moves through a resting order, and expiry of DAY orders when the FX day rolls. It returns
ExecReport and CancelReject records; how they are written on the wire is fix_out's job.

Quantities `*_e2` and prices `*_e8` are integers. AvgPx is exact: an order keeps the sum of
px_e8 * qty_e2 of its fills and divides once, rounding half to even, so it never drifts.
On a replace, leaves = new order qty - cum qty; nothing ever lowers cum qty except a bust or a
correction. A cancel or replace can be acknowledged first (Pending Cancel / Pending Replace) and
applied later, and a fill can come in between: the request then meets the order as it is by then.
OrderIDs and ExecIDs carry the venue's run id, so they are unique across runs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from fxpipe.fix.enums import (
    CxlRejReason,
    CxlRejResponseTo,
    ExecTransType,
    ExecType,
    OrdRejReason,
    OrdStatus,
    OrdType,
    TimeInForce,
)
from fxpipe.fix.tags import Tag
from fxpipe.model.numbers import divide
from fxpipe.venue.book import PairBook
from fxpipe.venue.enums import DONE_STATUSES


@dataclass(slots=True)
class NewOrder:
    session: str
    cl_ord_id: str
    pair_index: int
    side: str
    ord_type: str
    tif: str
    order_qty_e2: int
    price_e8: int | None
    account: str | None = None
    currency: str | None = None  # Currency (15) as the client wrote it; None: the base currency
    terms: bool = False  # OrderQty counts the pair's terms currency (USD in EUR/USD)


@dataclass(slots=True)
class CancelRequest:
    session: str
    cl_ord_id: str
    orig_cl_ord_id: str
    pair_index: int
    side: str


@dataclass(slots=True)
class ReplaceRequest:
    session: str
    cl_ord_id: str
    orig_cl_ord_id: str
    pair_index: int
    side: str
    ord_type: str
    tif: str
    order_qty_e2: int
    price_e8: int | None


@dataclass(slots=True, eq=False)
class Order:
    seq: int
    session: str
    order_id: str
    cl_ord_id: str
    pair_index: int
    side: str
    ord_type: str
    tif: str
    order_qty_e2: int
    price_e8: int | None
    account: str | None
    entered_ns: int
    orig_cl_ord_id: str | None = None
    leaves_qty_e2: int = 0
    cum_qty_e2: int = 0
    notional_e10: int = 0  # sum of px_e8 * qty_e2 over live fills
    status: OrdStatus = OrdStatus.PENDING_NEW
    currency: str | None = None
    terms: bool = False
    last_trade_ns: int = 0  # when it last traded: the trade date of a status report
    # a cancel (6) or replace (E) acknowledged and not yet applied: OrdStatus says so meanwhile
    pending: str | None = None
    # exec_id -> (qty_e2, px_e8, ExecType, trade ns) of every fill still standing (busts remove them)
    executions: dict[str, tuple[int, int, str, int]] = field(default_factory=dict)

    @property
    def avg_px_e8(self) -> int:
        return divide(self.notional_e10, self.cum_qty_e2) if self.cum_qty_e2 else 0

    @property
    def is_open(self) -> bool:
        return self.status not in DONE_STATUSES

    @property
    def shown_status(self) -> str:
        """OrdStatus on the wire: a pending cancel or replace outranks the working states."""
        return self.pending if self.pending and self.is_open else self.status


@dataclass(slots=True)
class ExecReport:
    """One ExecutionReport (35=8), every value already decided; money fields are integers."""

    session: str
    order_id: str
    cl_ord_id: str
    orig_cl_ord_id: str | None
    exec_id: str
    exec_trans_type: str
    exec_type: str
    ord_status: str
    pair_index: int
    side: str
    ord_type: str
    tif: str
    order_qty_e2: int
    price_e8: int | None
    last_qty_e2: int
    last_px_e8: int
    leaves_qty_e2: int
    cum_qty_e2: int
    avg_px_e8: int
    transact_ns: int
    account: str | None = None
    text: str | None = None
    ord_rej_reason: int | None = None
    exec_ref_id: str | None = None
    trade_ns: int = 0  # the instant of the trade (a fill's own time): its trade date fixes the value date
    currency: str | None = None  # Currency (15) the quantities count; None: the pair's base currency
    symbol: str | None = None  # the client's own text, for a refusal of a symbol the venue does not know
    is_order: bool = True  # False: the answer to a request that never became an order (no value date)
    order_qty_text: str | None = None  # a refusal echoes the client's OrderQty as written


@dataclass(slots=True)
class CancelReject:
    """One OrderCancelReject (35=9)."""

    session: str
    order_id: str
    cl_ord_id: str
    orig_cl_ord_id: str
    ord_status: str
    response_to: str
    reason: int
    text: str
    transact_ns: int


class OrderManager:
    def __init__(self, venue_id: str, books: list[PairBook], ioc_cancel_report: bool = True, run_id: str = "",
                 stale_orig_unknown: bool = False):
        self.venue_id = venue_id
        # OrderIDs and ExecIDs carry the run id, so no two runs of the venue ever reuse one
        self.id_prefix = f"{venue_id}-{run_id}" if run_id else venue_id
        self.books = books
        # True: an IOC/market remainder gets its own unsolicited Canceled report; False: the
        # last fill report already says OrdStatus=Canceled (both exist in the wild)
        self.ioc_cancel_report = ioc_cancel_report
        # True: a cancel or replace naming an earlier ClOrdID of a replace chain (not the
        # order's current one) is answered "unknown order", as strict venues do
        self.stale_orig_unknown = stale_orig_unknown
        self.by_cl_ord_id: dict[tuple[str, str], Order] = {}
        self.by_order_id: dict[str, Order] = {}
        self._order_seq = 0
        self._exec_seq = 0
        self.phantoms = 0

    # -- ids -------------------------------------------------------------------------------
    def next_exec_id(self) -> str:
        self._exec_seq += 1
        return f"{self.id_prefix}-E{self._exec_seq}"

    def report(self, o: Order, exec_type: str, now: int, last_qty: int = 0, last_px: int = 0,
               trans: str = ExecTransType.NEW, trade_ns: int | None = None, **extra) -> ExecReport:
        return ExecReport(
            o.session, o.order_id, o.cl_ord_id, o.orig_cl_ord_id, self.next_exec_id(), trans,
            exec_type, o.shown_status, o.pair_index, o.side, o.ord_type, o.tif, o.order_qty_e2,
            o.price_e8, last_qty, last_px, o.leaves_qty_e2, o.cum_qty_e2, o.avg_px_e8, now,
            account=o.account, trade_ns=now if trade_ns is None else trade_ns, currency=o.currency, **extra)

    # -- new orders ------------------------------------------------------------------------
    def accept(self, req: NewOrder, now: int) -> Order | ExecReport:
        """Registers a new order (PendingNew, nothing matched yet) or returns its reject."""
        if (req.session, req.cl_ord_id) in self.by_cl_ord_id:
            o = Order(0, req.session, "NONE", req.cl_ord_id, req.pair_index, req.side, req.ord_type,
                      req.tif, req.order_qty_e2, req.price_e8, req.account, now, status=OrdStatus.REJECTED,
                      currency=req.currency)
            return self.report(o, ExecType.REJECTED, now, ord_rej_reason=OrdRejReason.DUPLICATE_ORDER,
                               text=f"duplicate ClOrdID {req.cl_ord_id}", is_order=False)
        self._order_seq += 1
        o = Order(self._order_seq, req.session, f"{self.id_prefix}-O{self._order_seq}", req.cl_ord_id,
                  req.pair_index, req.side, req.ord_type, req.tif, req.order_qty_e2, req.price_e8,
                  req.account, now, leaves_qty_e2=req.order_qty_e2, currency=req.currency, terms=req.terms)
        self.by_cl_ord_id[(req.session, req.cl_ord_id)] = o
        self.by_order_id[o.order_id] = o
        return o

    def refusal(self, session: str, cl_ord_id: str, pair_index: int, side: str, now: int, text: str,
                reason: int, symbol: str | None = None, trans: str = ExecTransType.NEW,
                echo: dict[int, str] | None = None) -> ExecReport:
        """The reject of a request that never became an order (bad tags, unknown symbol, a
        status request for an unknown order...). `echo` holds what the client wrote in OrdType
        (40), TimeInForce (59), OrderQty (38) and Currency (15): the reject repeats it, and
        leaves out what the client did not send rather than invent a default."""
        echo = echo or {}
        ghost = Order(0, session, "NONE", cl_ord_id, pair_index, side, echo.get(Tag.OrdType, ""),
                      echo.get(Tag.TimeInForce, ""), 0, None, None, now, status=OrdStatus.REJECTED,
                      currency=echo.get(Tag.Currency))
        return self.report(ghost, ExecType.REJECTED, now, trans=trans, text=text, ord_rej_reason=reason,
                           symbol=symbol, is_order=False, order_qty_text=echo.get(Tag.OrderQty))

    def ack(self, o: Order, now: int) -> ExecReport:
        o.status = OrdStatus.NEW
        return self.report(o, ExecType.NEW, now)

    def reject(self, o: Order, now: int, text: str, reason: int = OrdRejReason.BROKER_OPTION) -> ExecReport:
        o.status = OrdStatus.REJECTED
        o.leaves_qty_e2 = 0
        return self.report(o, ExecType.REJECTED, now, text=text, ord_rej_reason=reason)

    def execute(self, o: Order, now: int) -> list[ExecReport]:
        """Matches an accepted order against its pair's ladder; rests what a DAY/GTC limit
        leaves; cancels what an IOC, FOK or market order leaves."""
        if o.status == OrdStatus.PENDING_NEW:
            o.status = OrdStatus.NEW
        book = self.books[o.pair_index]
        limit = o.price_e8 if o.ord_type == OrdType.LIMIT else None
        out: list[ExecReport] = []
        if o.tif == TimeInForce.FILL_OR_KILL and book.available(o.side, limit, o.terms) < o.leaves_qty_e2:
            killed = self._kill(o, now, "FOK: not enough liquidity at the limit to fill in full", out)
            assert killed is not None  # no fill yet to fold the cancel into
            return [killed]
        for px, qty in book.take(o.side, o.leaves_qty_e2, limit, o.terms):
            out.append(self.fill(o, qty, px, now))
        if o.leaves_qty_e2 == 0:
            return out
        if o.ord_type == OrdType.MARKET or o.tif in (TimeInForce.IMMEDIATE_OR_CANCEL, TimeInForce.FILL_OR_KILL):
            what = "market order" if o.ord_type == OrdType.MARKET else "IOC"
            killed = self._kill(o, now, f"{what} remainder canceled: no more liquidity", out)
            if killed is not None:  # None: folded into the last fill
                out.append(killed)
            return out
        book.rest(o)
        return out

    def finish_unfilled(self, o: Order, now: int, text: str, out: list) -> ExecReport | None:
        """Cancels what an order that may not rest leaves (an IOC remainder, a FOK)."""
        return self._kill(o, now, text, out)

    def _kill(self, o: Order, now: int, text: str, out: list) -> ExecReport | None:
        o.status = OrdStatus.CANCELED
        o.leaves_qty_e2 = 0
        if out and not self.ioc_cancel_report:
            last = out[-1]  # the venue folds the cancel into its last fill
            last.ord_status = OrdStatus.CANCELED
            last.leaves_qty_e2 = 0
            last.text = text
            return None
        return self.report(o, ExecType.CANCELED, now, text=text)

    def fill(self, o: Order, qty: int, px: int, now: int) -> ExecReport:
        o.cum_qty_e2 += qty
        o.notional_e10 += qty * px
        o.leaves_qty_e2 = max(0, o.order_qty_e2 - o.cum_qty_e2)
        o.last_trade_ns = now
        if o.leaves_qty_e2 == 0:
            o.status = OrdStatus.FILLED
            self.books[o.pair_index].remove(o)
            kind = ExecType.FILL
        else:
            o.status = OrdStatus.PARTIALLY_FILLED
            kind = ExecType.PARTIAL_FILL
        r = self.report(o, kind, now, qty, px)
        o.executions[r.exec_id] = (qty, px, kind, now)
        return r

    def on_ladder(self, fills: list[tuple], now: int) -> list[ExecReport]:
        """Reports for resting orders a new ladder crossed (from PairBook.set_ladder)."""
        return [self.fill(o, qty, px, now) for o, qty, px in fills]

    # -- cancel, replace, status ------------------------------------------------------------
    def _find(self, session: str, orig: str) -> Order | None:
        return self.by_cl_ord_id.get((session, orig))

    def _cxl_reject(self, req, o: Order | None, reason: int, text: str, to: str, now: int) -> CancelReject:
        return CancelReject(req.session, o.order_id if o else "NONE", req.cl_ord_id, req.orig_cl_ord_id,
                            o.shown_status if o else OrdStatus.REJECTED, to, reason, text, now)

    def check_amend(self, req, to: str, now: int) -> tuple[Order | None, CancelReject | None]:
        """The order a cancel or replace request names, or the OrderCancelReject it gets."""
        o = self._find(req.session, req.orig_cl_ord_id)
        if o is None:
            return None, self._cxl_reject(req, None, CxlRejReason.UNKNOWN_ORDER,
                                          f"unknown order OrigClOrdID {req.orig_cl_ord_id}", to, now)
        if not o.is_open:
            return None, self._cxl_reject(req, o, CxlRejReason.TOO_LATE_TO_CANCEL,
                                          f"too late: order is {OrdStatus(o.status).name.lower()}", to, now)
        if o.cl_ord_id != req.orig_cl_ord_id and self.stale_orig_unknown:
            return None, self._cxl_reject(req, None, CxlRejReason.UNKNOWN_ORDER,
                                          f"unknown order OrigClOrdID {req.orig_cl_ord_id}: it was replaced, "
                                          f"the order's ClOrdID is now {o.cl_ord_id}", to, now)
        if o.pending:
            return None, self._cxl_reject(req, o, CxlRejReason.ALREADY_PENDING,
                                          "a cancel or replace of this order is already pending", to, now)
        if o.status == OrdStatus.PENDING_NEW:
            return None, self._cxl_reject(req, o, CxlRejReason.BROKER_OPTION,
                                          "order is still pending acceptance", to, now)
        if req.pair_index != o.pair_index or req.side != o.side:
            return None, self._cxl_reject(req, o, CxlRejReason.BROKER_OPTION,
                                          "symbol and side must match the original order", to, now)
        if (req.session, req.cl_ord_id) in self.by_cl_ord_id:
            return None, self._cxl_reject(req, o, CxlRejReason.BROKER_OPTION,
                                          f"duplicate ClOrdID {req.cl_ord_id}", to, now)
        if isinstance(req, ReplaceRequest) and (req.ord_type != o.ord_type or req.tif != o.tif):
            return None, self._cxl_reject(req, o, CxlRejReason.BROKER_OPTION,
                                          "OrdType and TimeInForce cannot be replaced", to, now)
        return o, None

    def pending(self, o: Order, req, now: int) -> ExecReport:
        """Acknowledges a cancel (Pending Cancel, 150=6) or replace (Pending Replace, 150=E)
        before it is applied; the report carries the request's ClOrdID and OrigClOrdID."""
        kind = ExecType.PENDING_CANCEL if isinstance(req, CancelRequest) else ExecType.PENDING_REPLACE
        o.pending = OrdStatus.PENDING_CANCEL if kind == ExecType.PENDING_CANCEL else OrdStatus.PENDING_REPLACE
        r = self.report(o, kind, now)
        r.cl_ord_id, r.orig_cl_ord_id = req.cl_ord_id, req.orig_cl_ord_id
        return r

    def cancel(self, req: CancelRequest, now: int, checked: Order | None = None) -> ExecReport | CancelReject:
        """Applies a cancel request; `checked` is the order when a Pending Cancel already
        acknowledged it (it may have traded since: then too late, if it is done)."""
        o = checked
        if o is None:
            o, rej = self.check_amend(req, CxlRejResponseTo.ORDER_CANCEL_REQUEST, now)
            if rej:
                return rej
            assert o is not None  # check_amend gives an order whenever it gives no reject
        o.pending = None
        if not o.is_open:
            return self._cxl_reject(req, o, CxlRejReason.TOO_LATE_TO_CANCEL,
                                    f"too late: order is {OrdStatus(o.status).name.lower()}",
                                    CxlRejResponseTo.ORDER_CANCEL_REQUEST, now)
        self.books[o.pair_index].remove(o)
        self._rename(o, req.cl_ord_id)
        o.status = OrdStatus.CANCELED
        o.leaves_qty_e2 = 0
        return self.report(o, ExecType.CANCELED, now)

    def _rename(self, o: Order, cl_ord_id: str) -> None:
        o.orig_cl_ord_id = o.cl_ord_id
        o.cl_ord_id = cl_ord_id
        self.by_cl_ord_id[(o.session, cl_ord_id)] = o

    def replace(self, req: ReplaceRequest, now: int, checked: Order | None = None) -> list[ExecReport | CancelReject]:
        """Applies a replace. LeavesQty = new OrderQty - CumQty, so a replace never lets the
        venue fill more than the new quantity. A new OrderQty at or below CumQty (a fill raced
        the request) leaves nothing to work: the Replaced report says OrdStatus Filled with
        LeavesQty 0, as FIX 4.2 Appendix D answers a reduction below the executed quantity."""
        to = CxlRejResponseTo.ORDER_CANCEL_REPLACE_REQUEST
        o = checked
        if o is None:
            o, rej = self.check_amend(req, to, now)
            if rej:
                return [rej]
            assert o is not None  # check_amend gives an order whenever it gives no reject
        o.pending = None
        if not o.is_open:
            return [self._cxl_reject(req, o, CxlRejReason.TOO_LATE_TO_CANCEL,
                                     f"too late: order is {OrdStatus(o.status).name.lower()}", to, now)]
        book = self.books[o.pair_index]
        book.remove(o)
        loses_priority = req.price_e8 != o.price_e8 or req.order_qty_e2 > o.order_qty_e2
        self._rename(o, req.cl_ord_id)
        o.order_qty_e2 = req.order_qty_e2
        o.price_e8 = req.price_e8
        if req.order_qty_e2 <= o.cum_qty_e2:
            o.leaves_qty_e2 = 0
            o.status = OrdStatus.FILLED
            return [self.report(o, ExecType.REPLACE, now,
                                text="OrderQty at or below the quantity already filled: the order is filled")]
        o.leaves_qty_e2 = req.order_qty_e2 - o.cum_qty_e2  # never the new quantity alone
        if loses_priority:
            self._order_seq += 1
            o.seq = self._order_seq
        out: list = [self.report(o, ExecType.REPLACE, now)]
        out += self.execute(o, now)  # a repriced limit may now cross
        return out

    def cancel_session(self, session: str, now: int, text: str) -> list[ExecReport]:
        """Cancels every open order of a session (cancel on disconnect), oldest first."""
        out = []
        for o in sorted(self.open_orders(session), key=lambda x: x.seq):
            self.books[o.pair_index].remove(o)
            o.pending = None
            o.status = OrdStatus.CANCELED
            o.leaves_qty_e2 = 0
            out.append(self.report(o, ExecType.CANCELED, now, text=text))
        return out

    def status(self, session: str, cl_ord_id: str, pair_index: int, side: str, now: int) -> ExecReport:
        o = self._find(session, cl_ord_id)
        if o is None:
            return self.refusal(session, cl_ord_id, pair_index, side, now, f"unknown order {cl_ord_id}",
                                OrdRejReason.UNKNOWN_ORDER, trans=ExecTransType.STATUS)
        # FIX 4.2 has no ExecType "order status": a status reply repeats the current OrdStatus
        return self.report(o, o.shown_status, now, trans=ExecTransType.STATUS,
                           trade_ns=o.last_trade_ns or now)

    def expire_day_orders(self, trade_date_of, now: int) -> list[ExecReport]:
        """Expires open DAY orders entered on an earlier trade date than now's."""
        today = trade_date_of(now)
        out = []
        for o in sorted(self.by_order_id.values(), key=lambda x: x.seq):
            if o.is_open and o.tif == TimeInForce.DAY and trade_date_of(o.entered_ns) < today:
                self.books[o.pair_index].remove(o)
                o.pending = None
                o.status = OrdStatus.EXPIRED
                o.leaves_qty_e2 = 0
                out.append(self.report(o, ExecType.EXPIRED, now, text="DAY order expired at the 17:00 New York roll"))
        return out

    def open_orders(self, session: str | None = None) -> list[Order]:
        return [o for o in self.by_order_id.values() if o.is_open and (session is None or o.session == session)]
