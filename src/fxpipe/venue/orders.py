"""Client orders at one venue: their FIX 4.2 lifecycle and the ExecutionReports it produces.

The OrderManager is a pure state machine over requests and event timestamps: new (market or
limit; DAY, GTC, IOC, FOK), cancel, cancel/replace and status, fills when a pair's ladder
moves through a resting order, and expiry of DAY orders when the FX day rolls. It returns
ExecReport and CancelReject records; how they are written on the wire is fix_out's job.

Quantities `*_e2` and prices `*_e8` are integers. AvgPx is exact: an order keeps the sum of
px_e8 * qty_e2 of its fills and divides once, rounding half to even, so it never drifts.
On a replace, leaves = new order qty - cum qty; nothing ever lowers cum qty except a bust.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from fxpipe.fix.enums import CxlRejResponseTo, ExecTransType, ExecType, OrdStatus, OrdType, TimeInForce
from fxpipe.model.numbers import divide
from fxpipe.venue.book import PairBook
from fxpipe.venue.enums import DONE_STATUSES, CxlRejReason, OrdRejReason


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
    # exec_id -> (qty_e2, px_e8, ExecType) of every fill still standing (busts remove them)
    executions: dict[str, tuple[int, int, str]] = field(default_factory=dict)

    @property
    def avg_px_e8(self) -> int:
        return divide(self.notional_e10, self.cum_qty_e2) if self.cum_qty_e2 else 0

    @property
    def is_open(self) -> bool:
        return self.status not in DONE_STATUSES


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
    trade_ns: int = 0  # the instant the order was entered: its trade date fixes the value date
    symbol: str | None = None  # the client's own text, for a refusal of a symbol the venue does not know
    is_order: bool = True  # False: the answer to a request that never became an order (no value date)


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
    def __init__(self, venue_id: str, books: list[PairBook], ioc_cancel_report: bool = True):
        self.venue_id = venue_id
        self.books = books
        # True: an IOC/market remainder gets its own unsolicited Canceled report; False: the
        # last fill report already says OrdStatus=Canceled (both exist in the wild)
        self.ioc_cancel_report = ioc_cancel_report
        self.by_cl_ord_id: dict[tuple[str, str], Order] = {}
        self.by_order_id: dict[str, Order] = {}
        self._order_seq = 0
        self._exec_seq = 0
        self.phantoms = 0

    # -- ids -------------------------------------------------------------------------------
    def next_exec_id(self) -> str:
        self._exec_seq += 1
        return f"{self.venue_id}-E{self._exec_seq}"

    def report(self, o: Order, exec_type: str, now: int, last_qty: int = 0, last_px: int = 0,
               trans: str = ExecTransType.NEW, **extra) -> ExecReport:
        return ExecReport(
            o.session, o.order_id, o.cl_ord_id, o.orig_cl_ord_id, self.next_exec_id(), trans,
            exec_type, o.status, o.pair_index, o.side, o.ord_type, o.tif, o.order_qty_e2,
            o.price_e8, last_qty, last_px, o.leaves_qty_e2, o.cum_qty_e2, o.avg_px_e8, now,
            account=o.account, trade_ns=o.entered_ns, **extra)

    # -- new orders ------------------------------------------------------------------------
    def accept(self, req: NewOrder, now: int) -> Order | ExecReport:
        """Registers a new order (PendingNew, nothing matched yet) or returns its reject."""
        if (req.session, req.cl_ord_id) in self.by_cl_ord_id:
            o = Order(0, req.session, "NONE", req.cl_ord_id, req.pair_index, req.side, req.ord_type,
                      req.tif, req.order_qty_e2, req.price_e8, req.account, now, status=OrdStatus.REJECTED)
            return self.report(o, ExecType.REJECTED, now, ord_rej_reason=OrdRejReason.DUPLICATE_ORDER,
                               text=f"duplicate ClOrdID {req.cl_ord_id}", is_order=False)
        self._order_seq += 1
        o = Order(self._order_seq, req.session, f"{self.venue_id}-O{self._order_seq}", req.cl_ord_id,
                  req.pair_index, req.side, req.ord_type, req.tif, req.order_qty_e2, req.price_e8,
                  req.account, now, leaves_qty_e2=req.order_qty_e2)
        self.by_cl_ord_id[(req.session, req.cl_ord_id)] = o
        self.by_order_id[o.order_id] = o
        return o

    def refusal(self, session: str, cl_ord_id: str, pair_index: int, side: str, now: int, text: str,
                reason: int, symbol: str | None = None, trans: str = ExecTransType.NEW) -> ExecReport:
        """The reject of a request that never became an order (bad tags, unknown symbol, a
        status request for an unknown order...)."""
        ghost = Order(0, session, "NONE", cl_ord_id, pair_index, side, OrdType.LIMIT, TimeInForce.DAY, 0, None,
                      None, now, status=OrdStatus.REJECTED)
        return self.report(ghost, ExecType.REJECTED, now, trans=trans, text=text, ord_rej_reason=reason,
                           symbol=symbol, is_order=False)

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
        if o.tif == TimeInForce.FILL_OR_KILL and book.available(o.side, limit) < o.leaves_qty_e2:
            killed = self._kill(o, now, "FOK: not enough liquidity at the limit to fill in full", out)
            assert killed is not None  # no fill yet to fold the cancel into
            return [killed]
        for px, qty in book.take(o.side, o.leaves_qty_e2, limit):
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
        if o.leaves_qty_e2 == 0:
            o.status = OrdStatus.FILLED
            self.books[o.pair_index].remove(o)
            kind = ExecType.FILL
        else:
            o.status = OrdStatus.PARTIALLY_FILLED
            kind = ExecType.PARTIAL_FILL
        r = self.report(o, kind, now, qty, px)
        o.executions[r.exec_id] = (qty, px, kind)
        return r

    def on_ladder(self, fills: list[tuple], now: int) -> list[ExecReport]:
        """Reports for resting orders a new ladder crossed (from PairBook.set_ladder)."""
        return [self.fill(o, qty, px, now) for o, qty, px in fills]

    # -- cancel, replace, status ------------------------------------------------------------
    def _find(self, session: str, orig: str) -> Order | None:
        return self.by_cl_ord_id.get((session, orig))

    def _cxl_reject(self, req, o: Order | None, reason: int, text: str, to: str, now: int) -> CancelReject:
        return CancelReject(req.session, o.order_id if o else "NONE", req.cl_ord_id, req.orig_cl_ord_id,
                            o.status if o else OrdStatus.REJECTED, to, reason, text, now)

    def _check_amend(self, req, to: str, now: int) -> tuple[Order | None, CancelReject | None]:
        o = self._find(req.session, req.orig_cl_ord_id)
        if o is None:
            return None, self._cxl_reject(req, None, CxlRejReason.UNKNOWN_ORDER,
                                          f"unknown order OrigClOrdID {req.orig_cl_ord_id}", to, now)
        if not o.is_open:
            return None, self._cxl_reject(req, o, CxlRejReason.TOO_LATE_TO_CANCEL,
                                          f"too late: order is {OrdStatus(o.status).name.lower()}", to, now)
        if o.status == OrdStatus.PENDING_NEW:
            return None, self._cxl_reject(req, o, CxlRejReason.BROKER_OPTION,
                                          "order is still pending acceptance", to, now)
        if req.pair_index != o.pair_index or req.side != o.side:
            return None, self._cxl_reject(req, o, CxlRejReason.BROKER_OPTION,
                                          "symbol and side must match the original order", to, now)
        if (req.session, req.cl_ord_id) in self.by_cl_ord_id:
            return None, self._cxl_reject(req, o, CxlRejReason.BROKER_OPTION,
                                          f"duplicate ClOrdID {req.cl_ord_id}", to, now)
        return o, None

    def cancel(self, req: CancelRequest, now: int) -> ExecReport | CancelReject:
        o, rej = self._check_amend(req, CxlRejResponseTo.ORDER_CANCEL_REQUEST, now)
        if rej:
            return rej
        assert o is not None  # _check_amend gives an order whenever it gives no reject
        self.books[o.pair_index].remove(o)
        self._rename(o, req.cl_ord_id)
        o.status = OrdStatus.CANCELED
        o.leaves_qty_e2 = 0
        return self.report(o, ExecType.CANCELED, now)

    def _rename(self, o: Order, cl_ord_id: str) -> None:
        o.orig_cl_ord_id = o.cl_ord_id
        o.cl_ord_id = cl_ord_id
        self.by_cl_ord_id[(o.session, cl_ord_id)] = o

    def replace(self, req: ReplaceRequest, now: int) -> list[ExecReport | CancelReject]:
        o, rej = self._check_amend(req, CxlRejResponseTo.ORDER_CANCEL_REPLACE_REQUEST, now)
        if rej:
            return [rej]
        assert o is not None  # _check_amend gives an order whenever it gives no reject
        if req.ord_type != o.ord_type or req.tif != o.tif:
            return [self._cxl_reject(req, o, CxlRejReason.BROKER_OPTION,
                                     "OrdType and TimeInForce cannot be replaced", CxlRejResponseTo.ORDER_CANCEL_REPLACE_REQUEST, now)]
        if req.order_qty_e2 < o.cum_qty_e2:
            return [self._cxl_reject(req, o, CxlRejReason.BROKER_OPTION,
                                     "new OrderQty is below the quantity already filled",
                                     CxlRejResponseTo.ORDER_CANCEL_REPLACE_REQUEST, now)]
        book = self.books[o.pair_index]
        book.remove(o)
        loses_priority = req.price_e8 != o.price_e8 or req.order_qty_e2 > o.order_qty_e2
        self._rename(o, req.cl_ord_id)
        o.order_qty_e2 = req.order_qty_e2
        o.price_e8 = req.price_e8
        o.leaves_qty_e2 = req.order_qty_e2 - o.cum_qty_e2  # LESSONS 1: never the new qty alone
        if o.leaves_qty_e2 == 0:
            o.status = OrdStatus.FILLED
            return [self.report(o, ExecType.REPLACE, now, text="replaced down to the filled quantity")]
        if loses_priority:
            self._order_seq += 1
            o.seq = self._order_seq
        out: list = [self.report(o, ExecType.REPLACE, now)]
        out += self.execute(o, now)  # a repriced limit may now cross
        return out

    def status(self, session: str, cl_ord_id: str, pair_index: int, side: str, now: int) -> ExecReport:
        o = self._find(session, cl_ord_id)
        if o is None:
            return self.refusal(session, cl_ord_id, pair_index, side, now, f"unknown order {cl_ord_id}",
                                OrdRejReason.UNKNOWN_ORDER, trans=ExecTransType.STATUS)
        # FIX 4.2 has no ExecType "order status": a status reply repeats the current OrdStatus
        return self.report(o, o.status, now, trans=ExecTransType.STATUS)

    def expire_day_orders(self, trade_date_of, now: int) -> list[ExecReport]:
        """Expires open DAY orders entered on an earlier trade date than now's."""
        today = trade_date_of(now)
        out = []
        for o in sorted(self.by_order_id.values(), key=lambda x: x.seq):
            if o.is_open and o.tif == TimeInForce.DAY and trade_date_of(o.entered_ns) < today:
                self.books[o.pair_index].remove(o)
                o.status = OrdStatus.EXPIRED
                o.leaves_qty_e2 = 0
                out.append(self.report(o, ExecType.EXPIRED, now, text="DAY order expired at the 17:00 New York roll"))
        return out

    def open_orders(self, session: str | None = None) -> list[Order]:
        return [o for o in self.by_order_id.values() if o.is_open and (session is None or o.session == session)]
