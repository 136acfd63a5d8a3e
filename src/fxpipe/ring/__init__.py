"""Disruptor-style lock-free rings in POSIX shared memory.

    ring = Ring.create("md", slot_size=64, slot_count=4096, consumers=["journal", ("decision", ["journal"])])
    p = ring.producer();  p.send(b"...")
    c = Ring.attach("md").consumer("journal", wait="yield");  data = c.recv()

The C-level API for Cython stages is in cython/fxpipe/ring/*.pxd (see endpoints.pxd).
"""
from fxpipe.ring.endpoints import Consumer, Producer
from fxpipe.ring.errors import (
    ConsumerDetached,
    ConsumerError,
    RingClosed,
    RingError,
    RingExistsError,
    RingFull,
    RingLayoutError,
    RingTimeout,
    StaleRingError,
)
from fxpipe.ring.ring import WAIT_STRATEGIES, Ring, header_size, layout_offsets

__all__ = [
    "Ring", "Producer", "Consumer", "WAIT_STRATEGIES", "header_size", "layout_offsets",
    "RingError", "RingLayoutError", "RingExistsError", "StaleRingError", "RingTimeout", "RingFull",
    "RingClosed", "ConsumerError", "ConsumerDetached",
]
