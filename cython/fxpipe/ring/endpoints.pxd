# Producers and consumers for Python, and the handles Cython stages take the C state from,
# to drive it with the inline calls of sequencer.pxd and barrier.pxd, no Python on the path:
#
#     from fxpipe.ring.endpoints cimport Producer
#     from fxpipe.ring.sequencer cimport ProducerC, producer_claim, producer_publish, slot_ptr
#     cdef ProducerC* pc = &(<Producer>producer).c
#     seq = producer_claim(pc, 1, -1); memcpy(slot_ptr(pc.slots, seq, pc.mask, pc.slot_size), ...)
#     producer_publish(pc, seq, seq)
cimport cython
from libc.stdint cimport int64_t
from fxpipe.ring.barrier cimport ConsumerC
from fxpipe.ring.ring cimport Ring
from fxpipe.ring.sequencer cimport ProducerC


@cython.final
cdef class Producer:
    cdef ProducerC c
    cdef readonly Ring ring

    cdef int64_t _claim(self, int64_t n, timeout) except -2
    cdef int64_t _send(self, const char* src, Py_ssize_t n, timeout) except -2


@cython.final
cdef class Consumer:
    cdef ConsumerC c
    cdef readonly Ring ring
    cdef readonly str name
    cdef int64_t _next               # next sequence to read
    cdef int64_t _batch_end          # last sequence handed out by read_batch, not yet released
    cdef readonly int64_t rejoined_gap

    cdef int64_t _wait(self, int64_t seq, timeout) except -3
    cdef int64_t _wait_slow(self, int64_t seq, timeout) except -3
    cdef int64_t _copy_out(self, int64_t seq, char* dst, Py_ssize_t n) except -2
    cdef void _release_to(self, int64_t s) noexcept
    cdef int _release_checked(self, int64_t s) except -1
    cdef object _hand_out(self, int64_t lo, int64_t hi, max_n)
