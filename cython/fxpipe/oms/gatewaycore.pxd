# The order gateway's hot path (gatewaycore.pyx), declared for the trading worker, which hands
# it intents and marks with C calls.
from libc.stdint cimport int64_t


cdef class GatewayCore:
    cdef public object _write_ahead
    cdef public object stage
    cdef public object on_output
    cdef public object on_sent
    cdef public dict links
    cdef public dict sessions
    cdef public object refdata
    cdef public object clock
    cdef public Py_ssize_t sent              # requests written to a session (status requests too)
    # warm(): the last request sent and its venue, rendered again (never sent) while idle
    cdef object _warm_request
    cdef int _warm_venue
    cdef public Py_ssize_t warmed            # warm() passes made
    cdef public str warm_error               # why warm() stopped (None: it runs)

    cpdef list _feed(self, event)
    cdef list feed_c(self, event)
    cpdef int64_t _send(self, req, raw=*) except? -1
    cpdef int warm(self)
    cdef int _stamp_sent(self, req, int64_t at) except -1
