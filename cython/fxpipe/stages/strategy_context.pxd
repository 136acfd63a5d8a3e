# A strategy's context and its orders in C (strategy_context.pyx): declared here so the quote
# path (fxpipe.stages.quotes) sets a context's clock and takes its intents without Python calls.
from libc.stdint cimport int64_t


cdef class Order:
    cdef public int64_t cl_ord_id
    cdef public int venue_id
    cdef public int instrument_id
    cdef public int side
    cdef public int64_t qty_e2
    cdef public int64_t price_e8
    cdef public int time_in_force
    cdef public int status
    cdef public int64_t cum_qty_e2
    cdef public int64_t leaves_qty_e2
    cdef public int64_t orig_cl_ord_id       # a replace: the order's previous ClOrdID


cdef class StrategyContext:
    cdef public int strategy_id
    cdef public int venue_id                 # default venue for submit()
    cdef public object books                 # has composite(instrument_id) / venue_quote()
    cdef public int64_t now_ns
    cdef public dict positions               # instrument -> net qty_e2
    cdef public dict orders                  # cl_ord_id -> Order (open)
    cdef public int64_t next_order
    cdef public int64_t trigger_seq
    # the hop stamps (venue, receive, decode) of the event being handled: its intents carry
    # them, so tick-to-trade is measured through the strategy; none: (0, now_ns, 0). C fields
    # (the quote path sets them per quote); Python sees them as the `hops` tuple or None
    cdef bint has_hops
    cdef int64_t hop_venue_ns, hop_receive_ns, hop_decode_ns
    cdef public list pending                 # intents made, as their bytes
    cdef dict __dict__                       # a strategy may keep its own notes on its context

    cpdef list take_bytes(self)
    cdef int64_t _integer(self, str what, value) except? -1
    cdef int _id(self, str what, value) except -1
    cdef int64_t _next_id(self) except -1
    cdef Order _open(self, cl_ord_id, str what)
    cdef int _intent(self, int action, int64_t cl, int64_t orig, Order o) except -1
