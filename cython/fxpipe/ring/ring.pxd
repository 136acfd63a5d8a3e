# A ring segment mapped into this process: its header, slots and MP availability flags.
# Producers and consumers over it are in endpoints.pxd.
from libc.stdint cimport int32_t, int64_t, uint64_t
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

    cdef _map(self, int fd, int64_t size)
    cdef _bind(self, dtype)
    cdef void _check_open(self) except *
    cdef int _find(self, str name)
    cdef int _claim_free_entry(self, str name, uint64_t mask_bits) except -1
