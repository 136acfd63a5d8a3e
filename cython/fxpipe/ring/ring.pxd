# The ring's Python-facing objects. Cython stages take the C state out of them and drive it
# with the inline calls of sequencer.pxd and barrier.pxd, with no Python on the path:
#
#     from fxpipe.ring.ring cimport Producer
#     from fxpipe.ring.sequencer cimport producer_claim, producer_publish, slot_ptr
#     cdef ProducerC* pc = &(<Producer>producer).c
#     seq = producer_claim(pc, 1, -1); memcpy(slot_ptr(pc.slots, seq, pc.mask, pc.slot_size), ...)
#     producer_publish(pc, seq, seq)
from libc.stdint cimport int32_t, int64_t, uint64_t
from fxpipe.ring.barrier cimport ConsumerC
from fxpipe.ring.layout cimport fx_ring_header
from fxpipe.ring.sequencer cimport ProducerC


cdef class Ring:
    cdef readonly str name
    cdef readonly str path
    cdef object _mm
    cdef object _buf
    cdef readonly object slots        # numpy view of the slot array (the ring's dtype)
    cdef fx_ring_header* hdr
    cdef char* base
    cdef char* slot_base
    cdef int32_t* avail
    cdef readonly bint owner
    cdef readonly object dtype

    cdef _map(self, int fd, int64_t size)
    cdef _bind(self, dtype)
    cdef void _check_open(self) except *
    cdef int _find(self, str name)
    cdef int _claim_free_entry(self, str name, uint64_t mask_bits) except -1


cdef class Producer:
    cdef ProducerC c
    cdef readonly Ring ring

    cdef int64_t _claim_slow(self, int64_t n, timeout) except -2


cdef class Consumer:
    cdef ConsumerC c
    cdef readonly Ring ring
    cdef readonly str name
    cdef int64_t _next               # next sequence to read
    cdef int64_t _batch_end          # last sequence handed out by read_batch, not yet released
    cdef readonly int64_t rejoined_gap

    cdef int64_t _wait(self, int64_t seq, timeout) except -3
    cdef void _release_to(self, int64_t s) noexcept
