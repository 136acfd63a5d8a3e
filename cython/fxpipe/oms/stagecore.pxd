# The oms stage's C path (stagecore.pyx), declared for the write-ahead step, which hands it
# each input with a C call.
cimport cython
from libc.stdint cimport int64_t

from fxpipe.model.events cimport Event, Fill, OrderIntent, OrderUpdate, Quote
from fxpipe.oms.book cimport OrderBook as BookC
from fxpipe.oms.view cimport OrderBook
from fxpipe.positions.book cimport PositionEngine
from fxpipe.risk.engine cimport RiskEngine


@cython.final
cdef class StageCore:
    cdef OrderBook view
    cdef BookC* b
    cdef PositionEngine pe
    cdef RiskEngine risk
    cdef object stage
    cdef list timers
    cdef Event held
    cdef readonly bint has_held
    # quotes in C: set by the stage when a mark only moves positions and risk (no routing, the
    # marks' PositionUpdates on the timer): the instruments marked go into this set
    cdef set marked
    # outputs made here as bytearrays (see the module's docstring), not records
    cdef public bint bytes_out

    cdef inline object record(self, const void* p)
    cdef inline object output(self, const void* p)
    cpdef object on_event(self, bytes raw, int64_t seq)
    cdef object quote(self, const Quote* q)
    cdef object intent(self, OrderIntent* it)
    cdef object report(self, const OrderUpdate* u, const Fill* f)
    cdef list outbox(self)
