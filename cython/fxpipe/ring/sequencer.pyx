# cython: language_level=3
"""Slow paths of the producer side: the minimum over gating consumers, waiting for space
(with back-pressure accounting, dead-consumer detection and timeouts), and the
multi-producer claim. The hot inline calls are in sequencer.pxd."""
from libc.stdint cimport INT64_MAX, int64_t, uint32_t
from fxpipe.includes.atomic cimport (fx_cas_i64, fx_dec_sat_u32, fx_fetch_add_i64,
                                     fx_fetch_add_relaxed_u64, fx_fetch_add_u32,
                                     fx_futex_wait, fx_load_acquire_i64,
                                     fx_load_acquire_u32, fx_load_acquire_u64,
                                     fx_monotonic_ns, fx_store_relaxed_i64, fx_store_release_u32)
from fxpipe.ring.layout cimport (FX_PRODUCER_SINGLE, FX_RING_MAX_CONSUMERS, FX_WAITING_NONE,
                                 FX_WAITING_RELEASE, fx_member_state, fx_ring_header,
                                 fx_state_gates)
from fxpipe.ring.membership cimport check_gating_liveness
from fxpipe.ring.wait cimport wait_reset, wait_step

cdef enum:
    LIVENESS_CHECK_NS = 1000000      # look for dead gating consumers every 1 ms of waiting
    CLOCK_EVERY = 256                # steps between clock reads while spinning
    BLOCK_SLICE_NS = 10000000        # a futex sleep is capped so timeouts and liveness run
    MP_BLOCK_SLICE_NS = 1000000      # MP producers sleep unregistered (see _block_until_released)


cdef int64_t min_gating_sequence(fx_ring_header* hdr, int64_t default) noexcept nogil:
    """Lowest released sequence among consumers that gate the producer (declared, joining or
    attached; detached, claiming and free entries do not). `default` when there are none."""
    cdef int64_t lowest = INT64_MAX
    cdef int64_t v
    cdef int i
    for i in range(FX_RING_MAX_CONSUMERS):
        if fx_state_gates(fx_member_state(fx_load_acquire_u64(&hdr.consumers[i].member))):
            v = fx_load_acquire_i64(&hdr.consumers[i].sequence)
            if v < lowest:
                lowest = v
    return default if lowest == INT64_MAX else lowest


cdef inline void _note_full(ProducerC* p, int64_t started, bint timed_out) noexcept nogil:
    cdef int64_t now = fx_monotonic_ns()
    fx_fetch_add_relaxed_u64(&p.hdr.producer.full_wait_ns, <unsigned long long>(now - started))
    p.hdr.producer.heartbeat_ns = now
    if timed_out:
        fx_fetch_add_relaxed_u64(&p.hdr.producer.full_timeouts, 1)


cdef inline void _block_until_released(ProducerC* p, int64_t wrap_point) noexcept nogil:
    # BLOCK: sleep until a consumer releases; consumers bump rel_epoch when someone waits. The
    # single producer registers itself (producer.waiting) before it counts itself, so a count
    # it leaves behind when killed asleep can be taken back. Several MP producer processes have
    # no entry each to register in: they sleep short slices unregistered instead.
    cdef fx_ring_header* hdr = p.hdr
    cdef uint32_t epoch = fx_load_acquire_u32(&hdr.futex.rel_epoch)
    if p.mode != FX_PRODUCER_SINGLE:
        if min_gating_sequence(hdr, wrap_point) < wrap_point:
            fx_futex_wait(&hdr.futex.rel_epoch, epoch, MP_BLOCK_SLICE_NS)
        return
    fx_store_release_u32(&hdr.producer.waiting, FX_WAITING_RELEASE)
    fx_fetch_add_u32(&hdr.futex.rel_waiters, 1)
    if min_gating_sequence(hdr, wrap_point) < wrap_point:
        fx_futex_wait(&hdr.futex.rel_epoch, epoch, BLOCK_SLICE_NS)
    fx_dec_sat_u32(&hdr.futex.rel_waiters)
    fx_store_release_u32(&hdr.producer.waiting, FX_WAITING_NONE)


cdef int64_t producer_wait_space(ProducerC* p, int64_t wrap_point, int64_t timeout_ns) noexcept nogil:
    """Wait until every gating consumer has released wrap_point (so the slots to be claimed
    are free). Returns the new minimum, or CLAIM_TIMEOUT. Counts the wait as back-pressure."""
    cdef fx_ring_header* hdr = p.hdr
    cdef int64_t g = min_gating_sequence(hdr, wrap_point)
    cdef int64_t started, now, last_liveness
    cdef unsigned long steps = 0
    cdef int dead
    if wrap_point <= g:
        p.gating_cache = g
        return g
    fx_fetch_add_relaxed_u64(&hdr.producer.full_waits, 1)
    if timeout_ns == 0:
        fx_fetch_add_relaxed_u64(&hdr.producer.full_timeouts, 1)
        return CLAIM_TIMEOUT
    started = fx_monotonic_ns()
    last_liveness = started
    wait_reset(&p.wait)
    while True:
        g = min_gating_sequence(hdr, wrap_point)
        if wrap_point <= g:
            p.gating_cache = g
            _note_full(p, started, False)
            return g
        steps += 1
        if steps % CLOCK_EVERY == 0 or p.wait.steps >= 256:
            now = fx_monotonic_ns()
            hdr.producer.heartbeat_ns = now
            if timeout_ns > 0 and now - started >= timeout_ns:
                _note_full(p, started, True)
                return CLAIM_TIMEOUT
            if now - last_liveness >= LIVENESS_CHECK_NS:
                last_liveness = now
                dead = check_gating_liveness(hdr, p.auto_detach)
                if dead:
                    fx_fetch_add_relaxed_u64(&hdr.producer.dead_consumers_seen, <unsigned long long>dead)
        if wait_step(&p.wait):
            _block_until_released(p, wrap_point)


cdef int64_t mp_claim(ProducerC* p, int64_t n, int64_t timeout_ns) noexcept nogil:
    """Multi-producer claim. Without a timeout: one atomic fetch-add, then wait for space
    (the Disruptor's next()). With a timeout: check space first and claim by CAS (its
    tryNext()), because a fetch-added sequence can never be given back, and a claimed slot
    that is never published would stall every consumer behind it."""
    cdef fx_ring_header* hdr = p.hdr
    cdef int64_t cur, nxt, wrap, g, started = 0
    if timeout_ns < 0:
        cur = fx_fetch_add_i64(&hdr.cursor.value, n)
        nxt = cur + n
        wrap = nxt - p.size
        if wrap > fx_load_acquire_i64(&hdr.gating_cache.value):
            g = producer_wait_space(p, wrap, -1)
            fx_store_relaxed_i64(&hdr.gating_cache.value, g)
        return cur + 1
    wait_reset(&p.wait)
    while True:
        cur = fx_load_acquire_i64(&hdr.cursor.value)
        nxt = cur + n
        wrap = nxt - p.size
        if wrap > fx_load_acquire_i64(&hdr.gating_cache.value):
            g = min_gating_sequence(hdr, wrap)
            fx_store_relaxed_i64(&hdr.gating_cache.value, g)
            if wrap > g:
                if started == 0:
                    started = fx_monotonic_ns()
                    fx_fetch_add_relaxed_u64(&hdr.producer.full_waits, 1)
                if fx_monotonic_ns() - started >= timeout_ns:
                    _note_full(p, started, True)
                    return CLAIM_TIMEOUT
                if wait_step(&p.wait):
                    _block_until_released(p, wrap)
                continue
        if fx_cas_i64(&hdr.cursor.value, cur, nxt):
            if started:
                _note_full(p, started, False)
            return cur + 1
