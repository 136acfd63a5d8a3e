# The wall clock as the hot paths read it: through the clock object they were given (tests and
# replays hand in their own), in C when that object is time.time_ns itself.
from libc.stdint cimport int64_t

from fxpipe.includes.atomic cimport fx_realtime_ns


cdef inline int64_t read_clock(object clock, object wall) except? -1:
    """clock(), or CLOCK_REALTIME read here when clock is `wall` (the calling module's
    time.time_ns): the same value as time.time_ns() gives, without the call through Python and
    the int object made and dropped (~150 instructions each, several per order)."""
    if clock is wall:
        return fx_realtime_ns()
    return clock()
