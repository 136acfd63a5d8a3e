# cython: language_level=3, boundscheck=False, wraparound=False
"""Keeps the kernel's TCP send path warm while a spinning worker idles.

An order leaves through send(2) on its FIX session's socket: the system call, tcp_sendmsg, the
skb's allocation, the IP output and the device's transmit. Run once a millisecond (an order
rate a desk sees), that code and the kernel data it touches have left the core's caches by the
next order: on the 2-core VM, a 224-byte send timed from just before send(2) to the receiver's
kernel stamp took 2.9 us after 200 us of idle spinning and 4.1-4.7 us with a few MB touched in
between, against 2.0-2.2 us when the same path ran every 20-100 us.

The warmer owns a private TCP connection on loopback (both ends in this process, made at
start) and sends one byte on it every `every_ns` of idle time; what it sent is read back every
16 sends so the connection never fills. It carries nothing and nothing else reads it. It warms
what every TCP send shares (the system call, the socket layer, TCP, IP, the skb caches); on a
NIC the driver's own transmit is not on its path (on loopback, as in the benchmark, the whole
path is). The kernel's code takes room in the caches the order path's own code needs, so the
idle wait runs it just before the order path's warming (OrderGateway.warm) and at a longer
period (100 us by default): in the tick-to-trade benchmark the send's hop fell 5.9 → 3.1 us and
the hops inside fxpipe grew by ~1 us (alone, without the order path's warming, they grew by as
much as the send gained). A send costs 1-2 us of the idle core.
"""
from libc.errno cimport EAGAIN, EINTR, errno
from libc.stdint cimport int64_t

import socket

cdef extern from "<sys/socket.h>" nogil:
    ssize_t send(int fd, const void* buf, size_t n, int flags)
    ssize_t recv(int fd, void* buf, size_t n, int flags)
    int MSG_DONTWAIT
    int MSG_NOSIGNAL

cdef enum:
    DRAIN_EVERY = 16            # warm sends between two reads of what they sent
    DRAIN_BYTES = 4096


cdef class SendPathWarmer:
    """A loopback TCP connection exercised once every `every_ns` by tick() (see the module).
    `warms`: sends made; `error`: the errno that stopped it (0 while it runs)."""

    def __cinit__(self, *args, **kw):
        self._tx = self._rx = -1

    def __init__(self, int64_t every_ns):
        if every_ns <= 0:
            raise ValueError(f"every_ns must be > 0, got {every_ns}")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            tx = socket.create_connection(listener.getsockname())
            rx, _ = listener.accept()
        finally:
            listener.close()
        tx.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tx.setblocking(False)
        rx.setblocking(False)
        self._socks = (tx, rx)
        self._tx, self._rx = tx.fileno(), rx.fileno()
        self._every_ns = every_ns
        self._next_ns = 0
        self.warms = 0
        self.error = 0

    @property
    def every_ns(self) -> int:
        return self._every_ns

    @property
    def sockets(self):
        """(sending end, receiving end) of the private connection; None once closed."""
        return self._socks

    @property
    def running(self) -> bool:
        return self._socks is not None and self.error == 0

    cdef void tick(self, int64_t now_ns) noexcept nogil:
        cdef char one = 0x57
        cdef char sink[DRAIN_BYTES]
        cdef ssize_t n
        if now_ns < self._next_ns or self._tx < 0 or self.error != 0:
            return
        self._next_ns = now_ns + self._every_ns
        n = send(self._tx, &one, 1, MSG_DONTWAIT | MSG_NOSIGNAL)
        if n < 0:
            if errno != EAGAIN and errno != EINTR:
                self.error = errno
            return
        self.warms += 1
        if (self.warms & (DRAIN_EVERY - 1)) == 0:
            while recv(self._rx, sink, DRAIN_BYTES, MSG_DONTWAIT) == DRAIN_BYTES:
                pass

    def warm(self, int64_t now_ns) -> None:
        """tick(), from Python (tests, tools)."""
        self.tick(now_ns)

    def close(self) -> None:
        if self._socks is not None:
            for s in self._socks:
                s.close()
            self._socks = None
        self._tx = self._rx = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
