# Executions into the book: one Fill (an execution, a bust or a correction) applied to its order
# exactly once by (venue, ExecID), with the signed position deltas it makes. reports.pyx calls
# apply_fill for a report that carries a Fill, then applies the report's status part.
from libc.stdint cimport int32_t, int64_t, uint32_t

from fxpipe.model.events cimport Fill
from fxpipe.oms.book cimport OrderBook, ReportOutcome

cdef enum:  # what a fill did
    FILL_APPLIED = 0
    FILL_DUPLICATE = 1
    FILL_STALE = 2      # known already (late original of a busted/corrected fill)
    FILL_REFUSED = 3    # mismatch or conflict: alarm raised, nothing changed
    FILL_NO_MEMORY = 4

cdef inline void raise_alarm(ReportOutcome* out, uint32_t what, int64_t observed, int64_t limit) noexcept nogil:
    out.alarms |= what
    out.alarm_observed = observed
    out.alarm_limit = limit

# FILL_APPLIED: CumQty, AvgPx notional and out.fills changed; otherwise nothing did (an alarm may
# say why). Does not look at the report's status part.
cdef int apply_fill(OrderBook* b, int32_t idx, const Fill* f, ReportOutcome* out) noexcept nogil
