# The Python view of the order book, declared so the oms stage's Cython core (stagecore.pyx)
# reaches the same C book the view holds: one book, two ways in.
from libc.stdint cimport int32_t

from fxpipe.oms.book cimport OrderBook as BookC, ReportOutcome


cdef class OrderBook:
    cdef BookC b
    cdef bint ready

    cdef object _intent(self, object intent, object now_ns, int which)
    cdef object _result(self, ReportOutcome* out)
    cdef object _view(self, int32_t i, tuple chain)
    cdef list _chains(self)
    cdef list _views(self, object venue_id, bint open_only)
