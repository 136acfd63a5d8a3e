# cython: language_level=3, boundscheck=False, wraparound=False
"""A strategy's context and its orders, in C: what `submit`, `cancel` and `replace` do on every
decision.

The strategy API (fxpipe.strategy) is unchanged: a plain Python class calls these methods and
reads these attributes. In Python a submit cost ~1.4 us on the order path (an enum turned into an
int for each field, a dataclass's generated __init__, a 17-field struct pack, three calls),
more than a simple strategy's own decision; here it is one call that writes the OrderIntent's
C struct and an Order whose fields are C integers.
"""
from cpython.bytearray cimport PyByteArray_FromStringAndSize
from libc.stdint cimport int64_t, uint32_t
from libc.string cimport memset

from fxpipe.model.events cimport (
    EVENT_SIZE,
    EVT_ORDER_INTENT,
    INTENT_CANCEL,
    INTENT_NEW,
    INTENT_REPLACE,
    ORD_STATUS_CANCELED,
    ORD_STATUS_DONE_FOR_DAY,
    ORD_STATUS_EXPIRED,
    ORD_STATUS_FILLED,
    ORD_STATUS_PENDING_CANCEL,
    ORD_STATUS_PENDING_NEW,
    ORD_STATUS_PENDING_REPLACE,
    ORD_STATUS_REJECTED,
    ORD_STATUS_REPLACED,
    ORD_TYPE_LIMIT,
    OrderIntent,
    SIDE_BUY,
    SIDE_SELL,
)

import numpy as np

from fxpipe.model import events as _events

cdef enum:
    ID_BITS = 40                # cl_ord_id = strategy_id << 40 | per-strategy counter

_INTENT_DTYPE = _events.dtype_for(_events.EventType.ORDER_INTENT)


class StrategyError(ValueError):
    """A strategy asked for something the context refuses (says what and why)."""


cdef inline bint _is_done(int status) noexcept:
    return (status == ORD_STATUS_FILLED or status == ORD_STATUS_CANCELED or status == ORD_STATUS_REJECTED
            or status == ORD_STATUS_EXPIRED or status == ORD_STATUS_REPLACED or status == ORD_STATUS_DONE_FOR_DAY)


cdef class Order:
    """What the strategy knows of one of its orders: what it asked, then what the oms said."""

    def __init__(self, int64_t cl_ord_id, int venue_id, int instrument_id, int side, int64_t qty_e2,
                 int64_t price_e8, int time_in_force, int status=ORD_STATUS_PENDING_NEW, int64_t cum_qty_e2=0,
                 int64_t leaves_qty_e2=0, int64_t orig_cl_ord_id=0):
        self.cl_ord_id = cl_ord_id
        self.venue_id = venue_id
        self.instrument_id = instrument_id
        self.side = side
        self.qty_e2 = qty_e2
        self.price_e8 = price_e8
        self.time_in_force = time_in_force
        self.status = status
        self.cum_qty_e2 = cum_qty_e2
        self.leaves_qty_e2 = leaves_qty_e2
        self.orig_cl_ord_id = orig_cl_ord_id

    @property
    def done(self) -> bool:
        return _is_done(self.status)

    def _key(self):
        return (self.cl_ord_id, self.venue_id, self.instrument_id, self.side, self.qty_e2, self.price_e8,
                self.time_in_force, self.status, self.cum_qty_e2, self.leaves_qty_e2, self.orig_cl_ord_id)

    def __eq__(self, other):
        if type(other) is not Order:
            return NotImplemented
        return self._key() == (<Order>other)._key()

    __hash__ = None          # mutable: the oms's answers change it

    def __repr__(self):
        names = ("cl_ord_id", "venue_id", "instrument_id", "side", "qty_e2", "price_e8", "time_in_force",
                 "status", "cum_qty_e2", "leaves_qty_e2", "orig_cl_ord_id")
        return "Order(" + ", ".join(f"{n}={v!r}" for n, v in zip(names, self._key())) + ")"

    def __reduce__(self):
        return Order, self._key()


cdef class StrategyContext:
    """A strategy's view of the world and its way to act on it. Intents it creates are
    collected and handed to the host after the callback returns, in the order made."""

    def __init__(self, int strategy_id, int venue_id, books, int64_t now_ns=0, dict positions=None,
                 dict orders=None, int64_t next_order=1, int64_t trigger_seq=0, hops=None, list pending=None):
        self.strategy_id = strategy_id
        self.venue_id = venue_id
        self.books = books
        self.now_ns = now_ns
        self.positions = {} if positions is None else positions
        self.orders = {} if orders is None else orders
        self.next_order = next_order
        self.trigger_seq = trigger_seq
        self.hops = hops
        self.pending = [] if pending is None else pending

    @property
    def hops(self):
        """(venue, receive, decode) stamps of the event being handled, or None."""
        if not self.has_hops:
            return None
        return (self.hop_venue_ns, self.hop_receive_ns, self.hop_decode_ns)

    @hops.setter
    def hops(self, value):
        if value is None:
            self.has_hops = False
        else:
            self.hop_venue_ns, self.hop_receive_ns, self.hop_decode_ns = value
            self.has_hops = True

    def __repr__(self):
        return (f"StrategyContext(strategy_id={self.strategy_id}, venue_id={self.venue_id}, now_ns={self.now_ns}, "
                f"next_order={self.next_order}, open orders={len(self.orders)})")

    # --- reading -------------------------------------------------------------------------------

    def position(self, int instrument_id) -> int:
        """Net position in qty_e2 (positive long), as the oms last reported it."""
        return self.positions.get(instrument_id, 0)

    def book(self, instrument_id):
        """Composite top of book (fxpipe.stages.market_state.TopOfBook): stale quotes left out."""
        return self.books.composite(instrument_id)

    def order(self, cl_ord_id):
        return self.orders.get(cl_ord_id)

    def open_orders(self, instrument_id=None) -> list:
        return [o for _, o in sorted(self.orders.items())
                if not (<Order>o).done and (instrument_id is None or (<Order>o).instrument_id == instrument_id)]

    # --- acting --------------------------------------------------------------------------------

    def submit(self, instrument_id, side, qty_e2, price_e8, *, time_in_force=_events.TimeInForce.DAY,
               venue_id=None) -> int:
        """A new limit order; returns its cl_ord_id. The oms checks risk before it leaves."""
        cdef int s, tif, venue, instr
        cdef int64_t qty, px, cl
        cdef Order o
        if not isinstance(side, int) or (side != SIDE_BUY and side != SIDE_SELL):
            raise StrategyError(f"strategy {self.strategy_id}: side must be Side.BUY or Side.SELL, got {side!r}")
        s = side
        qty, px = self._integer("qty_e2", qty_e2), self._integer("price_e8", price_e8)
        if qty <= 0 or px <= 0:
            raise StrategyError(f"strategy {self.strategy_id}: qty_e2 and price_e8 must be > 0 "
                                f"(got qty_e2={qty_e2}, price_e8={price_e8})")
        venue = self.venue_id if venue_id is None else self._id("venue_id", venue_id)
        instr = self._id("instrument_id", instrument_id)
        tif = self._integer("time_in_force", time_in_force)
        if not 0 <= tif <= 255:
            raise StrategyError(f"strategy {self.strategy_id}: time_in_force {time_in_force} is not a TimeInForce")
        cl = self._next_id()
        o = Order.__new__(Order)
        o.cl_ord_id, o.venue_id, o.instrument_id, o.side, o.time_in_force = cl, venue, instr, s, tif
        o.qty_e2, o.price_e8, o.status, o.leaves_qty_e2 = qty, px, ORD_STATUS_PENDING_NEW, qty
        o.cum_qty_e2 = o.orig_cl_ord_id = 0
        self.orders[cl] = o
        self._intent(INTENT_NEW, cl, 0, o)
        return cl

    def cancel(self, cl_ord_id) -> int:
        """Asks to cancel an open order; returns the cancel request's cl_ord_id."""
        cdef Order o = self._open(cl_ord_id, "cancel")
        cdef int64_t cl = self._next_id()
        self._intent(INTENT_CANCEL, cl, cl_ord_id, o)
        o.status = ORD_STATUS_PENDING_CANCEL     # until the oms says canceled, or why not
        return cl

    def replace(self, cl_ord_id, *, qty_e2=None, price_e8=None) -> int:
        """Asks to change an open order's quantity and/or price; returns the new cl_ord_id,
        under which the order is known from now on."""
        cdef Order o = self._open(cl_ord_id, "replace")
        cdef int64_t qty = o.qty_e2 if qty_e2 is None else self._integer("qty_e2", qty_e2)
        cdef int64_t px = o.price_e8 if price_e8 is None else self._integer("price_e8", price_e8)
        cdef int64_t cl
        if qty <= 0 or px <= 0:
            raise StrategyError(f"strategy {self.strategy_id}: replace of {cl_ord_id} needs qty_e2 and price_e8 > 0")
        cl = self._next_id()
        new = Order(cl, o.venue_id, o.instrument_id, o.side, qty, px, o.time_in_force,
                    status=ORD_STATUS_PENDING_REPLACE, cum_qty_e2=o.cum_qty_e2,
                    leaves_qty_e2=max(0, qty - o.cum_qty_e2), orig_cl_ord_id=cl_ord_id)
        self.orders[cl] = new
        self._intent(INTENT_REPLACE, cl, cl_ord_id, new)
        return cl

    # --- host side -----------------------------------------------------------------------------

    def take(self) -> list:
        """The intents made since the last take, in the order made, as records."""
        out, self.pending = self.pending, []
        return [np.frombuffer(raw, _INTENT_DTYPE)[0] for raw in out]

    cpdef list take_bytes(self):
        """take() for a host that wants the intents' bytes (each its own buffer, the host's to
        stamp): no record is made."""
        out, self.pending = self.pending, []
        return out

    cdef int64_t _integer(self, str what, value) except? -1:
        """value as an exact integer (an int, an IntEnum, a numpy integer): never a float, which
        would be cut to an integer unseen (prices and quantities are exact)."""
        # an int or IntEnum passes without an attribute lookup (the order path)
        if not isinstance(value, int) and (isinstance(value, float) or not hasattr(value, "__index__")):
            raise StrategyError(f"strategy {self.strategy_id}: {what} must be an integer, got {value!r}")
        try:
            return value
        except OverflowError:
            raise StrategyError(f"strategy {self.strategy_id}: {what} {value} is out of range") from None

    cdef int _id(self, str what, value) except -1:
        cdef int64_t v = self._integer(what, value)
        if not 0 <= v <= 0xFFFF:
            raise StrategyError(f"strategy {self.strategy_id}: {what} must be within 0..65535, got {value}")
        return <int>v

    cdef int64_t _next_id(self) except -1:
        cdef int64_t n = self.next_order
        if n >= (<int64_t>1) << ID_BITS:
            raise StrategyError(f"strategy {self.strategy_id} has used every cl_ord_id")
        self.next_order = n + 1
        return ((<int64_t>self.strategy_id) << ID_BITS) | n

    cdef Order _open(self, cl_ord_id, str what):
        o = self.orders.get(cl_ord_id)
        if o is None or (<Order>o).done:
            raise StrategyError(f"strategy {self.strategy_id}: cannot {what} order {cl_ord_id}: "
                                f"{'unknown' if o is None else 'already done'}")
        return <Order>o

    cdef int _intent(self, int action, int64_t cl, int64_t orig, Order o) except -1:
        cdef OrderIntent it
        memset(&it, 0, EVENT_SIZE)
        it.hdr.type = EVT_ORDER_INTENT
        it.hdr.venue_id = <unsigned short>o.venue_id
        it.hdr.instrument_id = <unsigned short>o.instrument_id
        if self.has_hops:
            it.hdr.ts_venue_ns = self.hop_venue_ns
            it.hdr.ts_receive_ns = self.hop_receive_ns
            it.hdr.ts_decode_ns = self.hop_decode_ns
        else:
            it.hdr.ts_receive_ns = self.now_ns
        it.hdr.ts_decide_ns = self.now_ns
        it.cl_ord_id = cl
        it.orig_cl_ord_id = orig
        it.price_e8 = o.price_e8
        it.qty_e2 = o.qty_e2
        it.trigger_seq = self.trigger_seq
        it.strategy_id = <uint32_t>self.strategy_id
        it.action = <unsigned char>action
        it.side = <unsigned char>o.side
        it.ord_type = ORD_TYPE_LIMIT
        it.time_in_force = <unsigned char>o.time_in_force
        self.pending.append(PyByteArray_FromStringAndSize(<const char*>&it, EVENT_SIZE))
        return 0
