# Intents into requests: new / cancel / replace checked against the order's state, ClOrdIDs
# allocated, and the request to send returned (IntentOutcome in book.pxd). A refused intent
# sends nothing and changes nothing but the book's clock.
#
# Rules: a cancel or replace may name any ClOrdID of the order's chain; nothing goes to the
# venue for an order already done; one cancel at a time; a cancel may overtake a pending
# replace (OrigClOrdID = the last accepted ClOrdID, as FIX 4.2 wants); a replace while any
# cancel or replace is pending is refused, not queued (the strategy decides again on the
# answer, with the quantities the venue then reports); a replace needs the venue's ack first
# and may not go below CumQty.
from libc.stdint cimport int64_t, uint16_t

from fxpipe.model.events cimport OrderIntent
from fxpipe.oms.book cimport IntentOutcome, OrderBook

# now_ns: the event time of the intent (event_time_ns of its header, or the caller's).
cdef void book_new_order(OrderBook* b, const OrderIntent* it, int64_t now_ns,
                         IntentOutcome* out) noexcept nogil
cdef void book_cancel(OrderBook* b, const OrderIntent* it, int64_t now_ns,
                      IntentOutcome* out) noexcept nogil
cdef void book_replace(OrderBook* b, const OrderIntent* it, int64_t now_ns,
                       IntentOutcome* out) noexcept nogil
# By it.action; an unknown action is refused as REFUSE_INVALID.
cdef void book_submit(OrderBook* b, const OrderIntent* it, int64_t now_ns,
                      IntentOutcome* out) noexcept nogil
# Refuse an intent for a reason found outside the book (REFUSE_NO_ROUTE: the router found no
# venue): the same synthetic reject and clock step as the book's own refusals.
cdef void book_refuse_intent(OrderBook* b, const OrderIntent* it, int64_t now_ns, uint16_t why,
                             IntentOutcome* out) noexcept nogil
