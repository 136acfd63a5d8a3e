# The consumer side of a ring: the barrier a consumer waits on (the published cursor, or the
# consumers it depends on) and the release of what it has processed. Hot calls inline here;
# the waiting loop is in barrier.pyx.
#
# A consumer that may have been detached (an operator, the supervisor or the producer's
# auto-detach) must not trust a slot it copied: the producer stops honouring a detached
# consumer and reuses its slots. consumer_is_member() after the copy says whether the copy is
# good; consumer_wait() returns WAIT_DETACHED instead of waiting for ever on a slot that will
# never carry its sequence.
from libc.stdint cimport INT64_MAX, int32_t, int64_t, uint32_t, uint64_t
from fxpipe.includes.atomic cimport (fx_coarse_ns, fx_fence_acquire, fx_fence_seq_cst,
                                     fx_fetch_add_u32, fx_futex_wake_all, fx_load_acquire_i32,
                                     fx_load_acquire_i64, fx_load_acquire_u32, fx_load_acquire_u64,
                                     fx_load_relaxed_u32, fx_store_relaxed_i64,
                                     fx_store_release_i64)
from fxpipe.ring.layout cimport FX_PRODUCER_MULTI, FX_RING_CLOSED, fx_consumer_entry, fx_ring_header
from fxpipe.ring.membership cimport note_empty_wakes
from fxpipe.ring.wait cimport WaitState

cdef enum:
    WAIT_TIMEOUT = -1            # nothing arrived before the timeout
    WAIT_CLOSED = -2             # the ring was closed and everything published is consumed
    WAIT_DETACHED = -3           # this consumer was detached: what it reads may be overwritten
    MAX_DEPS = 16
    HEARTBEAT_EVERY = 8          # releases between heartbeat refreshes (a power of two)
    PREFETCH_LINES = 4           # lines of a slot a waiting consumer asks for (fxpipe's events: 3)

ctypedef struct ConsumerC:
    fx_ring_header* hdr
    fx_consumer_entry* entry
    int64_t* seq                 # &entry.sequence: what this consumer has released
    int32_t* avail               # MP availability flags (NULL for SP)
    char* slots
    uint32_t slot_size
    int64_t mask
    int64_t size
    int shift
    int mode
    bint blocking
    bint skip_detached           # ring policy: read past a detached upstream instead of waiting
    int index
    int ndeps
    int dep_index[16]
    int64_t* deps[16]            # released sequences of the consumers this one waits on
    int64_t cached_avail         # highest sequence known to be readable
    uint64_t member              # the member word of this attachment (state | generation)
    uint32_t empty_wakes
    uint32_t releases            # counts releases, to refresh the heartbeat every HEARTBEAT_EVERY
    WaitState wait


cdef extern from *:
    """
    static inline void fx_ring_prefetch_r(const void *p) { __builtin_prefetch(p, 0, 3); }
    """
    void fx_ring_prefetch_r(const void* p) noexcept nogil


cdef int64_t consumer_wait_slow(ConsumerC* c, int64_t seq, int64_t timeout_ns) noexcept nogil
cdef int64_t available_skipping_detached(ConsumerC* c, int64_t want) noexcept nogil


cdef inline int64_t highest_published(ConsumerC* c, int64_t lo, int64_t hi) noexcept nogil:
    # MP: claimed is not published; a slot is readable when its flag holds its round number.
    cdef int64_t s = lo
    while s <= hi:
        if fx_load_acquire_i32(&c.avail[s & c.mask]) != <int32_t>(s >> c.shift):
            return s - 1
        s += 1
    return hi


cdef inline int64_t consumer_available(ConsumerC* c, int64_t want) noexcept nogil:
    """Highest sequence this consumer may read now (may be < want). An upstream gates whatever
    its state: a detached one holds its dependents back until it rejoins, unless the ring was
    created to skip detached upstreams."""
    cdef int64_t hi, v
    cdef int i
    if c.ndeps == 0:
        hi = fx_load_acquire_i64(&c.hdr.cursor.value)
        if c.mode == FX_PRODUCER_MULTI and hi >= want:
            hi = highest_published(c, want, hi)
        return hi
    if c.skip_detached:
        return available_skipping_detached(c, want)
    hi = INT64_MAX
    for i in range(c.ndeps):
        v = fx_load_acquire_i64(c.deps[i])
        if v < hi:
            hi = v
    return hi


cdef inline int64_t consumer_poll(ConsumerC* c, int64_t want) noexcept nogil:
    """consumer_available for a waiting loop. A consumer gated on the cursor also asks for the
    lines of the slot it waits for, in the same step: once the producer has written them, the
    slot's lines and the cursor's travel together instead of one after the other (the slot is
    read only after the cursor says it may be; the prefetch is a hint and reads nothing).
    Every line of the slot up to PREFETCH_LINES: a 192-byte event asked for by its first line
    alone leaves its other two to miss after the cursor (measured: 0.1 µs a round trip)."""
    cdef char* slot
    cdef uint32_t off
    if c.ndeps == 0:
        slot = c.slots + (want & c.mask) * <int64_t>c.slot_size
        fx_ring_prefetch_r(slot)
        off = 64
        while off < c.slot_size and off < PREFETCH_LINES * 64:
            fx_ring_prefetch_r(slot + off)
            off += 64
    return consumer_available(c, want)


cdef inline bint consumer_drained(ConsumerC* c, int64_t seq) noexcept nogil:
    """Closed, and seq lies past the last sequence ever published: nothing more will come.
    (Closed alone is not enough: upstream consumers may still be releasing to us.)"""
    return (fx_load_acquire_u32(&c.hdr.id.state) == FX_RING_CLOSED
            and seq > fx_load_acquire_i64(&c.hdr.cursor.value))


cdef inline bint consumer_is_member(ConsumerC* c) noexcept nogil:
    """True while this attachment stands. Called after copying a slot: the fence keeps the copy
    ahead of the check, so True means the producer had not reused the slot."""
    fx_fence_acquire()
    return fx_load_acquire_u64(&c.entry.member) == c.member


cdef inline int64_t consumer_wait(ConsumerC* c, int64_t seq, int64_t timeout_ns) noexcept nogil:
    """Highest readable sequence >= seq, or WAIT_TIMEOUT / WAIT_CLOSED / WAIT_DETACHED.
    timeout_ns < 0 waits for ever; 0 only looks. Check consumer_is_member() after the copy."""
    cdef int64_t hi
    if c.cached_avail >= seq:
        return c.cached_avail
    hi = consumer_available(c, seq)
    if hi >= seq:
        c.cached_avail = hi
        return hi
    return consumer_wait_slow(c, seq, timeout_ns)


cdef inline void consumer_release(ConsumerC* c, int64_t seq) noexcept nogil:
    """Everything up to seq is processed: its slots may be reused, dependents may read it.
    The heartbeat rides on the same cache line (no extra line transfer) and is refreshed every
    HEARTBEAT_EVERY releases: a coarse clock read (~20 ns on a VM) amortised to a few ns, while
    a consumer making progress keeps a heartbeat younger than 8 of its events."""
    c.releases += 1
    if (c.releases & (HEARTBEAT_EVERY - 1)) == 0:
        fx_store_relaxed_i64(&c.entry.heartbeat_ns, fx_coarse_ns())
    fx_store_release_i64(c.seq, seq)
    if c.blocking:
        fx_fence_seq_cst()
        if fx_load_relaxed_u32(&c.hdr.futex.rel_waiters) != 0:
            fx_fetch_add_u32(&c.hdr.futex.rel_epoch, 1)
            if fx_futex_wake_all(&c.hdr.futex.rel_epoch) == 0:
                note_empty_wakes(c.hdr, &c.empty_wakes)
            else:
                c.empty_wakes = 0
