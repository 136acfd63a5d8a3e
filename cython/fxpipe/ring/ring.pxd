# A ring segment mapped into this process: its header, slots and MP availability flags.
# Producers and consumers over it are in endpoints.pxd. The geometry (slot count and size,
# producer mode, flags) is kept here as validated when the segment was mapped: the hot paths
# never re-read it from shared memory, where a damaged header could point them anywhere.
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from fxpipe.ring.layout cimport fx_ring_header


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
    cdef int64_t n_slots
    cdef uint32_t n_slot_size
    cdef int mode
    cdef uint32_t flags

    cdef _map(self, int fd, int64_t size)
    cdef _bind(self, dtype, int64_t slot_count, uint32_t slot_size, int mode, uint32_t flags,
               int64_t avail_offset, int64_t slots_offset)
    cdef void _check_open(self) except *
    cdef int _find(self, str name)
