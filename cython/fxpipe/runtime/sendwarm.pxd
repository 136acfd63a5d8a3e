from libc.stdint cimport int64_t, uint64_t


cdef class SendPathWarmer:
    cdef int _tx, _rx
    cdef int64_t _every_ns, _next_ns
    cdef readonly uint64_t warms
    cdef readonly int error          # the errno that stopped the warmer (0: none)
    cdef object _socks

    # One byte through the kernel's TCP send path when the period is up (now_ns: monotonic);
    # nothing otherwise. Never blocks; an error stops the warmer (see `error`).
    cdef void tick(self, int64_t now_ns) noexcept nogil
