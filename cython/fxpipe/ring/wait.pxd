# Wait strategies: what a producer or consumer does while it has nothing to do. Each is one
# small step; the caller loops and re-checks its condition between steps. BLOCK spins and
# yields briefly, then asks its caller to sleep on a futex (the caller owns the futex word).
from libc.stdint cimport int64_t, uint32_t
from fxpipe.includes.atomic cimport fx_cpu_relax, fx_sleep_ns, fx_yield
from fxpipe.ring.layout cimport FX_WAIT_BLOCK, FX_WAIT_SLEEP, FX_WAIT_SPIN, FX_WAIT_YIELD

cdef enum:
    WAIT_SPIN_STEPS = 128        # pause-spins before a yielding strategy yields
    WAIT_YIELD_STEPS = 128       # yields before SLEEP sleeps or BLOCK blocks
    WAIT_SLEEP_MIN_NS = 1000
    WAIT_SLEEP_MAX_NS = 1000000  # back-off stops at 1 ms: bounded added latency when idle

ctypedef struct WaitState:
    int strategy
    uint32_t steps
    int64_t sleep_ns


cdef inline void wait_reset(WaitState* w) noexcept nogil:
    w.steps = 0
    w.sleep_ns = WAIT_SLEEP_MIN_NS


cdef inline bint wait_step(WaitState* w) noexcept nogil:
    """One idle step. Returns True when a BLOCK waiter should now sleep on its futex."""
    cdef int s = w.strategy
    if s == FX_WAIT_SPIN:
        fx_cpu_relax()
        return False
    if w.steps < WAIT_SPIN_STEPS:
        w.steps += 1
        fx_cpu_relax()
        return False
    if s == FX_WAIT_YIELD:
        fx_yield()
        return False
    if w.steps < WAIT_SPIN_STEPS + WAIT_YIELD_STEPS:
        w.steps += 1
        fx_yield()
        return False
    if s == FX_WAIT_SLEEP:
        fx_sleep_ns(w.sleep_ns)
        if w.sleep_ns < WAIT_SLEEP_MAX_NS:
            w.sleep_ns *= 2
        return False
    return True
