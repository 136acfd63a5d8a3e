# cython: language_level=3
"""A ring in POSIX shared memory: create or attach to the segment, check every field of its
header before trusting it, keep its consumer table through the membership protocol
(membership.pyx), and hand out producers and consumers (endpoints.pyx) that work on the mapped
segment."""
import mmap
import os
import random
import time

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.string cimport memset, strncpy

from fxpipe.includes.atomic cimport (fx_cas_i64, fx_fetch_add_u32, fx_futex_wake_all,
                                     fx_load_acquire_i64, fx_load_acquire_u32,
                                     fx_load_acquire_u64, fx_monotonic_ns, fx_realtime_ns,
                                     fx_store_release_i64, fx_store_release_u32,
                                     fx_store_release_u64)
from fxpipe.ring.layout cimport *
from fxpipe.ring.membership cimport (ATTACH_BUSY, ATTACH_DETACHED, ATTACH_JOINING, ATTACH_OK,
                                     ATTACH_RETRY, CLAIM_DUPLICATE, CLAIM_FULL, AttachResult,
                                     attach_entry, claim_entry, detach_entry, reconcile_waiters,
                                     valid_deps)

from fxpipe.ring import layout as _layout
from fxpipe.ring import segment as _segment
from fxpipe.ring import status as _status
from fxpipe.ring import validate as _validate
from fxpipe.ring.errors import ConsumerDetached, ConsumerError, RingError, RingExistsError, RingLayoutError

WAIT_STRATEGIES = {"spin": FX_WAIT_SPIN, "yield": FX_WAIT_YIELD, "sleep": FX_WAIT_SLEEP,
                   "block": FX_WAIT_BLOCK}
_PRODUCER_MODES = {"single": FX_PRODUCER_SINGLE, "multi": FX_PRODUCER_MULTI}
MAX_CONSUMERS = FX_RING_MAX_CONSUMERS
LAYOUT_VERSION = FX_RING_LAYOUT_VERSION
MAGIC = FX_RING_MAGIC
_MAP_POPULATE = getattr(mmap, "MAP_POPULATE", 0)     # Linux; elsewhere pages fault in as touched
_ATTACH_ATTEMPTS = 200             # a membership CAS lost this often in a row is not a race


def header_size():
    return sizeof(fx_ring_header)


def layout_offsets():
    """Offsets of the header fields as the C compiler laid them out (see fx_ring_layout.h)."""
    return [fx_ring_offsets[i] for i in range(FX_RING_N_OFFSETS)]


cdef int _wait_code(str wait) except -1:
    try:
        return WAIT_STRATEGIES[wait]
    except KeyError:
        raise ValueError(f"unknown wait strategy {wait!r}: use one of {sorted(WAIT_STRATEGIES)}") from None


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


def _allocate(fd, int64_t total, path, str name):
    # Reserve every page now: a full /dev/shm is an error here, not a SIGBUS mid-trading.
    try:
        os.posix_fallocate(fd, 0, total)
    except OSError as exc:
        if exc.errno in (95, 22):  # EOPNOTSUPP, EINVAL: a filesystem without fallocate
            os.ftruncate(fd, total)
            return
        raise RingError(f"ring {name!r}: cannot allocate {total} bytes for {path}: {exc.strerror}; free "
                        "shared memory (fxpipe ring clean) or make the ring smaller") from None


cdef class Ring:
    """One ring segment mapped into this process. Create it once (the supervisor does), attach
    to it anywhere on the host; then take a producer or named consumers from it."""

    def __cinit__(self):
        self.hdr = NULL
        self.owner = False

    # -- creation and attachment -----------------------------------------------------------

    @staticmethod
    def create(str name, *, int slot_size=64, int64_t slot_count=1024, str producer="single",
               consumers=(), bint blocking=False, dtype=None, bint replace_stale=False,
               bint force=False, bint skip_detached_upstream=False):
        """Create the segment /dev/shm/fxpipe.NAME (0600, every page allocated). `consumers`
        declares the consumers that gate the producer from the first event on: names, or
        (name, [names it waits on]) for a dependency graph (journal -> decision).
        `blocking=True` lets consumers use the futex wait (it costs every publish a fence).
        `skip_detached_upstream=True`: a dependent reads past an upstream while that one is
        detached (default: it waits until the upstream rejoins). A stale segment (creator,
        producer and consumers all gone) is an error unless replace_stale; one of another
        layout version also needs force."""
        cdef Ring r = Ring.__new__(Ring)
        cdef int64_t i, avail_off, slots_off, total
        cdef int mode, idx
        cdef fx_ring_header* h
        cdef uint64_t mask_bits
        cdef bytes bname
        path = _segment.segment_path(name)
        if producer not in _PRODUCER_MODES:
            raise ValueError(f"producer must be 'single' or 'multi', not {producer!r}")
        mode = _PRODUCER_MODES[producer]
        if slot_count < 2 or slot_count & (slot_count - 1):
            raise ValueError(f"slot_count must be a power of two >= 2, not {slot_count}")
        if slot_count > FX_RING_MAX_SLOT_COUNT:
            raise ValueError(f"slot_count {slot_count} is above the limit of 2**30")
        if slot_size < 8 or slot_size % 8 or slot_size > FX_RING_MAX_SLOT_SIZE:
            raise ValueError(f"slot_size must be a multiple of 8 bytes in 8..{FX_RING_MAX_SLOT_SIZE}, not {slot_size}")
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
        avail_off, slots_off, total = _layout.geometry(slot_count, slot_size, mode)
        flags = (FX_FLAG_BLOCKING if blocking else 0) | (FX_FLAG_SKIP_DETACHED_UPSTREAM if skip_detached_upstream else 0)
        with _segment.directory_lock():
            if os.path.lexists(path):
                _segment.remove_if_stale(name, path, replace_stale, sizeof(fx_ring_header), force)
            try:
                fd = os.open(str(path), os.O_CREAT | os.O_EXCL | os.O_RDWR | os.O_NOFOLLOW, 0o600)
            except FileExistsError:
                raise RingExistsError(f"ring {name!r}: {path} was created by another process just now") from None
            try:
                os.fchmod(fd, 0o600)
                _allocate(fd, total, path, name)
                r._map(fd, total)
            except BaseException:
                os.close(fd)
                os.unlink(path)
                raise
            os.close(fd)
        r.name = name
        r.path = str(path)
        r.owner = True
        h = r.hdr
        # The pages are zero; fill the identity, leave state INITIALIZING until every field is
        # written, then release-store READY (attachers acquire it, and wait for it meanwhile).
        h.id.creator_pid = os.getpid()
        h.id.creator_start_time = _segment.process_start_time(os.getpid())
        h.id.layout_version = FX_RING_LAYOUT_VERSION
        h.id.magic = FX_RING_MAGIC
        h.id.slot_size = slot_size
        h.id.slot_count = slot_count
        h.id.producer_mode = mode
        h.id.max_consumers = FX_RING_MAX_CONSUMERS
        h.id.created_ns = fx_realtime_ns()
        h.id.flags = flags
        h.id.avail_offset = avail_off
        h.id.slots_offset = slots_off
        h.id.total_size = total
        bname = name.encode()
        strncpy(h.id.name, bname, FX_RING_NAME_LEN - 1)
        h.cursor.value = -1
        h.gating_cache.value = -1
        for i in range(FX_RING_MAX_CONSUMERS):
            h.consumers[i].sequence = -1
        if mode == FX_PRODUCER_MULTI:
            for i in range(slot_count):
                (<int32_t*>(r.base + avail_off))[i] = -1
        for idx, (cname, after) in enumerate(specs):
            mask_bits = 0
            for dep in after:
                mask_bits |= (<uint64_t>1) << index[dep]
            _fill_entry(&h.consumers[idx], cname, mask_bits)
        r._bind(dtype, slot_count, slot_size, mode, flags, avail_off, slots_off)
        fx_store_release_u32(&h.id.state, FX_RING_READY)
        return r

    @staticmethod
    def attach(str name, *, dtype=None, slot_size=None, timeout=1.0):
        """Map an existing ring. Waits up to `timeout` s for a ring still being created. Fails
        clearly when it is missing, not an fxpipe ring, of another layout version, damaged (any
        header field that disagrees with the file or the others), not ours (owner, mode), of
        another slot size than expected, or never finished by a creator that died."""
        cdef Ring r = Ring.__new__(Ring)
        path = _segment.segment_path(name)
        try:
            fd = os.open(str(path), os.O_RDWR | os.O_NOFOLLOW)
        except FileNotFoundError:
            raise RingError(f"ring {name!r} does not exist ({path}); start the process that creates it first") from None
        except PermissionError:
            raise RingError(f"ring {name!r}: no permission to open {path} (segments are 0600, "
                            "owned by the user who created them)") from None
        except OSError as exc:
            raise RingError(f"ring {name!r}: cannot open {path}: {exc.strerror}") from None
        deadline = time.monotonic() + (timeout or 0)
        try:
            while True:
                st = os.fstat(fd)
                raw = os.pread(fd, _layout.HEADER.itemsize, 0)
                try:
                    h = _validate.check_header(name, path, raw, st.st_size)
                    _validate.check_owner(name, path, st)
                    break
                except _validate.NotReady as exc:
                    if time.monotonic() >= deadline:
                        raise RingError(_not_ready_message(name, path, raw, exc)) from None
                    time.sleep(0.001)
            ident = h["id"]
            r._map(fd, st.st_size)
        finally:
            os.close(fd)
        r.name = name
        r.path = str(path)
        got = int(ident["slot_size"])
        if slot_size is not None and slot_size != got:
            r.close()
            raise RingLayoutError(f"ring {name!r} has {got}-byte slots, this stage expects {slot_size}")
        if dtype is not None and np.dtype(dtype).itemsize > got:
            r.close()
            raise RingLayoutError(f"ring {name!r} has {got}-byte slots, too small for a "
                                  f"{np.dtype(dtype).itemsize}-byte dtype")
        r._bind(dtype, int(ident["slot_count"]), got, int(ident["producer_mode"]), int(ident["flags"]),
                int(ident["avail_offset"]), int(ident["slots_offset"]))
        return r

    cdef _map(self, int fd, int64_t size):
        cdef const unsigned char[::1] view
        # MAP_POPULATE: every page of the segment is in this process's page tables from the start
        # (the size was checked against the header first). A page first touched on the hot path
        # costs a fault of ~1.6 us (2-core VM, tmpfs), and a lap of a 16,384-slot ring of
        # 192-byte events touches 768 of them: the first lap after every start.
        self._mm = mmap.mmap(fd, size, mmap.MAP_SHARED | _MAP_POPULATE, mmap.PROT_READ | mmap.PROT_WRITE)
        self._buf = memoryview(self._mm)
        view = self._buf
        self.base = <char*>&view[0]
        self.hdr = <fx_ring_header*>self.base

    cdef _bind(self, dtype, int64_t slot_count, uint32_t slot_size, int mode, uint32_t flags,
               int64_t avail_offset, int64_t slots_offset):
        self.n_slots = slot_count
        self.n_slot_size = slot_size
        self.mode = mode
        self.flags = flags
        self.slot_base = self.base + slots_offset
        self.avail = <int32_t*>(self.base + avail_offset) if mode == FX_PRODUCER_MULTI else NULL
        self.dtype = np.dtype(dtype) if dtype is not None else np.dtype((np.void, slot_size))
        self.slots = np.ndarray(shape=(slot_count,), dtype=self.dtype, buffer=self._mm,
                                offset=slots_offset, strides=(slot_size,))

    cdef void _check_open(self) except *:
        if self.hdr == NULL:
            raise RingError(f"ring {self.name!r} is closed in this process")

    # -- properties ------------------------------------------------------------------------

    @property
    def slot_size(self):
        self._check_open()
        return self.n_slot_size

    @property
    def slot_count(self):
        self._check_open()
        return self.n_slots

    @property
    def mask(self):
        return self.slot_count - 1

    @property
    def producer_mode(self):
        self._check_open()
        return "single" if self.mode == FX_PRODUCER_SINGLE else "multi"

    @property
    def blocking(self):
        self._check_open()
        return bool(self.flags & FX_FLAG_BLOCKING)

    @property
    def skip_detached_upstream(self):
        self._check_open()
        return bool(self.flags & FX_FLAG_SKIP_DETACHED_UPSTREAM)

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
        at a time (taken over by CAS, so of two starting at once one wins and the other gets a
        clear error); a restarted producer resumes after the last published sequence.
        auto_detach: a gating consumer whose process died (pid and start time) is detached
        (and counted) instead of being waited on; otherwise the claim's timeout decides."""
        self._check_open()
        cdef fx_ring_header* h = self.hdr
        cdef int64_t me = os.getpid(), holder
        code = _wait_code(wait)
        if code == FX_WAIT_BLOCK and not (self.flags & FX_FLAG_BLOCKING):
            raise ValueError(f"ring {self.name!r} was created without blocking=True; 'block' waits need it")
        start_time = _segment.process_start_time(me)
        if self.mode == FX_PRODUCER_SINGLE:
            for _ in range(_ATTACH_ATTEMPTS):
                holder = fx_load_acquire_i64(&h.producer.pid)
                if holder != 0 and holder != me and holder != -me:
                    # negative: another process is taking over right now (start time not set yet)
                    if _segment.process_alive(abs(holder), h.producer.start_time if holder > 0 else 0):
                        raise RingError(f"ring {self.name!r} is single-producer and pid {abs(holder)} "
                                        "is its live producer")
                if fx_cas_i64(&h.producer.pid, holder, -me):
                    break
            else:
                raise RingError(f"ring {self.name!r}: could not take the producer role (contended)")
            h.producer.start_time = start_time
            h.producer.heartbeat_ns = fx_monotonic_ns()
            fx_store_release_i64(&h.producer.pid, me)
        else:
            h.producer.pid = me
            h.producer.start_time = start_time
            h.producer.heartbeat_ns = fx_monotonic_ns()
        from fxpipe.ring.endpoints import new_producer  # endpoints cimports this module
        return new_producer(self, code, auto_detach)

    def consumer(self, str name, str wait="yield", *, after=None, bint create=False):
        """Attach as consumer `name`. A declared consumer starts from the first event; a
        consumer whose previous process died resumes from its last release (nothing lost);
        one that was detached rejoins at the live edge (rejoined_gap says how much it
        missed); with create=True an undeclared name joins at the live edge, waiting on
        `after` (names) if given. A name attached by another live process is refused."""
        self._check_open()
        cdef fx_ring_header* h = self.hdr
        cdef int idx = -1, j, r = ATTACH_RETRY, code = _wait_code(wait)
        cdef uint64_t mask_bits = 0
        cdef AttachResult res
        cdef bytes bname
        cdef int64_t me = os.getpid()
        cdef uint64_t start_time = _segment.process_start_time(me)
        if code == FX_WAIT_BLOCK and not (self.flags & FX_FLAG_BLOCKING):
            raise ValueError(f"ring {self.name!r} was created without blocking=True; 'block' waits need it")
        memset(&res, 0, sizeof(res))
        for attempt in range(_ATTACH_ATTEMPTS):
            idx = self._find(name)
            if idx >= 0:
                r = attach_entry(h, idx, me, start_time, code, &res)
                if r == ATTACH_OK:
                    break
                if r == ATTACH_BUSY:
                    raise ConsumerError(f"consumer {name!r} of ring {self.name!r} is attached by live pid {res.holder}")
                if r == ATTACH_JOINING:
                    raise ConsumerError(f"consumer {name!r} of ring {self.name!r} is being attached by live "
                                        f"pid {res.holder} right now")
            else:
                if not create:
                    raise ConsumerError(f"ring {self.name!r} has no consumer {name!r} (declared: "
                                        f"{self.consumer_names()}); declare it or pass create=True")
                _check_consumer_name(name)
                mask_bits = 0
                for dep in (after or ()):
                    j = self._find(dep)
                    if j < 0:
                        raise ConsumerError(f"consumer {name!r} waits on unknown consumer {dep!r}")
                    mask_bits |= (<uint64_t>1) << j
                bname = name.encode()
                r = claim_entry(h, bname, mask_bits, me, start_time, code, &res)
                if r >= 0:
                    idx = r
                    r = ATTACH_OK
                    break
                if r == CLAIM_FULL:
                    raise ConsumerError(f"ring {self.name!r} has no free consumer entry (max {FX_RING_MAX_CONSUMERS})")
            if r == ATTACH_DETACHED:
                raise ConsumerDetached(f"consumer {name!r} of ring {self.name!r} was detached while it was "
                                       "being attached; attach again")
            # lost a race (the entry changed, or another process adds the same name): back off
            time.sleep(random.uniform(0.0002, 0.002))
        else:
            raise ConsumerError(f"consumer {name!r} of ring {self.name!r}: the entry kept changing under "
                                f"{_ATTACH_ATTEMPTS} attempts to attach it")
        from fxpipe.ring.endpoints import new_consumer
        return new_consumer(self, name, idx, code, res.gap, res.member)

    cdef int _find(self, str name):
        cdef int i
        cdef uint32_t st
        for i in range(FX_RING_MAX_CONSUMERS):
            st = fx_member_state(fx_load_acquire_u64(&self.hdr.consumers[i].member))
            if (st != FX_CONSUMER_FREE and st != FX_CONSUMER_CLAIMING
                    and _cstr(self.hdr.consumers[i].name, FX_CONSUMER_NAME_LEN) == name):
                return i
        return -1

    def consumer_names(self):
        self._check_open()
        names = []
        for i in range(FX_RING_MAX_CONSUMERS):
            st = fx_member_state(fx_load_acquire_u64(&self.hdr.consumers[i].member))
            if st != FX_CONSUMER_FREE and st != FX_CONSUMER_CLAIMING:
                names.append(_cstr(self.hdr.consumers[i].name, FX_CONSUMER_NAME_LEN))
        return names

    # -- operations ------------------------------------------------------------------------

    def detach(self, str name):
        """Stop consumer `name` from gating the producer (a dead or hung consumer must not
        wedge the ring). Its dependents keep waiting for it unless the ring skips detached
        upstreams; if its process still runs, its next read raises ConsumerDetached. True if
        this call detached it."""
        self._check_open()
        cdef int idx = self._find(name)
        if idx < 0:
            raise ConsumerError(f"ring {self.name!r} has no consumer {name!r}")
        return bool(detach_entry(self.hdr, idx))

    def dead_consumers(self, heartbeat_timeout=None):
        """Attached (or joining) consumers whose process is gone: pid and start time decide, so
        a busy consumer is never reported dead. With heartbeat_timeout (s), also those that are
        alive but stalled: holding unread events with no release or wait for that long (the
        heartbeat is refreshed on every release and while waiting; advisory, see
        stalled_consumers)."""
        return _status.dead_consumers(self.status(), heartbeat_timeout)

    def stalled_consumers(self, timeout):
        """Live consumers that hold unread events and have neither released nor waited for
        `timeout` s: hung, or busy on one event for that long. Advisory: never a death."""
        return _status.stalled_consumers(self.status(), timeout)

    def recover_waiters(self):
        """Take back futex waiter registrations left by processes killed in their sleep
        (publishes also do it themselves after repeated wakes that find nobody)."""
        self._check_open()
        reconcile_waiters(self.hdr)

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


def _not_ready_message(name, path, raw, exc):
    if len(raw) >= _layout.IDENTITY.itemsize and any(raw[:8]):
        pid, alive = _segment.creator_alive(raw)
        if not alive:
            return (f"ring {name!r} was never finished: its creator pid {pid} died while creating it; "
                    f"remove it (fxpipe ring clean --yes) and create it again")
        return f"ring {name!r} is still being created by pid {pid}; try again, or attach with a longer timeout"
    return f"ring {name!r} at {path} is still being created (no identity yet); try again or remove it"


cdef void _fill_entry(fx_consumer_entry* e, str name, uint64_t mask_bits):
    cdef bytes b = name.encode()
    memset(e.name, 0, FX_CONSUMER_NAME_LEN)
    strncpy(e.name, b, FX_CONSUMER_NAME_LEN - 1)
    e.depends_mask = mask_bits
    e.pid = 0
    e.start_time = 0
    e.heartbeat_ns = 0
    e.waits = 0
    fx_store_release_u64(&e.member, fx_member(FX_CONSUMER_DECLARED, 1))


def _check_consumer_name(name):
    if not isinstance(name, str) or not name or len(name.encode()) >= FX_CONSUMER_NAME_LEN or "\0" in name:
        raise ValueError(f"bad consumer name {name!r}: 1 to {FX_CONSUMER_NAME_LEN - 1} bytes, no NUL")
