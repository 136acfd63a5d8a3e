# cython: language_level=3
"""The consumer's waiting loop: re-check the barrier between wait-strategy steps, keep the
heartbeat fresh, honour timeouts and ring closure, and follow its upstream consumers being
detached (so a dead upstream does not stall it for ever)."""
from libc.stdint cimport int64_t, uint32_t
from fxpipe.includes.atomic cimport (fx_fetch_add_relaxed_u64, fx_fetch_add_u32,
                                     fx_fetch_sub_u32, fx_futex_wait, fx_load_acquire_i64,
                                     fx_load_acquire_u32,
                                     fx_monotonic_ns)
from fxpipe.ring.layout cimport (FX_CONSUMER_ATTACHED, FX_CONSUMER_DECLARED, FX_RING_CLOSED)
from fxpipe.ring.wait cimport wait_reset, wait_step

cdef enum:
    CLOCK_EVERY = 256
    BLOCK_SLICE_NS = 10000000


cdef void consumer_refresh_deps(ConsumerC* c) noexcept nogil:
    """Drop upstream consumers that were detached: gate on the rest, or on the cursor."""
    cdef int i, j = 0
    cdef uint32_t st
    for i in range(c.ndeps):
        st = fx_load_acquire_u32(&c.hdr.consumers[c.dep_index[i]].state)
        if st == FX_CONSUMER_ATTACHED or st == FX_CONSUMER_DECLARED:
            c.dep_index[j] = c.dep_index[i]
            c.deps[j] = c.deps[i]
            j += 1
    c.ndeps = j


cdef inline bint _drained(ConsumerC* c, int64_t seq) noexcept nogil:
    # Closed, and seq lies past the last sequence ever published: nothing more will come.
    # (Closed alone is not enough: upstream consumers may still be releasing to us.)
    return (fx_load_acquire_u32(&c.hdr.id.state) == FX_RING_CLOSED
            and seq > fx_load_acquire_i64(&c.hdr.cursor.value))


cdef int64_t consumer_wait_slow(ConsumerC* c, int64_t seq, int64_t timeout_ns) noexcept nogil:
    cdef int64_t hi, started = 0, now
    cdef unsigned long steps = 0
    cdef uint32_t epoch
    cdef uint32_t* word
    cdef uint32_t* waiters
    fx_fetch_add_relaxed_u64(&c.entry.waits, 1)
    if timeout_ns == 0:
        return WAIT_CLOSED if _drained(c, seq) else WAIT_TIMEOUT
    started = fx_monotonic_ns()
    c.entry.heartbeat_ns = started
    wait_reset(&c.wait)
    while True:
        hi = consumer_available(c, seq)
        if hi >= seq:
            c.cached_avail = hi
            return hi
        if _drained(c, seq):
            return WAIT_CLOSED
        steps += 1
        if steps % CLOCK_EVERY == 0 or c.wait.steps >= 256:
            now = fx_monotonic_ns()
            c.entry.heartbeat_ns = now
            if timeout_ns > 0 and now - started >= timeout_ns:
                return WAIT_TIMEOUT
            if c.ndeps:
                consumer_refresh_deps(c)
        if wait_step(&c.wait):
            # BLOCK: a consumer gated on the cursor sleeps on the publish word, one gated on
            # other consumers on the release word. Register, re-check, then sleep (bounded).
            if c.ndeps:
                word = &c.hdr.futex.rel_epoch
                waiters = &c.hdr.futex.rel_waiters
            else:
                word = &c.hdr.futex.pub_epoch
                waiters = &c.hdr.futex.pub_waiters
            epoch = fx_load_acquire_u32(word)
            fx_fetch_add_u32(waiters, 1)
            if consumer_available(c, seq) < seq and fx_load_acquire_u32(&c.hdr.id.state) != FX_RING_CLOSED:
                fx_futex_wait(word, epoch, BLOCK_SLICE_NS)
            fx_fetch_sub_u32(waiters, 1)
