# The producer side of a ring: claim sequences (single- or multi-producer), publish them.
# The hot calls are inline here so a Cython stage that cimports them pays no call; the slow
# paths (waiting for space, the multi-producer claim) live in sequencer.pyx.
#
# Sequences start at -1 (nothing published); slot of sequence s = s & mask.
from libc.stdint cimport int32_t, int64_t, uint32_t
from fxpipe.includes.atomic cimport (fx_fence_seq_cst, fx_fetch_add_u32, fx_futex_wake_all,
                                     fx_load_relaxed_u32, fx_store_release_i32,
                                     fx_store_release_i64)
from fxpipe.ring.layout cimport FX_PRODUCER_SINGLE, fx_ring_header
from fxpipe.ring.membership cimport note_empty_wakes
from fxpipe.ring.wait cimport WaitState

cdef enum:
    CLAIM_TIMEOUT = -1           # claim gave up: the ring stayed full past the timeout

ctypedef struct ProducerC:
    fx_ring_header* hdr
    char* slots
    int32_t* avail               # MP availability flags (NULL for SP)
    int64_t mask
    int64_t size
    int shift                    # log2(size): round number of a sequence = s >> shift
    uint32_t slot_size
    int mode                     # FX_PRODUCER_SINGLE / FX_PRODUCER_MULTI
    bint blocking                # ring allows BLOCK waiters: publish must wake them
    bint auto_detach             # detach dead gating consumers instead of waiting on them
    int64_t next                 # SP: last claimed sequence (producer-local)
    int64_t gating_cache         # SP: last seen minimum consumer sequence (producer-local)
    uint32_t empty_wakes         # consecutive FUTEX_WAKEs that woke nobody (stale waiter count?)
    WaitState wait


cdef int64_t min_gating_sequence(fx_ring_header* hdr, int64_t default) noexcept nogil
cdef int64_t producer_wait_space(ProducerC* p, int64_t wrap_point, int64_t timeout_ns) noexcept nogil
cdef int64_t mp_claim(ProducerC* p, int64_t n, int64_t timeout_ns) noexcept nogil


cdef inline char* slot_ptr(char* slots, int64_t seq, int64_t mask, uint32_t slot_size) noexcept nogil:
    return slots + (seq & mask) * <int64_t>slot_size


cdef inline int64_t producer_claim(ProducerC* p, int64_t n, int64_t timeout_ns) noexcept nogil:
    """First of n consecutive sequences now owned by this producer, or CLAIM_TIMEOUT.
    n must be 1..size. timeout_ns < 0 waits for ever (for space), 0 never waits."""
    cdef int64_t nxt
    if p.mode == FX_PRODUCER_SINGLE:
        nxt = p.next + n
        if nxt - p.size > p.gating_cache:
            if producer_wait_space(p, nxt - p.size, timeout_ns) == CLAIM_TIMEOUT:
                return CLAIM_TIMEOUT
        p.next = nxt
        return nxt - n + 1
    return mp_claim(p, n, timeout_ns)


cdef inline void producer_publish(ProducerC* p, int64_t lo, int64_t hi) noexcept nogil:
    """Make sequences lo..hi visible to consumers (release: slot writes happen before)."""
    cdef int64_t s
    if p.mode == FX_PRODUCER_SINGLE:
        fx_store_release_i64(&p.hdr.cursor.value, hi)
    else:
        s = lo
        while s <= hi:
            fx_store_release_i32(&p.avail[s & p.mask], <int32_t>(s >> p.shift))
            s += 1
    if p.blocking:
        fx_fence_seq_cst()
        if fx_load_relaxed_u32(&p.hdr.futex.pub_waiters) != 0:
            fx_fetch_add_u32(&p.hdr.futex.pub_epoch, 1)
            if fx_futex_wake_all(&p.hdr.futex.pub_epoch) == 0:
                note_empty_wakes(p.hdr, &p.empty_wakes)
            else:
                p.empty_wakes = 0
