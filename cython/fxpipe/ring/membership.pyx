# cython: language_level=3
"""The consumer table's membership protocol. Slow paths only: joining, leaving and liveness
happen when stages start, stop or die, never per event.

Order of a join (the Disruptor's addGatingSequences): win the entry with a CAS, give it a
sequence no later than anything still readable, make it gate (JOINING), fence, then re-read
the cursor and the upstream sequences and move the start forward to the live edge. A producer
that decided to reuse a slot before it saw the new entry can only reuse slots of sequences at or
below the cursor it had then, which the re-read start is already past; every later claim sees
the entry.
"""
from libc.stdint cimport INT64_MAX, int64_t, uint32_t, uint64_t
from libc.string cimport memset, strncmp, strncpy

from fxpipe.includes.atomic cimport (fx_cas_u32, fx_cas_u64, fx_fence_seq_cst,
                                     fx_fetch_add_relaxed_u64, fx_fetch_add_u32,
                                     fx_futex_wake_all, fx_load_acquire_i64,
                                     fx_load_acquire_u32, fx_load_acquire_u64, fx_monotonic_ns,
                                     fx_process_alive, fx_realtime_ns, fx_store_release_i64,
                                     fx_store_release_u32, fx_store_release_u64)
from fxpipe.ring.layout cimport *


cdef uint64_t valid_deps(int index, uint64_t mask) noexcept nogil:
    """The dependency bits that can mean anything: table entries other than the consumer itself
    (a damaged or hostile mask must not make a consumer wait on itself or read past the table)."""
    return mask & ((<uint64_t>1 << FX_RING_MAX_CONSUMERS) - 1) & ~(<uint64_t>1 << index)


cdef int64_t join_start(fx_ring_header* h, uint64_t mask) noexcept nogil:
    """Where a joining consumer may start: the live edge, but no later than an upstream that
    gates. A detached upstream's sequence is stale (its slots may have been reused) and is not
    a place to start from; the joiner starts at the live edge and waits for it there."""
    cdef int64_t start = fx_load_acquire_i64(&h.cursor.value)
    cdef int64_t up
    cdef int j
    for j in range(FX_RING_MAX_CONSUMERS):
        if mask & (<uint64_t>1 << j) and fx_state_gates(fx_member_state(fx_load_acquire_u64(&h.consumers[j].member))):
            up = fx_load_acquire_i64(&h.consumers[j].sequence)
            if up < start:
                start = up
    return start


cdef inline void _stamp(fx_consumer_entry* e, int64_t pid, uint64_t start_time, uint32_t wait) noexcept nogil:
    e.pid = pid
    e.start_time = start_time
    e.wait_strategy = wait
    e.heartbeat_ns = fx_monotonic_ns()
    e.attached_ns = fx_realtime_ns()


cdef int _finish_join(fx_ring_header* h, fx_consumer_entry* e, int index, uint64_t joining,
                      AttachResult* out) noexcept nogil:
    # The entry gates (JOINING) with a sequence no later than anything still readable; now
    # fence and move it to the live edge the producer can no longer have passed.
    cdef int64_t v0 = join_start(h, valid_deps(index, e.depends_mask))
    cdef int64_t old = e.sequence, start
    fx_store_release_i64(&e.sequence, v0)
    fx_fence_seq_cst()
    start = join_start(h, valid_deps(index, e.depends_mask))
    if start < v0:
        start = v0
    fx_store_release_i64(&e.sequence, start)
    out.gap = start - old if start > old else 0
    out.member = fx_member(FX_CONSUMER_ATTACHED, fx_member_gen(joining))
    if not fx_cas_u64(&e.member, joining, out.member):
        return ATTACH_DETACHED
    return ATTACH_OK


cdef int attach_entry(fx_ring_header* h, int index, int64_t pid, uint64_t start_time,
                      uint32_t wait, AttachResult* out) noexcept nogil:
    """Attach entry `index` for process pid. A declared entry, or one whose process died,
    resumes from its last release (nothing lost); a detached one rejoins at the live edge."""
    cdef fx_consumer_entry* e = &h.consumers[index]
    cdef uint64_t m = fx_load_acquire_u64(&e.member), joining
    cdef uint32_t st = fx_member_state(m)
    cdef int64_t holder
    out.gap = 0
    out.rejoined = st == FX_CONSUMER_DETACHED
    if st == FX_CONSUMER_ATTACHED or st == FX_CONSUMER_JOINING:
        holder = e.pid
        if holder != pid and fx_process_alive(holder, e.start_time):
            out.holder = holder
            return ATTACH_BUSY if st == FX_CONSUMER_ATTACHED else ATTACH_JOINING
    elif st != FX_CONSUMER_DECLARED and st != FX_CONSUMER_DETACHED:
        return ATTACH_RETRY
    joining = fx_member(FX_CONSUMER_JOINING, fx_member_gen(m) + 1)
    if not fx_cas_u64(&e.member, m, joining):
        return ATTACH_RETRY
    _stamp(e, pid, start_time, wait)
    if out.rejoined:
        return _finish_join(h, e, index, joining, out)
    out.member = fx_member(FX_CONSUMER_ATTACHED, fx_member_gen(joining))
    if not fx_cas_u64(&e.member, joining, out.member):
        return ATTACH_DETACHED
    return ATTACH_OK


cdef bint _same_name(fx_consumer_entry* e, const char* name) noexcept nogil:
    return strncmp(e.name, name, FX_CONSUMER_NAME_LEN) == 0


cdef int claim_entry(fx_ring_header* h, const char* name, uint64_t mask, int64_t pid,
                     uint64_t start_time, uint32_t wait, AttachResult* out) noexcept nogil:
    """Add consumer `name` at run time, attached by pid: returns its index, CLAIM_FULL,
    CLAIM_DUPLICATE (another process adds the same name right now) or ATTACH_DETACHED."""
    cdef int i, j
    cdef uint64_t m, mj, claimed, joining
    cdef fx_consumer_entry* e
    cdef fx_consumer_entry* o
    cdef int r
    for i in range(FX_RING_MAX_CONSUMERS):
        e = &h.consumers[i]
        m = fx_load_acquire_u64(&e.member)
        if (fx_member_state(m) == FX_CONSUMER_CLAIMING and e.pid > 0
                and not fx_process_alive(e.pid, e.start_time)):
            # An entry whose claimer died half-way: take it back.
            if fx_cas_u64(&e.member, m, fx_member(FX_CONSUMER_FREE, fx_member_gen(m) + 1)):
                m = fx_member(FX_CONSUMER_FREE, fx_member_gen(m) + 1)
        if fx_member_state(m) != FX_CONSUMER_FREE:
            continue
        claimed = fx_member(FX_CONSUMER_CLAIMING, fx_member_gen(m) + 1)
        if not fx_cas_u64(&e.member, m, claimed):
            continue
        memset(e.name, 0, FX_CONSUMER_NAME_LEN)
        strncpy(e.name, name, FX_CONSUMER_NAME_LEN - 1)
        e.depends_mask = valid_deps(i, mask)
        e.waits = 0
        e.waiting = FX_WAITING_NONE
        _stamp(e, pid, start_time, wait)
        # Name first, fence, then look for the same name elsewhere: of two processes adding one
        # name at once, at least one sees the other, and whoever sees another backs off.
        fx_fence_seq_cst()
        for j in range(FX_RING_MAX_CONSUMERS):
            if j == i:
                continue
            o = &h.consumers[j]
            mj = fx_load_acquire_u64(&o.member)
            if fx_member_state(mj) != FX_CONSUMER_FREE and _same_name(o, name):
                fx_store_release_u64(&e.member, fx_member(FX_CONSUMER_FREE, fx_member_gen(claimed)))
                return CLAIM_DUPLICATE
        # Start no later than anything readable, gate, fence, then move to the live edge.
        e.sequence = join_start(h, e.depends_mask)
        joining = fx_member(FX_CONSUMER_JOINING, fx_member_gen(claimed))
        fx_store_release_u64(&e.member, joining)
        out.rejoined = False
        r = _finish_join(h, e, i, joining, out)
        out.gap = 0
        return i if r == ATTACH_OK else r
    return CLAIM_FULL


cdef bint detach_entry(fx_ring_header* h, int index) noexcept nogil:
    """Stop consumer `index` from gating anyone. True if this call detached it."""
    cdef fx_consumer_entry* e = &h.consumers[index]
    cdef uint64_t m
    while True:
        m = fx_load_acquire_u64(&e.member)
        if not fx_state_gates(fx_member_state(m)):
            return False
        if fx_cas_u64(&e.member, m, fx_member(FX_CONSUMER_DETACHED, fx_member_gen(m) + 1)):
            break
    fx_fetch_add_relaxed_u64(&h.producer.detached, 1)
    # Sleepers re-evaluate: a producer or dependent gate may have opened, and the detached
    # consumer itself, if it still runs, must learn it was detached.
    fx_fetch_add_u32(&h.futex.rel_epoch, 1)
    fx_futex_wake_all(&h.futex.rel_epoch)
    fx_fetch_add_u32(&h.futex.pub_epoch, 1)
    fx_futex_wake_all(&h.futex.pub_epoch)
    return True


cdef int check_gating_liveness(fx_ring_header* h, bint auto_detach) noexcept nogil:
    """Count attached consumers whose process is gone (pid and start time, so a reused pid is
    neither mistaken for the consumer nor kept alive on its behalf); detach them when asked,
    with a CAS from the member word that was judged, so a consumer resumed in between is never
    detached. Declared entries that never attached (pid 0) are not dead: the producer waits for
    them by design; joining entries are left to the operator (a joiner holds them microseconds)."""
    cdef int dead = 0
    cdef int i
    cdef uint64_t m
    cdef fx_consumer_entry* e
    for i in range(FX_RING_MAX_CONSUMERS):
        e = &h.consumers[i]
        m = fx_load_acquire_u64(&e.member)
        if fx_member_state(m) != FX_CONSUMER_ATTACHED or e.pid <= 0:
            continue
        if fx_process_alive(e.pid, e.start_time):
            continue
        dead += 1
        if auto_detach and fx_cas_u64(&e.member, m, fx_member(FX_CONSUMER_DETACHED, fx_member_gen(m) + 1)):
            fx_fetch_add_relaxed_u64(&h.producer.detached, 1)
    return dead


cdef inline void _recount(uint32_t* counter, uint32_t live, fx_ring_header* h) noexcept nogil:
    cdef uint32_t c = fx_load_acquire_u32(counter)
    if c > live and fx_cas_u32(counter, c, live):
        fx_fetch_add_relaxed_u64(&h.producer.waiters_recovered, c - live)


cdef void reconcile_waiters(fx_ring_header* h) noexcept nogil:
    """Take back the waiter registrations of processes that died inside a futex wait, so that
    publishes and releases stop paying a FUTEX_WAKE for sleepers that no longer exist. Each
    sleeper registers itself (its entry's `waiting`) before it counts itself; a registration
    whose process is gone is cleared, and a counter above the live registrations is lowered.
    A live waiter miscounted by a race here sleeps at most one bounded futex slice."""
    cdef uint32_t live_pub = 0, live_rel = 0, w
    cdef int i
    cdef fx_consumer_entry* e
    for i in range(FX_RING_MAX_CONSUMERS):
        e = &h.consumers[i]
        w = fx_load_acquire_u32(&e.waiting)
        if w == FX_WAITING_NONE:
            continue
        if fx_process_alive(e.pid, e.start_time):
            if w == FX_WAITING_PUBLISH:
                live_pub += 1
            else:
                live_rel += 1
        else:
            fx_cas_u32(&e.waiting, w, FX_WAITING_NONE)
    w = fx_load_acquire_u32(&h.producer.waiting)
    if w != FX_WAITING_NONE:
        if fx_process_alive(h.producer.pid if h.producer.pid > 0 else -h.producer.pid, h.producer.start_time):
            live_rel += 1
        else:
            fx_cas_u32(&h.producer.waiting, w, FX_WAITING_NONE)
    _recount(&h.futex.pub_waiters, live_pub, h)
    _recount(&h.futex.rel_waiters, live_rel, h)


cdef void note_empty_wakes(fx_ring_header* h, uint32_t* empty_wakes) noexcept nogil:
    """A FUTEX_WAKE found nobody asleep. Now and then that is a waiter between counting itself
    and sleeping; many in a row mean a count left behind by a process killed in its sleep:
    recount, so publishes and releases stop paying a system call for it."""
    empty_wakes[0] += 1
    if empty_wakes[0] >= EMPTY_WAKES_BEFORE_RECOUNT:
        empty_wakes[0] = 0
        reconcile_waiters(h)
