# cython: language_level=3
"""The consumer's waiting loop: re-check the barrier between wait-strategy steps, keep the
heartbeat fresh, honour timeouts, ring closure and detachment. Upstream consumers gate by their
released sequence whatever their state: a detached upstream holds its dependents until it
rejoins (its sequence is frozen), so a dependent never reads ahead of an upstream that comes
back; rings created with skip_detached_upstream read past a detached upstream instead."""
from libc.stdint cimport INT64_MAX, int64_t, uint32_t
from fxpipe.includes.atomic cimport (fx_dec_sat_u32, fx_fetch_add_u32, fx_futex_wait,
                                     fx_load_acquire_i64, fx_load_acquire_u32, fx_load_acquire_u64,
                                     fx_load_relaxed_u64, fx_monotonic_ns, fx_store_release_u32,
                                     fx_store_release_u64)
from fxpipe.ring.layout cimport (FX_PRODUCER_MULTI, FX_RING_CLOSED, FX_WAITING_NONE,
                                 FX_WAITING_PUBLISH, FX_WAITING_RELEASE, fx_member_state,
                                 fx_state_gates)
from fxpipe.ring.wait cimport wait_reset, wait_step

cdef enum:
    CLOCK_EVERY = 256
    BLOCK_SLICE_NS = 10000000


cdef int64_t available_skipping_detached(ConsumerC* c, int64_t want) noexcept nogil:
    """consumer_available under the skip policy: upstreams that gate count, detached ones do
    not; with none left, the consumer reads what is published."""
    cdef int64_t hi = INT64_MAX, v
    cdef int i
    cdef bint any_gate = False
    for i in range(c.ndeps):
        if fx_state_gates(fx_member_state(fx_load_acquire_u64(&c.hdr.consumers[c.dep_index[i]].member))):
            any_gate = True
            v = fx_load_acquire_i64(c.deps[i])
            if v < hi:
                hi = v
    if any_gate:
        return hi
    hi = fx_load_acquire_i64(&c.hdr.cursor.value)
    if c.mode == FX_PRODUCER_MULTI and hi >= want:
        hi = highest_published(c, want, hi)
    return hi



cdef int64_t consumer_wait_slow(ConsumerC* c, int64_t seq, int64_t timeout_ns) noexcept nogil:
    cdef int64_t hi, started = 0, now
    cdef unsigned long steps = 0
    cdef uint32_t epoch, which
    cdef uint32_t* word
    cdef uint32_t* waiters
    # A statistic with one writer (the attached process): a plain increment, not a locked one,
    # which would also wait for this process's pending stores (its last publish) to drain.
    fx_store_release_u64(&c.entry.waits, fx_load_relaxed_u64(&c.entry.waits) + 1)
    if fx_load_acquire_u64(&c.entry.member) != c.member:
        return WAIT_DETACHED
    if timeout_ns == 0:
        return WAIT_CLOSED if consumer_drained(c, seq) else WAIT_TIMEOUT
    started = fx_monotonic_ns()
    c.entry.heartbeat_ns = started
    wait_reset(&c.wait)
    while True:
        hi = consumer_poll(c, seq)
        if hi >= seq:
            c.cached_avail = hi
            return hi
        if consumer_drained(c, seq):
            return WAIT_CLOSED
        steps += 1
        if steps % CLOCK_EVERY == 0 or c.wait.steps >= 256:
            now = fx_monotonic_ns()
            c.entry.heartbeat_ns = now
            if fx_load_acquire_u64(&c.entry.member) != c.member:
                return WAIT_DETACHED
            if timeout_ns > 0 and now - started >= timeout_ns:
                return WAIT_TIMEOUT
        if wait_step(&c.wait):
            # BLOCK: a consumer gated on the cursor sleeps on the publish word, one gated on
            # other consumers on the release word. Register (entry first, then the count, so a
            # count left by a process killed asleep can be taken back), re-check, sleep (bounded).
            if c.ndeps:
                word = &c.hdr.futex.rel_epoch
                waiters = &c.hdr.futex.rel_waiters
                which = FX_WAITING_RELEASE
            else:
                word = &c.hdr.futex.pub_epoch
                waiters = &c.hdr.futex.pub_waiters
                which = FX_WAITING_PUBLISH
            epoch = fx_load_acquire_u32(word)
            fx_store_release_u32(&c.entry.waiting, which)
            fx_fetch_add_u32(waiters, 1)
            if (consumer_available(c, seq) < seq and fx_load_acquire_u32(&c.hdr.id.state) != FX_RING_CLOSED
                    and fx_load_acquire_u64(&c.entry.member) == c.member):
                fx_futex_wait(word, epoch, BLOCK_SLICE_NS)
            fx_dec_sat_u32(waiters)
            fx_store_release_u32(&c.entry.waiting, FX_WAITING_NONE)
