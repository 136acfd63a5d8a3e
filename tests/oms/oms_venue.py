"""A scripted venue for the order-book tests: keeps each order as a FIX 4.2 venue would
(OrderQty, CumQty, AvgPx exact, ExecIDs, the ClOrdID chain) and writes every answer as a real
ExecutionReport / OrderCancelReject on the wire, turned into events by the FIX codec's
bridge, exactly what the oms stage will receive. Every call returns a Report; `resend()` gives
the same message again with PossDupFlag=Y, as a resend would."""
from __future__ import annotations

from dataclasses import dataclass, field

from fxpipe.fix import bridge, codec, direct
from fxpipe.model import events as ev
from fxpipe.model.numbers import divide

VENUE_ENC = codec.Encoder("LP1", "FXPIPE")
T0_NS = 1_700_000_000_000_000_000


@dataclass
class Report:
    raw: bytes
    update: bytes
    fill: bytes | None

    @property
    def u(self):
        return ev.read(self.update)

    @property
    def f(self):
        return ev.read(self.fill) if self.fill is not None else None


@dataclass
class VenueOrder:
    cl_ord_id: int
    orig_cl_ord_id: int | None
    side: str
    ord_type: str
    tif: str
    order_qty_e2: int
    price_e8: int
    order_id: str
    status: str = "A"
    cum_qty_e2: int = 0
    notional_e10: int = 0
    executions: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def avg_px_e8(self) -> int:
        return divide(self.notional_e10, self.cum_qty_e2) if self.cum_qty_e2 else 0

    @property
    def leaves_qty_e2(self) -> int:
        return max(0, self.order_qty_e2 - self.cum_qty_e2) if self.status in "A0156E" else 0


class ScriptedVenue:
    def __init__(self, venue_id: int = 1):
        self.venue_id = venue_id
        self.seq = 0
        self.exec_seq = 0
        self.now = T0_NS
        self.orders: dict[int, VenueOrder] = {}     # every ClOrdID of the chain -> order

    # -- plumbing --------------------------------------------------------------------------
    def _tick(self) -> int:
        self.seq += 1
        self.now += 1_000
        return self.seq

    def _report(self, o: VenueOrder, exec_type: str, *, last_qty=0, last_px=0, trans="0",
                ref=None, exec_id=None, reason=None, cl_ord_id=None, orig=None) -> Report:
        if exec_id is None:
            self.exec_seq += 1
            exec_id = f"E{self.exec_seq}"
        fields = dict(order_id=o.order_id, cl_ord_id=str(cl_ord_id or o.cl_ord_id), exec_id=exec_id,
                      exec_trans_type=trans, exec_type=exec_type, ord_status=o.status,
                      symbol="EUR/USD", side=o.side, order_qty_e2=o.order_qty_e2,
                      ord_type=o.ord_type, time_in_force=o.tif, last_qty_e2=last_qty,
                      last_px_e8=last_px, leaves_qty_e2=o.leaves_qty_e2, cum_qty_e2=o.cum_qty_e2,
                      avg_px_e8=o.avg_px_e8)
        if o.ord_type == "2":
            fields["price_e8"] = o.price_e8
        orig = orig if orig is not None else o.orig_cl_ord_id
        if orig:
            fields["orig_cl_ord_id"] = str(orig)
        if ref:
            fields["exec_ref_id"] = ref
        if reason is not None:
            fields["ord_rej_reason"] = reason
        raw = direct.encode_execution_report(VENUE_ENC, self._tick(), self.now, fields)
        u, f = bridge.execution_report_to_events(raw)
        return Report(raw, u, f)

    def resend(self, r: Report) -> Report:
        """The same message again, PossDupFlag=Y (a resend after a gap)."""
        m = codec.parse(r.raw)
        raw = codec.encode(m.msg_type, "LP1", "FXPIPE",
                           self._tick(), self.now, m.body(),
                           header=[(43, "Y"), (122, codec.format_utc_timestamp(self.now))])
        if r.fill is None and ev.read(r.update)["report_kind"] == ev.ReportKind.CANCEL_REJECT:
            return Report(raw, bridge.cancel_reject_to_event(raw), None)
        u, f = bridge.execution_report_to_events(raw)
        return Report(raw, u, f)

    # -- what the venue does ---------------------------------------------------------------
    def take(self, send) -> VenueOrder:
        """A NewOrderSingle (the OMS's OrderIntent record) arrives; nothing is reported yet."""
        cl = int(send["cl_ord_id"])
        o = VenueOrder(cl, None, chr(send["side"]), chr(send["ord_type"]), chr(send["time_in_force"]),
                       int(send["qty_e2"]), int(send["price_e8"]), f"LP-O{cl % 10**12}")
        self.orders[cl] = o
        return o

    def order(self, cl_ord_id: int) -> VenueOrder:
        return self.orders[cl_ord_id]

    def ack(self, cl: int) -> Report:
        o = self.orders[cl]
        o.status = "0"
        return self._report(o, "0")

    def fill(self, cl: int, qty: int, px: int, *, final_status: str | None = None) -> Report:
        o = self.orders[cl]
        o.cum_qty_e2 += qty
        o.notional_e10 += qty * px
        o.status = "2" if o.cum_qty_e2 >= o.order_qty_e2 else "1"
        if final_status:
            o.status = final_status
        r = self._report(o, "2" if o.status == "2" else "1", last_qty=qty, last_px=px)
        o.executions[ev.read(r.fill)["exec_id"].decode()] = (qty, px)
        return r

    def overfill(self, cl: int, qty: int, px: int) -> Report:
        o = self.orders[cl]
        o.cum_qty_e2 += qty
        o.notional_e10 += qty * px
        o.status = "2"
        r = self._report(o, "2", last_qty=qty, last_px=px)
        o.executions[ev.read(r.fill)["exec_id"].decode()] = (qty, px)
        return r

    def cancel(self, cancel_cl: int, orig: int) -> Report:
        o = self.orders[orig]
        o.orig_cl_ord_id, o.cl_ord_id = o.cl_ord_id, cancel_cl
        self.orders[cancel_cl] = o
        o.status = "4"
        return self._report(o, "4")

    def unsolicited_cancel(self, cl: int) -> Report:
        o = self.orders[cl]
        o.status = "4"
        return self._report(o, "4")

    def expire(self, cl: int) -> Report:
        o = self.orders[cl]
        o.status = "C"
        return self._report(o, "C")

    def reject(self, cl: int, reason: int = 0) -> Report:
        o = self.orders[cl]
        o.status = "8"
        return self._report(o, "8", reason=reason)

    def replace(self, new_cl: int, orig: int, qty: int, px: int) -> Report:
        o = self.orders[orig]
        o.orig_cl_ord_id, o.cl_ord_id = o.cl_ord_id, new_cl
        self.orders[new_cl] = o
        o.order_qty_e2, o.price_e8 = qty, px
        o.status = "2" if o.cum_qty_e2 >= qty else ("1" if o.cum_qty_e2 else "0")
        return self._report(o, "5")

    def bust(self, cl: int, exec_id: str, *, works_again: bool = True) -> Report:
        o = self.orders[cl]
        qty, px = o.executions.pop(exec_id)
        o.cum_qty_e2 -= qty
        o.notional_e10 -= qty * px
        if works_again and o.cum_qty_e2 < o.order_qty_e2:
            o.status = "1" if o.cum_qty_e2 else "0"
        elif o.status == "2":
            o.status = "4"
        return self._report(o, "1" if o.cum_qty_e2 else "0", last_qty=qty, last_px=px, trans="1",
                            ref=exec_id)

    def correct(self, cl: int, exec_id: str, qty: int, px: int) -> Report:
        o = self.orders[cl]
        old_qty, old_px = o.executions.pop(exec_id)
        o.cum_qty_e2 += qty - old_qty
        o.notional_e10 += qty * px - old_qty * old_px
        if o.status in "12":
            o.status = "2" if o.cum_qty_e2 >= o.order_qty_e2 else "1"
        r = self._report(o, o.status if o.status in "12" else "1", last_qty=qty, last_px=px,
                         trans="2", ref=exec_id)
        o.executions[ev.read(r.fill)["exec_id"].decode()] = (qty, px)
        return r

    def status(self, cl: int) -> Report:
        """The answer to an OrderStatusRequest (ExecTransType=3)."""
        o = self.orders[cl]
        return self._report(o, o.status, trans="3")

    def unknown_status(self, cl: int) -> Report:
        """A status answer for an order the venue never received."""
        ghost = VenueOrder(cl, None, "1", "2", "0", 0, 0, "NONE", status="8")
        return self._report(ghost, "8", trans="3", reason=5)

    def cancel_reject(self, cl: int, orig: int, *, to: str = "1", reason: int = 0,
                      status: str | None = None) -> Report:
        o = self.orders.get(orig)
        fields = dict(order_id=o.order_id if o else "NONE", cl_ord_id=str(cl),
                      orig_cl_ord_id=str(orig), ord_status=status or (o.status if o else "8"),
                      cxl_rej_response_to=to, cxl_rej_reason=reason)
        raw = direct.encode_order_cancel_reject(VENUE_ENC, self._tick(), self.now, fields)
        return Report(raw, bridge.cancel_reject_to_event(raw), None)

    def phantom_fill(self, cl: int, qty: int, px: int) -> Report:
        """A fill for an order nobody sent (a venue mixing up ids)."""
        ghost = VenueOrder(cl, None, "1", "2", "3", qty, px, "LP-GHOST", status="2", cum_qty_e2=qty,
                           notional_e10=qty * px)
        return self._report(ghost, "2", last_qty=qty, last_px=px)


def intent(action="D", *, venue_id=1, cl_ord_id=0, orig=0, qty=1_000_000_00, px=1_085_000_00,
           side="1", ord_type="2", tif="0", strategy_id=7, t=T0_NS):
    return ev.make(ev.EventType.ORDER_INTENT, venue_id=venue_id, instrument_id=1, ts_decide_ns=t,
                   cl_ord_id=cl_ord_id, orig_cl_ord_id=orig, qty_e2=qty, price_e8=px,
                   action=ord(action), side=ord(side) if side else 0,
                   ord_type=ord(ord_type) if ord_type else 0,
                   time_in_force=ord(tif) if tif else 0, strategy_id=strategy_id)


def with_raw(record, **fields) -> bytes:
    """The event's bytes with fields written raw, past events.make's checks (a corrupt slot)."""
    arr = ev.read(record.tobytes()).copy() if hasattr(record, "tobytes") else ev.read(record).copy()
    raw = bytearray(arr.tobytes())
    dt = arr.dtype
    for name, value in fields.items():
        fmt, off = dt.fields[name][0], dt.fields[name][1]
        raw[off:off + fmt.itemsize] = int(value).to_bytes(fmt.itemsize, "little", signed=fmt.kind == "i")
    return bytes(raw)
