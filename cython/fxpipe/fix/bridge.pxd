# FIX <-> fxpipe events (fxpipe.model.events), the hot paths with no Python objects:
#   OrderIntent event                -> NewOrderSingle / OrderCancelRequest / CancelReplace
#   ExecutionReport (8)              -> OrderUpdate event (+ Fill event for an execution)
#   OrderCancelReject (9)            -> OrderUpdate event
#   MarketData W / X                 -> Quote event (top of book)
# Venue and instrument ids are the caller's (the session knows its venue, refdata the symbol);
# the codec fills everything the message carries.
from libc.stdint cimport int64_t

from fxpipe.fix.encoder cimport FixTemplate
from fxpipe.fix.marketdata cimport MarketDataSnapshot, TopOfBook
from fxpipe.fix.scan cimport FixIndex
from fxpipe.model.events cimport Fill, OrderIntent, OrderUpdate, Quote

cdef Py_ssize_t fix_encode_intent(char* buf, Py_ssize_t cap, const FixTemplate* t, int64_t seq,
                                  int64_t sending_ns, const OrderIntent* intent,
                                  const char* symbol, Py_ssize_t symbol_len,
                                  Py_ssize_t* start) noexcept nogil
cdef int fix_execution_report_events(FixIndex* ix, OrderUpdate* update, Fill* fill,
                                     bint* has_fill) noexcept nogil
cdef int fix_cancel_reject_event(FixIndex* ix, OrderUpdate* update) noexcept nogil
cdef int fix_market_data_quote(FixIndex* ix, MarketDataSnapshot* scratch, TopOfBook* book,
                               Quote* quote) noexcept nogil
