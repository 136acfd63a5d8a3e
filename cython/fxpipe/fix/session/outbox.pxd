# The session's Outbox (numbered, stored, written, logged), declared for the order gateway,
# which hands an order to a logged-on session's outbox with a C call.
cimport cython
from libc.stdint cimport int64_t

from fxpipe.fix.encoder cimport Encoder


@cython.final
cdef class Outbox:
    cdef public object store
    cdef public object clock
    cdef public object log
    cdef public object link                  # the session's Connection; None: not connected
    cdef public int64_t last_sent            # when the last write began (wall clock, ns)
    cdef public int64_t logon_seq            # MsgSeqNum of the Logon sent on this connection
    cdef Encoder _encoder
    cdef list _held                          # a list while a resend is answered, else None

    cpdef bytes encode(self, mt, int64_t seq, body, header=*)
    cpdef int64_t send(self, mt, body, header=*) except? -1
    cpdef queue_or_write(self, bytes raw)
    cpdef write(self, bytes raw)
