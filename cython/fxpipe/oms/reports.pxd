# Venue reports into the book: one normalised ExecutionReport or OrderCancelReject (the
# OrderUpdate the FIX bridge makes of a 35=8 / 35=9) and, for an execution, bust or
# correction, the Fill made of the same message. The outcome (ReportOutcome in book.pxd) holds
# what the stage publishes: the order's own view, the position deltas, the alarms.
#
# What the book believes: CumQty is the sum of the distinct fills it applied (idempotent by
# venue and ExecID), so duplicates, PossDup resends and reordering cannot move it; a live
# order's status follows from CumQty and the ack, so a stale report cannot regress it; a
# terminal status (canceled, expired, done for day, rejected) is taken from the venue; only a
# bust or correction moves CumQty down, explicitly, with a negative delta.
from fxpipe.model.events cimport Fill, OrderUpdate
from fxpipe.oms.book cimport OrderBook, ReportOutcome

# fill is NULL for a report without an execution. Never fails: a report the book cannot apply
# comes back as DISP_INVALID / DISP_UNKNOWN_ORDER with an alarm, the book unchanged.
cdef void book_apply_report(OrderBook* b, const OrderUpdate* update, const Fill* fill,
                            ReportOutcome* out) noexcept nogil
