# A FIX connection's writing state (linkwriter.pyx), declared for the session's outbox, which
# writes every message with a C call.


cdef class LinkWriter:
    cdef public object engine
    cdef public object sock
    cdef public bytearray wbuf
    cdef public bint open
    cdef public object closing_since
    cdef int _fd

    cpdef write(self, data)
    cdef int write_c(self, data) except -1
