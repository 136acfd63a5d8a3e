# cython: language_level=3
"""Benchmark support for `./scripts/bench ring`: the ping-pong and throughput loops that drive
a ring through its C-level API (sequencer.pxd / barrier.pxd), exactly as a Cython stage
would, with no Python object touched between two events. Each function takes the Python
Producer / Consumer handles only to reach their C state, runs its loop without the GIL, and
hands back counts and timestamps. Not part of the trading path.

Every event starts with a BenchEvent and fills its slot: 64 bytes in the throughput loops, the
ring's slot size (64, 128, 192 or 256 bytes) in the ping-pong, which copies the
whole event in and out as a stage would. A seq of -1 is the stop marker: it ends a ping-pong and
flows through every stage of a pipeline, so each process knows when its peer is done."""
from libc.stdint cimport int64_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset

from fxpipe.includes.atomic cimport fx_load_acquire_i64, fx_monotonic_ns
from fxpipe.ring.barrier cimport ConsumerC, consumer_is_member, consumer_release, consumer_wait
from fxpipe.ring.layout cimport FX_RING_MAX_CONSUMERS
from fxpipe.ring.endpoints cimport Consumer, Producer
from fxpipe.ring.ring cimport Ring
from fxpipe.ring.sequencer cimport ProducerC, producer_claim, producer_publish, slot_ptr

# The cheapest clock for a per-round-trip read: the TSC on x86 (calibrated by ticks_per_ns),
# CLOCK_MONOTONIC in nanoseconds elsewhere.
cdef extern from *:
    """
    #if defined(__x86_64__) || defined(__i386__)
    #include <x86intrin.h>
    static inline unsigned long long fxb_ticks(void) { return __rdtsc(); }
    #else
    #include <time.h>
    static inline unsigned long long fxb_ticks(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
    }
    #endif
    """
    unsigned long long fxb_ticks() nogil

ctypedef struct BenchEvent:
    int64_t seq           # 0, 1, 2, ... per producer; -1 stops the receiver
    int64_t f1            # pipeline stage 1 writes seq * 2
    int64_t f2            # pipeline stage 2 writes f1 + 1; stage 3 checks it
    int64_t pad[5]

cdef enum:
    STOP_SEQ = -1
    MAX_EVENT = 256       # the largest event the ping-pong carries (four cache lines)

ctypedef union EventBuffer:
    BenchEvent ev
    char raw[MAX_EVENT]

EVENT_SIZE = sizeof(BenchEvent)
STOP = STOP_SEQ
# Failure codes of the loops (returned from nogil code, raised as RuntimeError here).
cdef enum:
    OK = 0
    CLAIM_FAILED = 1
    WAIT_FAILED = 2


cdef int64_t _check(int code, str what) except -1:
    if code == CLAIM_FAILED:
        raise RuntimeError(f"{what}: the ring stayed full past the timeout (is the peer alive?)")
    if code == WAIT_FAILED:
        raise RuntimeError(f"{what}: nothing arrived before the timeout, the ring closed, or the "
                           "consumer was detached")
    return 0


cdef double _tpn = 1.0             # ticks per ns, set by ticks_per_ns() for ping()'s deadline


def ticks_per_ns(double seconds=0.05):
    """Clock ticks per nanosecond, measured against CLOCK_MONOTONIC."""
    global _tpn
    cdef int64_t t0 = fx_monotonic_ns(), t1
    cdef unsigned long long k0 = fxb_ticks(), k1
    with nogil:
        while fx_monotonic_ns() - t0 < <int64_t>(seconds * 1e9):
            pass
        t1 = fx_monotonic_ns()
        k1 = fxb_ticks()
    _tpn = (k1 - k0) / <double>(t1 - t0)
    return _tpn


def clock_floor_ticks(int n=100000):
    """Smallest gap between two back-to-back clock reads: the timer's own cost."""
    cdef unsigned long long a, b, best = <unsigned long long>-1
    cdef int i
    with nogil:
        for i in range(n):
            a = fxb_ticks()
            b = fxb_ticks()
            if b - a < best:
                best = b - a
    return best


cdef inline void _send_one(ProducerC* p, BenchEvent* ev, int64_t seq) noexcept nogil:
    memcpy(slot_ptr(p.slots, seq, p.mask, p.slot_size), ev, sizeof(BenchEvent))
    producer_publish(p, seq, seq)


cdef inline void _copy_event(void* dst, const void* src, uint32_t size) noexcept nogil:
    # A constant size per case, so each copy is a few vector moves, as a stage's copy of its
    # event type is, rather than a call into the C library's memcpy.
    if size == 64:
        memcpy(dst, src, 64)
    elif size == 128:
        memcpy(dst, src, 128)
    elif size == 192:
        memcpy(dst, src, 192)
    else:
        memcpy(dst, src, 256)


cdef inline void _send_event(ProducerC* p, EventBuffer* ev, int64_t seq) noexcept nogil:
    _copy_event(slot_ptr(p.slots, seq, p.mask, p.slot_size), ev.raw, p.slot_size)
    producer_publish(p, seq, seq)


cdef int _check_event_size(Producer producer, Consumer consumer) except -1:
    if producer.c.slot_size != consumer.c.slot_size or producer.c.slot_size not in (64, 128, 192, 256):
        raise ValueError(f"ping-pong rings need one slot size of 64, 128, 192 or 256 bytes, got "
                         f"{producer.c.slot_size} and {consumer.c.slot_size}")
    return 0


def ping(Producer producer, Consumer consumer, int64_t[::1] out, double duration_s,
         int64_t timeout_ns=10_000_000_000):
    """Round trips until duration_s passes or `out` is full: send an event, wait for its echo.
    out[i] = clock ticks of round trip i (one clock read per trip; see ticks_per_ns).
    Returns (round_trips, echo_errors); sends the stop marker at the end."""
    cdef ProducerC* p = &producer.c
    cdef ConsumerC* c = &consumer.c
    cdef char* rslots = consumer.ring.slot_base
    cdef uint64_t rsize = consumer.ring.n_slot_size
    cdef int64_t nxt = consumer._next, seq, i = 0, n = out.shape[0], errors = 0
    cdef int code = OK
    cdef EventBuffer ev, echo
    cdef unsigned long long prev, t, deadline
    _check_event_size(producer, consumer)
    memset(&ev, 0, sizeof(ev))
    with nogil:
        deadline = fxb_ticks() + <unsigned long long>(duration_s * 1e9 * _tpn)
        prev = fxb_ticks()
        while i < n:
            seq = producer_claim(p, 1, timeout_ns)
            if seq < 0:
                code = CLAIM_FAILED
                break
            ev.ev.seq = i
            _send_event(p, &ev, seq)
            if consumer_wait(c, nxt, timeout_ns) < nxt:
                code = WAIT_FAILED
                break
            _copy_event(echo.raw, slot_ptr(rslots, nxt, c.mask, rsize), <uint32_t>rsize)
            if not consumer_is_member(c):
                code = WAIT_FAILED
                break
            consumer_release(c, nxt)
            nxt += 1
            t = fxb_ticks()
            out[i] = <int64_t>(t - prev)
            prev = t
            errors += echo.ev.seq != i
            i += 1
            if t > deadline:
                break
        if code == OK:
            seq = producer_claim(p, 1, timeout_ns)
            if seq >= 0:
                ev.ev.seq = STOP_SEQ
                _send_event(p, &ev, seq)
    consumer._next = nxt
    consumer._batch_end = nxt - 1
    _check(code, "ping")
    return i, errors


def pong(Consumer consumer, Producer producer, int64_t timeout_ns=10_000_000_000):
    """Echo every event back until (and including) the stop marker. Returns events echoed."""
    cdef ProducerC* p = &producer.c
    cdef ConsumerC* c = &consumer.c
    cdef char* rslots = consumer.ring.slot_base
    cdef uint64_t rsize = consumer.ring.n_slot_size
    cdef int64_t nxt = consumer._next, seq, count = 0
    cdef int code = OK
    cdef EventBuffer ev
    _check_event_size(producer, consumer)
    with nogil:
        while True:
            if consumer_wait(c, nxt, timeout_ns) < nxt:
                code = WAIT_FAILED
                break
            _copy_event(ev.raw, slot_ptr(rslots, nxt, c.mask, rsize), <uint32_t>rsize)
            if not consumer_is_member(c):
                code = WAIT_FAILED
                break
            seq = producer_claim(p, 1, timeout_ns)
            if seq < 0:
                code = CLAIM_FAILED
                break
            _send_event(p, &ev, seq)
            # Forward, then release (as a stage does): the release store and its heartbeat
            # are off the echo's way.
            consumer_release(c, nxt)
            nxt += 1
            if ev.ev.seq == STOP_SEQ:
                break
            count += 1
    consumer._next = nxt
    consumer._batch_end = nxt - 1
    _check(code, "pong")
    return count


def produce(Producer producer, int64_t batch, double duration_s, int64_t timeout_ns=10_000_000_000):
    """Publish events 0, 1, 2, ... in claims of `batch` until duration_s passes, then the stop
    marker. Returns (events, start_ns, end_ns) on CLOCK_MONOTONIC."""
    cdef ProducerC* p = &producer.c
    cdef int64_t lo, k, sent = 0, start, end, deadline, next_check
    cdef int code = OK
    cdef BenchEvent ev
    if batch < 1 or batch > p.size:
        raise ValueError(f"batch {batch} must be 1..{p.size}")
    memset(&ev, 0, sizeof(ev))
    with nogil:
        start = fx_monotonic_ns()
        deadline = start + <int64_t>(duration_s * 1e9)
        next_check = 4096
        while True:
            lo = producer_claim(p, batch, timeout_ns)
            if lo < 0:
                code = CLAIM_FAILED
                break
            for k in range(batch):
                ev.seq = sent + k
                memcpy(slot_ptr(p.slots, lo + k, p.mask, p.slot_size), &ev, sizeof(BenchEvent))
            producer_publish(p, lo, lo + batch - 1)
            sent += batch
            if sent >= next_check:
                next_check = sent + 4096
                if fx_monotonic_ns() >= deadline:
                    break
        end = fx_monotonic_ns()
        if code == OK:
            lo = producer_claim(p, 1, timeout_ns)
            if lo < 0:
                code = CLAIM_FAILED
            else:
                ev.seq = STOP_SEQ
                _send_one(p, &ev, lo)
    _check(code, "produce")
    return sent, start, end


def consume(Consumer consumer, int stage=0, bint batched=True, int64_t timeout_ns=10_000_000_000):
    """Read events until the stop marker, checking each. stage 0: a plain consumer (order
    check); stages 1-3: one step of the pipeline in place (1 writes f1, 2 writes f2, 3 checks
    both), so a stage that ran ahead of its upstream shows up as an error. batched: handle
    everything available, then release once; else release event by event.
    Returns (events, errors, end_ns)."""
    cdef ConsumerC* c = &consumer.c
    cdef char* slots = consumer.ring.slot_base
    cdef uint64_t size = consumer.ring.n_slot_size
    cdef int64_t nxt = consumer._next, hi, s, expect = 0, errors = 0, end
    cdef int code = OK
    cdef bint stop = False
    cdef BenchEvent* ev
    if stage < 0 or stage > 3:
        raise ValueError(f"stage {stage} must be 0 (plain consumer) or 1..3")
    with nogil:
        while not stop:
            hi = consumer_wait(c, nxt, timeout_ns)
            if hi < nxt:
                code = WAIT_FAILED
                break
            if not batched:
                hi = nxt
            s = nxt
            while s <= hi:
                ev = <BenchEvent*>slot_ptr(slots, s, c.mask, size)
                if ev.seq == STOP_SEQ:
                    stop = True
                    hi = s
                    break
                errors += ev.seq != expect
                if stage == 1:
                    ev.f1 = ev.seq * 2
                elif stage == 2:
                    errors += ev.f1 != ev.seq * 2
                    ev.f2 = ev.f1 + 1
                elif stage == 3:
                    errors += ev.f2 != ev.seq * 2 + 1
                expect += 1
                s += 1
            if not consumer_is_member(c):
                code = WAIT_FAILED
                break
            consumer_release(c, hi)
            nxt = hi + 1
        end = fx_monotonic_ns()
    consumer._next = nxt
    consumer._batch_end = nxt - 1
    _check(code, f"consume (stage {stage})")
    return expect, errors, end


def released_sequence(Ring ring, int index):
    """What consumer entry `index` has released, read from the segment without attaching
    (one cache-line read): lets the benchmark's parent process watch a run's progress."""
    if ring.hdr == NULL:
        raise ValueError(f"ring {ring.name!r} is closed in this process")
    if index < 0 or index >= FX_RING_MAX_CONSUMERS:
        raise ValueError(f"consumer index {index} must be 0..{FX_RING_MAX_CONSUMERS - 1}")
    return fx_load_acquire_i64(&ring.hdr.consumers[index].sequence)
