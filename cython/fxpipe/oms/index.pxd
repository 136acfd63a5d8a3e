# Exact lookup tables of the order book, C only: ClOrdID -> request slot and (venue, ExecID)
# -> execution slot. Open addressing with linear probing over a power-of-two table that
# doubles at 50% load; keys are compared in full, so a lookup is exact, never probabilistic.
# Nothing iterates these tables (the book walks its own arrays in insertion order), so their
# internal order can never leak into a state hash or an output.
from libc.stdint cimport int32_t, int64_t, uint16_t, uint64_t

from fxpipe.model.events cimport FIX_ID_LEN

cdef struct IdSlot:
    int64_t key          # 0 = empty (ClOrdIDs are > 0)
    int32_t value

cdef struct IdIndex:
    IdSlot* slots
    int64_t mask         # capacity - 1
    int64_t count

cdef struct ExecKey:
    uint16_t venue_id
    char exec_id[FIX_ID_LEN]

cdef struct ExecSlot:
    uint64_t hash        # 0 = empty
    int32_t value        # index into the caller's array, where the full key lives

cdef struct ExecIndex:
    ExecSlot* slots
    int64_t mask
    int64_t count

# Every function returns 0, or -1 when memory runs out (nothing changed then).
cdef int id_index_init(IdIndex* ix, int64_t capacity) noexcept nogil
cdef void id_index_free(IdIndex* ix) noexcept nogil
cdef int32_t id_index_get(const IdIndex* ix, int64_t key) noexcept nogil   # -1 if absent
cdef int id_index_put(IdIndex* ix, int64_t key, int32_t value) noexcept nogil

cdef uint64_t exec_key_hash(uint16_t venue_id, const char* exec_id) noexcept nogil
cdef int exec_index_init(ExecIndex* ix, int64_t capacity) noexcept nogil
cdef void exec_index_free(ExecIndex* ix) noexcept nogil
# -1 if absent. keys[i] is the full key of value i: the table keeps only hashes.
cdef int32_t exec_index_get(const ExecIndex* ix, const ExecKey* keys, uint16_t venue_id,
                            const char* exec_id) noexcept nogil
cdef int exec_index_put(ExecIndex* ix, uint64_t h, int32_t value) noexcept nogil

# FNV-1a, 64 bits: the book's state hash; start from fnv_basis().
cdef inline uint64_t fnv_basis() noexcept nogil:
    return 14695981039346656037ULL
cdef uint64_t fnv1a(uint64_t h, const void* data, Py_ssize_t n) noexcept nogil
cdef uint64_t fnv1a_i64(uint64_t h, int64_t v) noexcept nogil
