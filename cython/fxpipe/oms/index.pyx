"""Exact lookup tables of the order book (see index.pxd)."""
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcmp, memcpy

from fxpipe.model.events cimport FIX_ID_LEN

cdef uint64_t FNV_PRIME = 1099511628211ULL


cdef uint64_t fnv1a(uint64_t h, const void* data, Py_ssize_t n) noexcept nogil:
    cdef const uint8_t* p = <const uint8_t*>data
    cdef Py_ssize_t i
    for i in range(n):
        h = (h ^ p[i]) * FNV_PRIME
    return h


cdef uint64_t fnv1a_i64(uint64_t h, int64_t v) noexcept nogil:
    """v as 8 little-endian bytes, whatever the host's byte order."""
    cdef uint64_t u = <uint64_t>v
    cdef int i
    for i in range(8):
        h = (h ^ ((u >> (8 * i)) & 0xFF)) * FNV_PRIME
    return h


cdef inline uint64_t mix64(uint64_t k) noexcept nogil:
    """splitmix64 finaliser: spreads sequential ClOrdIDs over the table."""
    k ^= k >> 30
    k *= 0xbf58476d1ce4e5b9ULL
    k ^= k >> 27
    k *= 0x94d049bb133111ebULL
    k ^= k >> 31
    return k


cdef inline int64_t pow2_at_least(int64_t n) noexcept nogil:
    cdef int64_t c = 16
    while c < n:
        c <<= 1
    return c


# ------------------------------------------------------------------ ClOrdID -> request

cdef int id_index_init(IdIndex* ix, int64_t capacity) noexcept nogil:
    cdef int64_t cap = pow2_at_least(capacity * 2)
    ix.slots = <IdSlot*>calloc(cap, sizeof(IdSlot))
    if ix.slots == NULL:
        return -1
    ix.mask = cap - 1
    ix.count = 0
    return 0


cdef void id_index_free(IdIndex* ix) noexcept nogil:
    free(ix.slots)
    ix.slots = NULL
    ix.count = 0


cdef int32_t id_index_get(const IdIndex* ix, int64_t key) noexcept nogil:
    cdef int64_t i = <int64_t>(mix64(<uint64_t>key) & <uint64_t>ix.mask)
    while ix.slots[i].key != 0:
        if ix.slots[i].key == key:
            return ix.slots[i].value
        i = (i + 1) & ix.mask
    return -1


cdef void id_insert(IdSlot* slots, int64_t mask, int64_t key, int32_t value) noexcept nogil:
    cdef int64_t i = <int64_t>(mix64(<uint64_t>key) & <uint64_t>mask)
    while slots[i].key != 0 and slots[i].key != key:
        i = (i + 1) & mask
    slots[i].key = key
    slots[i].value = value


cdef int id_index_put(IdIndex* ix, int64_t key, int32_t value) noexcept nogil:
    """Insert or overwrite key (> 0)."""
    cdef int64_t cap, i, new_mask
    cdef IdSlot* grown
    if (ix.count + 1) * 2 > ix.mask + 1:
        cap = (ix.mask + 1) * 2
        grown = <IdSlot*>calloc(cap, sizeof(IdSlot))
        if grown == NULL:
            return -1
        new_mask = cap - 1
        for i in range(ix.mask + 1):
            if ix.slots[i].key != 0:
                id_insert(grown, new_mask, ix.slots[i].key, ix.slots[i].value)
        free(ix.slots)
        ix.slots = grown
        ix.mask = new_mask
    if id_index_get(ix, key) < 0:
        ix.count += 1
    id_insert(ix.slots, ix.mask, key, value)
    return 0


# ------------------------------------------------------------------ (venue, ExecID) -> execution

cdef uint64_t exec_key_hash(uint16_t venue_id, const char* exec_id) noexcept nogil:
    """Eight bytes at a time (FIX_ID_LEN is a multiple of 8): an ExecID is hashed on every
    fill, so this is on the hot path; memcpy keeps the loads alignment-safe."""
    cdef uint64_t h = mix64(<uint64_t>venue_id + 0x9e3779b97f4a7c15ULL)
    cdef uint64_t w
    cdef int i
    for i in range(0, FIX_ID_LEN, 8):
        memcpy(&w, exec_id + i, 8)
        h = mix64(h ^ w)
    return h if h != 0 else 1   # 0 marks an empty slot


cdef int exec_index_init(ExecIndex* ix, int64_t capacity) noexcept nogil:
    cdef int64_t cap = pow2_at_least(capacity * 2)
    ix.slots = <ExecSlot*>calloc(cap, sizeof(ExecSlot))
    if ix.slots == NULL:
        return -1
    ix.mask = cap - 1
    ix.count = 0
    return 0


cdef void exec_index_free(ExecIndex* ix) noexcept nogil:
    free(ix.slots)
    ix.slots = NULL
    ix.count = 0


cdef int32_t exec_index_get(const ExecIndex* ix, const ExecKey* keys, uint16_t venue_id,
                            const char* exec_id) noexcept nogil:
    cdef uint64_t h = exec_key_hash(venue_id, exec_id)
    cdef int64_t i = <int64_t>(h & <uint64_t>ix.mask)
    cdef int32_t v
    while ix.slots[i].hash != 0:
        if ix.slots[i].hash == h:
            v = ix.slots[i].value
            if keys[v].venue_id == venue_id and memcmp(keys[v].exec_id, exec_id, FIX_ID_LEN) == 0:
                return v
        i = (i + 1) & ix.mask
    return -1


cdef void exec_insert(ExecSlot* slots, int64_t mask, uint64_t h, int32_t value) noexcept nogil:
    cdef int64_t i = <int64_t>(h & <uint64_t>mask)
    while slots[i].hash != 0:
        i = (i + 1) & mask
    slots[i].hash = h
    slots[i].value = value


cdef int exec_index_put(ExecIndex* ix, uint64_t h, int32_t value) noexcept nogil:
    """Add a key known to be absent (the caller looked it up first)."""
    cdef int64_t cap, i, new_mask
    cdef ExecSlot* grown
    if (ix.count + 1) * 2 > ix.mask + 1:
        cap = (ix.mask + 1) * 2
        grown = <ExecSlot*>calloc(cap, sizeof(ExecSlot))
        if grown == NULL:
            return -1
        new_mask = cap - 1
        for i in range(ix.mask + 1):
            if ix.slots[i].hash != 0:
                exec_insert(grown, new_mask, ix.slots[i].hash, ix.slots[i].value)
        free(ix.slots)
        ix.slots = grown
        ix.mask = new_mask
    exec_insert(ix.slots, ix.mask, h, value)
    ix.count += 1
    return 0
