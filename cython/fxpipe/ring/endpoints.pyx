# cython: language_level=3
"""Producers and consumers of a mapped ring, for Python: each call is a thin shell over the
inline C calls of sequencer.pxd / barrier.pxd (which Cython stages call directly, see
endpoints.pxd), with no allocation per event on the send/recv_into paths."""
import numpy as np

cimport cython
from cpython.buffer cimport PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_CheckExact, PyByteArray_GET_SIZE
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy, memset

from fxpipe.includes.atomic cimport fx_cpu_relax, fx_load_acquire_i64, fx_monotonic_ns
from fxpipe.ring.barrier cimport (WAIT_CLOSED, WAIT_DETACHED, consumer_available, consumer_drained,
                                  consumer_is_member, consumer_poll, consumer_release, consumer_wait_slow)
from fxpipe.ring.layout cimport (FX_FLAG_BLOCKING, FX_FLAG_SKIP_DETACHED_UPSTREAM, FX_PRODUCER_SINGLE,
                                 FX_RING_MAX_CONSUMERS, FX_WAIT_SPIN, fx_ring_header)
from fxpipe.ring.membership cimport valid_deps
from fxpipe.ring.ring cimport Ring
from fxpipe.ring.sequencer cimport CLAIM_TIMEOUT, min_gating_sequence, producer_claim, producer_publish, slot_ptr

from fxpipe.ring.errors import ConsumerDetached, RingClosed, RingFull, RingTimeout

cdef enum:
    # Barrier checks a busy-spinning Python consumer makes, the GIL held, before its waiting
    # loop (which releases the GIL): up to some 20 us with x86 PAUSE, so a thread of the same
    # process waits at most that long for the GIL.
    SPIN_WITH_GIL = 256


cdef inline int64_t _timeout_ns(object timeout) except? -3:
    if timeout is None:
        return -1
    if timeout < 0:
        raise ValueError(f"timeout must be >= 0 seconds or None, not {timeout!r}")
    return <int64_t>(timeout * 1e9)


def new_producer(Ring ring, int wait, bint auto_detach):
    cdef Producer p = Producer.__new__(Producer)
    cdef fx_ring_header* h = ring.hdr
    p.ring = ring
    p.c.hdr = h
    p.c.slots = ring.slot_base
    p.c.avail = ring.avail
    p.c.size = ring.n_slots
    p.c.mask = ring.n_slots - 1
    p.c.shift = int(ring.n_slots).bit_length() - 1
    p.c.slot_size = ring.n_slot_size
    p.c.mode = ring.mode
    p.c.blocking = bool(ring.flags & FX_FLAG_BLOCKING)
    p.c.auto_detach = auto_detach
    p.c.empty_wakes = 0
    p.c.next = fx_load_acquire_i64(&h.cursor.value)
    p.c.gating_cache = min_gating_sequence(h, p.c.next)
    p.c.wait.strategy = wait
    return p


def new_consumer(Ring ring, str name, int idx, int wait, int64_t rejoined_gap, uint64_t member):
    cdef Consumer c = Consumer.__new__(Consumer)
    cdef fx_ring_header* h = ring.hdr
    cdef int i
    cdef uint64_t deps = valid_deps(idx, h.consumers[idx].depends_mask)
    c.ring = ring
    c.name = name
    c.rejoined_gap = rejoined_gap
    c.c.hdr = h
    c.c.entry = &h.consumers[idx]
    c.c.seq = &h.consumers[idx].sequence
    c.c.avail = ring.avail
    c.c.slots = ring.slot_base
    c.c.slot_size = ring.n_slot_size
    c.c.size = ring.n_slots
    c.c.mask = ring.n_slots - 1
    c.c.shift = int(ring.n_slots).bit_length() - 1
    c.c.mode = ring.mode
    c.c.blocking = bool(ring.flags & FX_FLAG_BLOCKING)
    c.c.skip_detached = bool(ring.flags & FX_FLAG_SKIP_DETACHED_UPSTREAM)
    c.c.member = member
    c.c.empty_wakes = 0
    c.c.releases = 0
    c.c.index = idx
    c.c.ndeps = 0
    for i in range(FX_RING_MAX_CONSUMERS):
        if deps & ((<uint64_t>1) << i):
            c.c.dep_index[c.c.ndeps] = i
            c.c.deps[c.c.ndeps] = &h.consumers[i].sequence
            c.c.ndeps += 1
    c.c.cached_avail = -1
    c.c.wait.strategy = wait
    c._next = fx_load_acquire_i64(&h.consumers[idx].sequence) + 1
    c._batch_end = c._next - 1
    return c


@cython.final
cdef class Producer:
    """Claims slots, lets the caller fill them, publishes them. Not thread-safe within one
    process for a single-producer ring (the claim state is local)."""

    def claim(self, int64_t n=1, timeout=None):
        """First of n consecutive sequences to fill; raises RingFull at the timeout."""
        if n < 1 or n > self.c.size:
            raise ValueError(f"claim of {n} slots: must be 1..{self.c.size}")
        return self._claim(n, timeout)

    def publish(self, int64_t lo, hi=None):
        cdef int64_t h = lo if hi is None else hi
        producer_publish(&self.c, lo, h)

    def slot(self, int64_t seq):
        """Zero-copy view of the slot for seq (a numpy record of the ring's dtype)."""
        return self.ring.slots[seq & self.c.mask]

    def send(self, data, timeout=None):
        """Copy one event (bytes-like, <= slot size) into the next slot and publish it.
        The rest of the slot is zeroed so a slot's bytes depend only on what was sent."""
        cdef Py_buffer view
        if PyBytes_CheckExact(data):
            return self._send(PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), timeout)
        if PyByteArray_CheckExact(data):
            return self._send(PyByteArray_AS_STRING(data), PyByteArray_GET_SIZE(data), timeout)
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        try:
            return self._send(<const char*>view.buf, view.len, timeout)
        finally:
            PyBuffer_Release(&view)

    cdef int64_t _send(self, const char* src, Py_ssize_t n, timeout) except -2:
        cdef int64_t seq
        cdef char* dst
        if n > self.c.slot_size:
            raise ValueError(f"event of {n} bytes does not fit a {self.c.slot_size}-byte slot")
        if self.c.mode == FX_PRODUCER_SINGLE and self.c.next + 1 - self.c.size <= self.c.gating_cache:
            self.c.next += 1
            seq = self.c.next
        else:
            seq = self._claim(1, timeout)
        dst = slot_ptr(self.c.slots, seq, self.c.mask, self.c.slot_size)
        memcpy(dst, src, n)
        if n < self.c.slot_size:
            memset(dst + n, 0, self.c.slot_size - n)
        producer_publish(&self.c, seq, seq)
        return seq

    cdef int64_t _claim(self, int64_t n, timeout) except -2:
        cdef int64_t t = _timeout_ns(timeout)
        cdef int64_t seq
        self.ring._check_open()
        with nogil:
            seq = producer_claim(&self.c, n, t)
        if seq == CLAIM_TIMEOUT:
            raise RingFull(self._full_message(timeout))
        return seq

    def send_batch(self, array, timeout=None):
        """Copy a numpy array of events (itemsize <= slot size) into consecutive slots and
        publish them in batches of up to the ring size. Returns the last sequence."""
        cdef Py_buffer view
        cdef Py_ssize_t count, itemsize, done = 0, k, i, first_part
        cdef int64_t seq = -1, lo
        cdef char* src
        cdef char* dst
        arr = np.ascontiguousarray(array)
        itemsize = arr.dtype.itemsize
        count = arr.shape[0] if arr.ndim else 1
        if itemsize > self.c.slot_size:
            raise ValueError(f"events of {itemsize} bytes do not fit a {self.c.slot_size}-byte slot")
        PyObject_GetBuffer(arr, &view, PyBUF_SIMPLE)
        try:
            src = <char*>view.buf
            while done < count:
                k = min(count - done, self.c.size)
                lo = self._claim(k, timeout)
                if itemsize == self.c.slot_size:
                    # Contiguous up to the end of the slot array, then from slot 0.
                    first_part = min(k, self.c.size - (lo & self.c.mask))
                    memcpy(slot_ptr(self.c.slots, lo, self.c.mask, self.c.slot_size),
                           src + done * itemsize, first_part * itemsize)
                    if k > first_part:
                        memcpy(self.c.slots, src + (done + first_part) * itemsize, (k - first_part) * itemsize)
                else:
                    for i in range(k):
                        dst = slot_ptr(self.c.slots, lo + i, self.c.mask, self.c.slot_size)
                        memcpy(dst, src + (done + i) * itemsize, itemsize)
                        memset(dst + itemsize, 0, self.c.slot_size - itemsize)
                seq = lo + k - 1
                producer_publish(&self.c, lo, seq)
                done += k
        finally:
            PyBuffer_Release(&view)
        return seq

    def close_stream(self):
        self.ring.close_stream()

    @property
    def last_claimed(self):
        return self.c.next if self.c.mode == FX_PRODUCER_SINGLE else self.ring.cursor

    def _full_message(self, timeout):
        s = self.ring.status()
        laggards = [f"{c['name']} (seq {c['sequence']}, {'alive' if c['alive'] else 'DEAD'} pid {c['pid']})"
                    for c in s["consumers"] if c["state"] in ("attached", "declared", "joining")]
        return (f"ring {self.ring.name!r} stayed full for {timeout}s: gating consumers "
                f"{', '.join(laggards) or 'none'}; cursor {s['cursor']}")


@cython.final
cdef class Consumer:
    """A named consumer: waits for events, reads them in place, releases them."""

    @property
    def next(self):
        """Next sequence this consumer will read."""
        return self._next

    @property
    def sequence(self):
        """Last sequence released."""
        return fx_load_acquire_i64(self.c.seq)

    @property
    def lag(self):
        return fx_load_acquire_i64(&self.c.hdr.cursor.value) - fx_load_acquire_i64(self.c.seq)

    def available(self):
        """How many events could be read now without waiting."""
        cdef int64_t hi = consumer_available(&self.c, self._next)
        return max(0, hi - self._next + 1)

    cdef int64_t _wait(self, int64_t seq, timeout) except -3:
        cdef int64_t hi
        cdef int k
        if self.c.cached_avail >= seq:
            return self.c.cached_avail
        hi = consumer_available(&self.c, seq)
        if hi < seq and self.c.wait.strategy == FX_WAIT_SPIN and (timeout is None or timeout > 0):
            # A busy-spinning consumer keeps the GIL for a short, bounded spin before the
            # waiting loop: giving the GIL up and taking it back costs more than most of the
            # waits a spinning consumer sees. Membership, closure and the timeout are the
            # waiting loop's, which follows if nothing came; the copy is checked as always.
            # A caller that only looks (timeout 0) does not spin.
            for k in range(SPIN_WITH_GIL):
                fx_cpu_relax()
                hi = consumer_poll(&self.c, seq)
                if hi >= seq:
                    break
        if hi >= seq:
            self.c.cached_avail = hi
            return hi
        return self._wait_slow(seq, timeout)

    cdef int64_t _wait_slow(self, int64_t seq, timeout) except -3:
        cdef int64_t hi, t
        t = _timeout_ns(timeout)
        self.ring._check_open()
        with nogil:
            hi = consumer_wait_slow(&self.c, seq, t)
        if hi == WAIT_DETACHED:
            raise self._detached()
        if hi == WAIT_CLOSED:
            raise RingClosed(f"ring {self.ring.name!r} is closed and consumer {self.name!r} has read everything")
        if hi < seq:
            raise RingTimeout(f"consumer {self.name!r} of ring {self.ring.name!r}: nothing after "
                              f"sequence {seq - 1} within {timeout}s")
        return hi

    def wait(self, timeout=None):
        """Highest readable sequence (>= next). RingTimeout / RingClosed."""
        return self._wait(self._next, timeout)

    def recv_into(self, buf, timeout=None):
        """Copy the next event into buf (bytearray or writable buffer, up to its length),
        release it, and return its sequence."""
        cdef Py_buffer view
        cdef int64_t seq = self._next
        self._wait(seq, timeout)
        if PyByteArray_CheckExact(buf):
            return self._copy_out(seq, PyByteArray_AS_STRING(buf), PyByteArray_GET_SIZE(buf))
        PyObject_GetBuffer(buf, &view, PyBUF_WRITABLE)
        try:
            return self._copy_out(seq, <char*>view.buf, view.len)
        finally:
            PyBuffer_Release(&view)

    cdef int64_t _copy_out(self, int64_t seq, char* dst, Py_ssize_t n) except -2:
        # Copy, then check the attachment (a detached consumer's slot may have been reused
        # during the copy), then release.
        if n > self.c.slot_size:
            n = self.c.slot_size
        memcpy(dst, slot_ptr(self.c.slots, seq, self.c.mask, self.c.slot_size), n)
        if not consumer_is_member(&self.c):
            raise self._detached()
        self._release_to(seq)
        return seq

    def recv(self, timeout=None):
        """The next event's bytes (a copy), released."""
        cdef int64_t seq = self._next
        self._wait(seq, timeout)
        out = PyBytes_FromStringAndSize(slot_ptr(self.c.slots, seq, self.c.mask, self.c.slot_size),
                                        self.c.slot_size)
        if not consumer_is_member(&self.c):
            raise self._detached()
        self._release_to(seq)
        return out

    def read_batch(self, max_n=None, timeout=None):
        """Zero-copy numpy view of the next readable events (at least one, at most max_n,
        never across the end of the slot array). The previous batch is released first; the
        view stays valid until this batch is released (next read_batch or release())."""
        cdef int64_t lo
        if self._batch_end >= self._next:
            self._release_checked(self._batch_end)
        lo = self._next
        return self._hand_out(lo, self._wait(lo, timeout), max_n)

    cdef object _hand_out(self, int64_t lo, int64_t hi, max_n):
        """The batch lo..hi (readable), cut at the end of the slot array and at max_n, as a
        zero-copy view; its end is remembered for the release."""
        cdef int64_t idx = lo & self.c.mask
        cdef int64_t end = min(hi, lo + (self.c.size - idx) - 1)
        if max_n is not None:
            end = min(end, lo + max(1, int(max_n)) - 1)
        self._batch_end = end
        return self.ring.slots[idx: idx + (end - lo) + 1]

    def poll_batch(self, max_n=None):
        """read_batch without waiting, for a loop that polls several inputs: None when nothing
        is readable now, where read_batch(max_n, 0) raises RingTimeout (building and catching
        that exception cost a polling loop microseconds per empty input). RingClosed once the
        ring is closed and everything was read; ConsumerDetached as read_batch."""
        cdef int64_t lo, hi
        if self._batch_end >= self._next:
            self._release_checked(self._batch_end)
        lo = self._next
        hi = self.c.cached_avail
        if hi < lo:
            hi = consumer_available(&self.c, lo)
            if hi < lo:
                self.ring._check_open()
                if not consumer_is_member(&self.c):
                    raise self._detached()
                if consumer_drained(&self.c, lo):
                    raise RingClosed(f"ring {self.ring.name!r} is closed and consumer {self.name!r} "
                                     f"has read everything")
                return None
            self.c.cached_avail = hi
        return self._hand_out(lo, hi, max_n)

    @property
    def batch_first(self):
        """Sequence of the first event of the last read_batch."""
        return self._next

    def release(self, seq=None):
        """Release up to seq (default: the end of the last batch)."""
        cdef int64_t s = self._batch_end if seq is None else seq
        if s >= self._next:
            self._release_checked(s)

    cdef int _release_checked(self, int64_t s) except -1:
        # A zero-copy batch is only known good if the consumer is still attached when it is
        # done with it: otherwise the producer may have reused those slots under the reader.
        if not consumer_is_member(&self.c):
            raise self._detached(batch=True)
        self._release_to(s)
        return 0

    def _detached(self, bint batch=False):
        what = ("the events of the last batch may have been overwritten while they were read"
                if batch else "the slot it was reading may have been reused")
        return ConsumerDetached(f"consumer {self.name!r} of ring {self.ring.name!r} was detached: {what}; "
                                f"nothing is released. Attach it again to rejoin at the live edge")

    @property
    def attached(self):
        """False once this consumer was detached (or superseded by a newer attach of its name)."""
        return consumer_is_member(&self.c)

    cdef void _release_to(self, int64_t s) noexcept:
        consumer_release(&self.c, s)
        self._next = s + 1
        self._batch_end = s

    def heartbeat(self):
        self.c.entry.heartbeat_ns = fx_monotonic_ns()

    def detach(self):
        """Leave: this consumer stops gating the producer and its dependents."""
        return self.ring.detach(self.name)
