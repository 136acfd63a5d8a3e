# The FIX store's log (storelog.pyx), declared for the session's outbox, which logs every message
# it sends with a C call.
from libc.stdint cimport int64_t, uint8_t, uint16_t


cdef class StoreLog:
    cdef public int64_t next_sender
    cdef public int64_t _log_end
    cdef public int64_t _log_cap
    cdef public object _log_map
    cdef public int _log_fd
    cdef public bint _dirty
    cdef bint _sync_each            # the `always` policy: each write made durable at once
    cdef uint16_t _magic
    cdef uint8_t _version
    cdef uint8_t _committed
    cdef Py_ssize_t _max_record

    cpdef int64_t log_sent(self, int64_t seq, raw) except -1
    cdef int64_t log_sent_c(self, int64_t seq, raw) except -1
    cdef int64_t _append_record(self, int64_t seq, payload, uint8_t flags) except -1
