# The order gateway's write-ahead step (writeahead.pyx), declared for the gateway, which hands
# it each input with a C call.
cimport cython
from libc.stdint cimport int64_t, uint8_t

from fxpipe.journal.appender cimport SegmentAppender
from fxpipe.oms.stagecore cimport StageCore


@cython.final
cdef class WriteAhead:
    cdef SegmentAppender appender
    cdef object on_event
    cdef object first
    cdef readonly StageCore core # first's StageCore, when first is its on_event: called in C
    cdef object clock
    cdef readonly int64_t seq
    cdef uint8_t stage_id

    cpdef object feed(self, event)
