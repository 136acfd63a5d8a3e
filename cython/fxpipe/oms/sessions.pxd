# Order-session edges and request timeouts: what makes an order UNKNOWN, which venues take new
# orders, and the orders a reconciliation asks the venue about.
from libc.stdint cimport int32_t, int64_t, uint16_t

from fxpipe.oms.book cimport OrderBook, ReportOutcome

# Session edges and timeouts. session_down: orders of the venue with a request in flight go
# to UNKNOWN; returns how many. session_up: the venue takes new orders again once nothing
# there is UNKNOWN. next_unknown / next_open: iterate (index order) for reconciliation.
cdef int32_t book_session_down(OrderBook* b, uint16_t venue_id, int64_t now_ns) noexcept nogil
cdef void book_session_up(OrderBook* b, uint16_t venue_id, int64_t now_ns) noexcept nogil
cdef int32_t book_next_unknown(const OrderBook* b, uint16_t venue_id, int32_t start) noexcept nogil
cdef int32_t book_next_open(const OrderBook* b, uint16_t venue_id, int32_t start) noexcept nogil
# TIMER_ORDER_TIMEOUT for cl_ord_id: a request still pending makes its order UNKNOWN and asks
# for an OrderStatusRequest; a timer for a request already answered is DISP_STALE.
cdef void book_on_timeout(OrderBook* b, int64_t cl_ord_id, int64_t now_ns,
                          ReportOutcome* out) noexcept nogil
