# cython: language_level=3
"""A ring in POSIX shared memory: create or attach to the segment, check its identity, keep
its consumer table (declare, attach, detach), and hand out producers and consumers
(endpoints.pyx) that work on the mapped segment."""
import mmap
import os
import time

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.string cimport memset, strncpy

from fxpipe.includes.atomic cimport (fx_cas_u32, fx_fetch_add_u32, fx_futex_wake_all,
                                     fx_load_acquire_i64, fx_load_acquire_u32,
                                     fx_monotonic_ns, fx_realtime_ns, fx_store_release_i64,
                                     fx_store_release_u32)
from fxpipe.ring.layout cimport *
from fxpipe.ring.sequencer cimport detach_consumer_entry

from fxpipe.ring import layout as _layout
from fxpipe.ring import segment as _segment
from fxpipe.ring import status as _status
from fxpipe.ring.errors import ConsumerError, RingError, RingExistsError, RingLayoutError

WAIT_STRATEGIES = {"spin": FX_WAIT_SPIN, "yield": FX_WAIT_YIELD, "sleep": FX_WAIT_SLEEP,
                   "block": FX_WAIT_BLOCK}
_PRODUCER_MODES = {"single": FX_PRODUCER_SINGLE, "multi": FX_PRODUCER_MULTI}
MAX_CONSUMERS = FX_RING_MAX_CONSUMERS
LAYOUT_VERSION = FX_RING_LAYOUT_VERSION
MAGIC = FX_RING_MAGIC


def header_size():
    return sizeof(fx_ring_header)


def layout_offsets():
    """Offsets of the header fields as the C compiler laid them out (see fx_ring_layout.h)."""
    return [fx_ring_offsets[i] for i in range(27)]


cdef int _wait_code(str wait) except -1:
    try:
        return WAIT_STRATEGIES[wait]
    except KeyError:
        raise ValueError(f"unknown wait strategy {wait!r}: use one of {sorted(WAIT_STRATEGIES)}") from None


cdef inline int64_t _round_up(int64_t v, int64_t a):
    return (v + a - 1) // a * a


cdef str _cstr(const char* s, int cap):
    cdef int n = 0
    while n < cap and s[n] != 0:
        n += 1
    return s[:n].decode("utf-8", "replace")


def _normalise_consumers(consumers):
    out = []
    for spec in consumers:
        if isinstance(spec, str):
            name, after = spec, ()
        else:
            name, after = spec
            after = (after,) if isinstance(after, str) else tuple(after)
        out.append((name, after))
    return out


cdef class Ring:
    """One ring segment mapped into this process. Create it once (the supervisor does), attach
    to it anywhere on the host; then take a producer or named consumers from it."""

    def __cinit__(self):
        self.hdr = NULL
        self.owner = False

    # -- creation and attachment -----------------------------------------------------------

    @staticmethod
    def create(str name, *, int slot_size=64, int64_t slot_count=1024, str producer="single",
               consumers=(), bint blocking=False, dtype=None, bint replace_stale=False):
        """Create the segment /dev/shm/fxpipe.NAME (0600). `consumers` declares the consumers
        that gate the producer from the first event on: names, or (name, [names it waits
        on]) for a dependency graph (journal -> decision). `blocking=True` lets consumers
        use the futex wait (it costs every publish a fence). A stale segment of a dead
        creator is an error unless replace_stale."""
        cdef Ring r = Ring.__new__(Ring)
        cdef int64_t n, hdr_size, avail_off, slots_off, total, i
        cdef int mode, idx, j
        cdef fx_ring_header* h
        cdef uint64_t mask_bits
        cdef bytes bname
        path = _segment.segment_path(name)
        if producer not in _PRODUCER_MODES:
            raise ValueError(f"producer must be 'single' or 'multi', not {producer!r}")
        mode = _PRODUCER_MODES[producer]
        if slot_count < 2 or slot_count & (slot_count - 1):
            raise ValueError(f"slot_count must be a power of two >= 2, not {slot_count}")
        if slot_count > (1 << 30):
            raise ValueError(f"slot_count {slot_count} is above the limit of 2**30")
        if slot_size < 8 or slot_size % 8:
            raise ValueError(f"slot_size must be a multiple of 8 bytes and >= 8, not {slot_size}")
        if dtype is not None and np.dtype(dtype).itemsize > slot_size:
            raise ValueError(f"dtype of {np.dtype(dtype).itemsize} bytes does not fit a {slot_size}-byte slot")
        specs = _normalise_consumers(consumers)
        if len(specs) > FX_RING_MAX_CONSUMERS:
            raise ValueError(f"{len(specs)} consumers declared; a ring has at most {FX_RING_MAX_CONSUMERS}")
        index = {}
        for idx, (cname, after) in enumerate(specs):
            _check_consumer_name(cname)
            if cname in index:
                raise ValueError(f"consumer {cname!r} declared twice")
            for dep in after:
                if dep not in index:
                    raise ValueError(f"consumer {cname!r} waits on {dep!r}, which is not declared before it")
            index[cname] = idx

        if path.exists():
            _segment.remove_if_stale(name, path, replace_stale, sizeof(fx_ring_header))

        hdr_size = sizeof(fx_ring_header)
        avail_off = _round_up(hdr_size, 128)
        slots_off = _round_up(avail_off + (slot_count * 4 if mode == FX_PRODUCER_MULTI else 0), 4096)
        total = slots_off + slot_count * slot_size
        try:
            fd = os.open(str(path), os.O_CREAT | os.O_EXCL | os.O_RDWR | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            raise RingExistsError(f"ring {name!r}: {path} was created by another process just now") from None
        try:
            os.fchmod(fd, 0o600)
            os.ftruncate(fd, total)
            r._map(fd, total)
        finally:
            os.close(fd)
        r.name = name
        r.path = str(path)
        r.owner = True
        h = r.hdr
        # The file is zero-filled by ftruncate; fill the identity, leave state INITIALIZING
        # until every field is written, then release-store READY (attachers acquire it).
        h.id.magic = FX_RING_MAGIC
        h.id.layout_version = FX_RING_LAYOUT_VERSION
        h.id.slot_size = slot_size
        h.id.slot_count = slot_count
        h.id.producer_mode = mode
        h.id.max_consumers = FX_RING_MAX_CONSUMERS
        h.id.creator_pid = os.getpid()
        h.id.creator_start_time = _segment.process_start_time(os.getpid())
        h.id.created_ns = fx_realtime_ns()
        h.id.flags = FX_FLAG_BLOCKING if blocking else 0
        h.id.avail_offset = avail_off if mode == FX_PRODUCER_MULTI else 0
        h.id.slots_offset = slots_off
        h.id.total_size = total
        bname = name.encode()
        strncpy(h.id.name, bname, FX_RING_NAME_LEN - 1)
        h.cursor.value = -1
        h.gating_cache.value = -1
        for i in range(FX_RING_MAX_CONSUMERS):
            h.consumers[i].sequence.value = -1
        if mode == FX_PRODUCER_MULTI:
            for i in range(slot_count):
                (<int32_t*>(r.base + avail_off))[i] = -1
        for idx, (cname, after) in enumerate(specs):
            mask_bits = 0
            for dep in after:
                mask_bits |= (<uint64_t>1) << index[dep]
            _fill_entry(&h.consumers[idx], cname, mask_bits, FX_CONSUMER_DECLARED)
        r._bind(dtype)
        fx_store_release_u32(&h.id.state, FX_RING_READY)
        return r

    @staticmethod
    def attach(str name, *, dtype=None, slot_size=None, timeout=1.0):
        """Map an existing ring. Fails clearly when it is missing, not an fxpipe ring, of
        another layout version, of another slot size than expected, or never finished its
        initialisation."""
        cdef Ring r = Ring.__new__(Ring)
        path = _segment.segment_path(name)
        try:
            fd = os.open(str(path), os.O_RDWR | os.O_NOFOLLOW)
        except FileNotFoundError:
            raise RingError(f"ring {name!r} does not exist ({path}); start the process that creates it first") from None
        except PermissionError:
            raise RingError(f"ring {name!r}: no permission to open {path} (segments are 0600, "
                            "owned by the user who created them)") from None
        try:
            size = os.fstat(fd).st_size
            _segment.check_identity(name, path, os.pread(fd, 128, 0), size, sizeof(fx_ring_header))
            r._map(fd, size)
        finally:
            os.close(fd)
        r.name = name
        r.path = str(path)
        deadline = time.monotonic() + (timeout or 0)
        while fx_load_acquire_u32(&r.hdr.id.state) == FX_RING_INITIALIZING:
            if time.monotonic() >= deadline:
                pid = r.hdr.id.creator_pid
                r.close()
                raise RingError(f"ring {name!r} is still initialising (creator pid {pid}"
                                f"{'' if _segment.process_alive(pid) else ', which is gone: remove ' + str(path)})")
            time.sleep(0.001)
        if r.hdr.id.total_size != size:
            r.close()
            raise RingLayoutError(f"ring {name!r}: segment is {size} bytes but its header says "
                                  f"{r.hdr.id.total_size}; it is damaged, recreate it")
        if slot_size is not None and slot_size != r.hdr.id.slot_size:
            got = r.hdr.id.slot_size
            r.close()
            raise RingLayoutError(f"ring {name!r} has {got}-byte slots, this stage expects {slot_size}")
        if dtype is not None and np.dtype(dtype).itemsize > r.hdr.id.slot_size:
            got = r.hdr.id.slot_size
            r.close()
            raise RingLayoutError(f"ring {name!r} has {got}-byte slots, too small for a "
                                  f"{np.dtype(dtype).itemsize}-byte dtype")
        r._bind(dtype)
        return r

    cdef _map(self, int fd, int64_t size):
        cdef const unsigned char[::1] view
        self._mm = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self._buf = memoryview(self._mm)
        view = self._buf
        self.base = <char*>&view[0]
        self.hdr = <fx_ring_header*>self.base

    cdef _bind(self, dtype):
        cdef fx_ring_header* h = self.hdr
        self.slot_base = self.base + h.id.slots_offset
        self.avail = <int32_t*>(self.base + h.id.avail_offset) if h.id.producer_mode == FX_PRODUCER_MULTI else NULL
        self.dtype = np.dtype(dtype) if dtype is not None else np.dtype((np.void, h.id.slot_size))
        self.slots = np.ndarray(shape=(h.id.slot_count,), dtype=self.dtype, buffer=self._mm,
                                offset=h.id.slots_offset, strides=(h.id.slot_size,))

    cdef void _check_open(self) except *:
        if self.hdr == NULL:
            raise RingError(f"ring {self.name!r} is closed in this process")

    # -- properties ------------------------------------------------------------------------

    @property
    def slot_size(self):
        self._check_open()
        return self.hdr.id.slot_size

    @property
    def slot_count(self):
        self._check_open()
        return self.hdr.id.slot_count

    @property
    def mask(self):
        return self.slot_count - 1

    @property
    def producer_mode(self):
        self._check_open()
        return "single" if self.hdr.id.producer_mode == FX_PRODUCER_SINGLE else "multi"

    @property
    def blocking(self):
        self._check_open()
        return bool(self.hdr.id.flags & FX_FLAG_BLOCKING)

    @property
    def cursor(self):
        """SP: last published sequence; MP: last claimed (published ones are flagged)."""
        self._check_open()
        return fx_load_acquire_i64(&self.hdr.cursor.value)

    @property
    def closed(self):
        self._check_open()
        return fx_load_acquire_u32(&self.hdr.id.state) == FX_RING_CLOSED

    @property
    def creator_pid(self):
        self._check_open()
        return self.hdr.id.creator_pid

    # -- producers and consumers -----------------------------------------------------------

    def producer(self, str wait="yield", bint auto_detach=False):
        """The producer of this ring. Single-producer rings accept one live producer process
        at a time; a restarted producer resumes after the last published sequence.
        auto_detach: a gating consumer whose process died is detached (and counted) instead
        of being waited on; otherwise it stays and the claim's timeout decides."""
        self._check_open()
        cdef fx_ring_header* h = self.hdr
        me = os.getpid()
        if h.id.producer_mode == FX_PRODUCER_SINGLE:
            holder = h.producer.pid
            if holder and holder != me and _segment.process_alive(holder, h.producer.start_time):
                raise RingError(f"ring {self.name!r} is single-producer and pid {holder} is its live producer")
        h.producer.pid = me
        h.producer.start_time = _segment.process_start_time(me)
        h.producer.heartbeat_ns = fx_monotonic_ns()
        code = _wait_code(wait)
        if code == FX_WAIT_BLOCK and not (h.id.flags & FX_FLAG_BLOCKING):
            raise ValueError(f"ring {self.name!r} was created without blocking=True; 'block' waits need it")
        from fxpipe.ring.endpoints import new_producer  # endpoints cimports this module
        return new_producer(self, code, auto_detach)

    def consumer(self, str name, str wait="yield", *, after=None, bint create=False):
        """Attach as consumer `name`. A declared consumer starts from the first event; a
        consumer whose previous process died resumes from its last release (nothing lost);
        one that was detached rejoins at the live edge (rejoined_gap says how much it
        missed); with create=True an undeclared name joins at the live edge, waiting on
        `after` (names) if given."""
        self._check_open()
        cdef fx_ring_header* h = self.hdr
        cdef fx_consumer_entry* e
        cdef int idx = self._find(name)
        cdef int i, j, code = _wait_code(wait)
        cdef int64_t cur
        cdef uint32_t st
        cdef uint64_t mask_bits = 0
        me = os.getpid()
        if code == FX_WAIT_BLOCK and not (h.id.flags & FX_FLAG_BLOCKING):
            raise ValueError(f"ring {self.name!r} was created without blocking=True; 'block' waits need it")
        cdef int64_t gap = 0
        if idx < 0:
            if not create:
                raise ConsumerError(f"ring {self.name!r} has no consumer {name!r} (declared: "
                                    f"{self.consumer_names()}); declare it or pass create=True")
            _check_consumer_name(name)
            for dep in (after or ()):
                j = self._find(dep)
                if j < 0:
                    raise ConsumerError(f"consumer {name!r} waits on unknown consumer {dep!r}")
                mask_bits |= (<uint64_t>1) << j
            idx = self._claim_free_entry(name, mask_bits)
        e = &h.consumers[idx]
        st = fx_load_acquire_u32(&e.state)
        if st == FX_CONSUMER_ATTACHED and e.pid != me and _segment.process_alive(e.pid, e.start_time):
            raise ConsumerError(f"consumer {name!r} of ring {self.name!r} is attached by live pid {e.pid}")
        if st == FX_CONSUMER_DETACHED:
            # Slots it had not read may have been reused while it did not gate: rejoin at the
            # live edge and say how much was missed.
            cur = fx_load_acquire_i64(&h.cursor.value)
            gap = max(0, cur - e.sequence.value)
            fx_store_release_i64(&e.sequence.value, cur)
        e.pid = me
        e.start_time = _segment.process_start_time(me)
        e.heartbeat_ns = fx_monotonic_ns()
        e.attached_ns = fx_realtime_ns()
        e.wait_strategy = code
        fx_store_release_u32(&e.state, FX_CONSUMER_ATTACHED)
        from fxpipe.ring.endpoints import new_consumer
        return new_consumer(self, name, idx, code, gap)

    cdef int _find(self, str name):
        cdef int i
        for i in range(FX_RING_MAX_CONSUMERS):
            if (self.hdr.consumers[i].state != FX_CONSUMER_FREE
                    and self.hdr.consumers[i].state != FX_CONSUMER_CLAIMING
                    and _cstr(self.hdr.consumers[i].name, FX_CONSUMER_NAME_LEN) == name):
                return i
        return -1

    cdef int _claim_free_entry(self, str name, uint64_t mask_bits) except -1:
        cdef int i, j
        cdef int64_t up, start
        cdef fx_consumer_entry* e
        for i in range(FX_RING_MAX_CONSUMERS):
            e = &self.hdr.consumers[i]
            if fx_load_acquire_u32(&e.state) != FX_CONSUMER_FREE:
                continue
            # Win the entry first (CLAIMING gates nobody), then set its start sequence, then
            # DECLARED: two processes adding consumers at once never share or overwrite one.
            if not fx_cas_u32(&e.state, FX_CONSUMER_FREE, FX_CONSUMER_CLAIMING):
                continue
            # Start at the live edge, but no later than the slowest upstream, so it never
            # reads ahead of what those consumers have released.
            start = fx_load_acquire_i64(&self.hdr.cursor.value)
            for j in range(FX_RING_MAX_CONSUMERS):
                if mask_bits & ((<uint64_t>1) << j):
                    up = fx_load_acquire_i64(&self.hdr.consumers[j].sequence.value)
                    if up < start:
                        start = up
            fx_store_release_i64(&e.sequence.value, start)
            _fill_entry(e, name, mask_bits, FX_CONSUMER_DECLARED)
            return i
        raise ConsumerError(f"ring {self.name!r} has no free consumer entry (max {FX_RING_MAX_CONSUMERS})")

    def consumer_names(self):
        self._check_open()
        return [_cstr(self.hdr.consumers[i].name, FX_CONSUMER_NAME_LEN)
                for i in range(FX_RING_MAX_CONSUMERS) if self.hdr.consumers[i].state != FX_CONSUMER_FREE]

    # -- operations ------------------------------------------------------------------------

    def detach(self, str name):
        """Stop consumer `name` from gating the producer and its dependents (a dead or hung
        consumer must not wedge the ring). True if it was detached by this call."""
        self._check_open()
        cdef int idx = self._find(name)
        if idx < 0:
            raise ConsumerError(f"ring {self.name!r} has no consumer {name!r}")
        return bool(detach_consumer_entry(self.hdr, idx))

    def dead_consumers(self, heartbeat_timeout=None):
        """Attached consumers whose process is gone (or whose pid was reused), and, when
        heartbeat_timeout (s) is given, those lagging with a heartbeat older than that."""
        return _status.dead_consumers(self.status(), heartbeat_timeout)

    def status(self):
        """A snapshot for operators, read through the header mirror (fxpipe.ring.status)."""
        self._check_open()
        return _status.ring_status(self)

    @property
    def header(self):
        """numpy record view of the live header (fxpipe.ring.layout.HEADER): for tools."""
        self._check_open()
        return np.ndarray(shape=(), dtype=_layout.HEADER, buffer=self._mm)

    def close_stream(self):
        """End of stream: consumers drain what was published, then get RingClosed."""
        self._check_open()
        fx_store_release_u32(&self.hdr.id.state, FX_RING_CLOSED)
        fx_fetch_add_u32(&self.hdr.futex.pub_epoch, 1)
        fx_futex_wake_all(&self.hdr.futex.pub_epoch)
        fx_fetch_add_u32(&self.hdr.futex.rel_epoch, 1)
        fx_futex_wake_all(&self.hdr.futex.rel_epoch)

    def unlink(self):
        """Remove the segment name (mappings stay valid until closed)."""
        try:
            os.unlink(_segment.segment_path(self.name))
            return True
        except FileNotFoundError:
            return False

    def close(self, unlink=None):
        """Unmap here; the creator also removes the segment unless unlink=False."""
        if unlink is None:
            unlink = self.owner
        if unlink and self.name:
            self.unlink()
        self.hdr = NULL
        self.slot_base = NULL
        self.avail = NULL
        self.slots = None
        if self._buf is not None:
            self._buf.release()
            self._buf = None
        if self._mm is not None:
            try:
                self._mm.close()
            except BufferError:
                pass  # a numpy view the caller still holds keeps the mapping alive; GC unmaps
            self._mm = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        if self.hdr == NULL:
            return f"<Ring {self.name!r} closed>"
        return (f"<Ring {self.name!r} {self.slot_count}x{self.slot_size}B {self.producer_mode} "
                f"cursor={self.cursor}>")


cdef void _fill_entry(fx_consumer_entry* e, str name, uint64_t mask_bits, uint32_t state):
    cdef bytes b = name.encode()
    memset(e.name, 0, FX_CONSUMER_NAME_LEN)
    strncpy(e.name, b, FX_CONSUMER_NAME_LEN - 1)
    e.depends_mask = mask_bits
    e.pid = 0
    e.start_time = 0
    e.heartbeat_ns = 0
    e.waits = 0
    fx_store_release_u32(&e.state, state)


def _check_consumer_name(name):
    if not isinstance(name, str) or not name or len(name.encode()) >= FX_CONSUMER_NAME_LEN:
        raise ValueError(f"bad consumer name {name!r}: 1 to {FX_CONSUMER_NAME_LEN - 1} bytes")
