"""A small pure-Python model of the ring's membership protocol: the test oracle the Cython ring
is held against, never a production path. Single producer, one process, slots hold
(sequence, payload).

Every operation that touches shared state is a generator that yields between its atomic steps
(a load, a store, a CAS), in the order the Cython ring performs them, so a deterministic
scheduler can interleave several parties step by step (tests/ring/test_ring_interleavings.py).
The blocking-free API (RefRing.create(...).producer().send(...), .consumer(...).recv(...))
runs each generator to completion and mirrors fxpipe.ring.Ring closely enough for one test body
to run against both.
"""
from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from fxpipe.ring.errors import ConsumerDetached, ConsumerError, RingError, RingFull, RingTimeout

FREE, DECLARED, ATTACHED, DETACHED, CLAIMING, JOINING = range(6)
GATING = (DECLARED, ATTACHED, JOINING)
MAX_CONSUMERS = 16

Steps = Generator[None, None, Any]


@dataclass
class Entry:
    state: int = FREE
    gen: int = 0
    sequence: int = -1
    name: str = ""
    mask: int = 0
    pid: int = 0

    def member(self) -> tuple[int, int]:
        return self.state, self.gen


@dataclass
class World:
    """The shared segment: cursor, slots, consumer table."""
    slot_count: int
    skip_detached_upstream: bool = False
    cursor: int = -1
    slots: list = field(default_factory=list)
    entries: list[Entry] = field(default_factory=lambda: [Entry() for _ in range(MAX_CONSUMERS)])

    def __post_init__(self):
        self.slots = [(-1, b"")] * self.slot_count

    def key(self) -> tuple:
        return (self.cursor, tuple(self.slots),
                tuple((e.state, e.gen, e.sequence, e.name, e.mask, e.pid) for e in self.entries))

    def find(self, name: str) -> int:
        for i, e in enumerate(self.entries):
            if e.state not in (FREE, CLAIMING) and e.name == name:
                return i
        return -1

    def min_gating(self, default: int) -> int:
        seqs = [e.sequence for e in self.entries if e.state in GATING]
        return min(seqs) if seqs else default

    def join_start(self, mask: int) -> int:
        start = self.cursor
        for j, e in enumerate(self.entries):
            if mask >> j & 1 and e.state in GATING:
                start = min(start, e.sequence)
        return start

    def available(self, index: int) -> int:
        mask = self.entries[index].mask
        if not mask:
            return self.cursor
        ups = [e for j, e in enumerate(self.entries) if mask >> j & 1]
        if self.skip_detached_upstream:
            ups = [e for e in ups if e.state in GATING]
            if not ups:
                return self.cursor
        return min(e.sequence for e in ups)


class JoinFailed(Exception):
    """Internal: a membership CAS lost; the caller looks the entry up again."""


# -- protocol steps ----------------------------------------------------------------------------

def claim_steps(w: World, name: str, mask: int, pid: int) -> Steps:
    """claim_entry(): win a free entry, name it, back off on a duplicate name, gate, fence,
    re-read, start, attach. Returns (index, member)."""
    for i, e in enumerate(w.entries):
        if e.state != FREE:
            continue
        # CAS to CLAIMING, name it, fence, look for the same name elsewhere: one step here, since
        # only the joiner itself reads a CLAIMING entry.
        e.state, e.gen = CLAIMING, e.gen + 1
        e.name, e.mask, e.pid = name, mask & ~(1 << i), pid
        if any(o.state != FREE and o.name == name for j, o in enumerate(w.entries) if j != i):
            e.state = FREE
            raise JoinFailed(name)
        yield
        return (yield from _finish_join(w, i))
    raise ConsumerError(f"no free consumer entry for {name!r}")


def _finish_join(w: World, i: int) -> Steps:
    # (A load followed by a store of what it read is one step: a party that runs between them
    # can only make the stored value more conservative.)
    e = w.entries[i]
    v0 = w.join_start(e.mask)                                                   # loads, store
    e.sequence = v0
    yield
    joining = (JOINING, e.gen) if e.state == CLAIMING else e.member()
    e.state = JOINING                                                           # gates from here
    yield
    e.sequence = max(v0, w.join_start(e.mask))                                  # fence, re-read, store
    yield
    if e.member() != joining:                                                   # CAS
        raise ConsumerDetached(f"consumer {e.name!r} was detached while it was being attached")
    e.state = ATTACHED
    return i, e.member()


def attach_steps(w: World, i: int, pid: int, alive) -> Steps:
    """attach_entry(): resume a declared or dead entry, rejoin a detached one. Returns
    (index, member, gap)."""
    e = w.entries[i]
    seen = e.member()
    if e.state in (ATTACHED, JOINING) and e.pid != pid and alive(e.pid):
        raise ConsumerError(f"consumer {e.name!r} is attached by live pid {e.pid}")
    if e.state not in (DECLARED, ATTACHED, JOINING, DETACHED):
        raise JoinFailed(e.name)
    rejoin = e.state == DETACHED
    old = e.sequence
    yield
    if e.member() != seen:                                                      # CAS lost
        raise JoinFailed(e.name)
    e.state, e.gen = JOINING, e.gen + 1
    e.pid = pid
    yield
    if rejoin:
        _, member = yield from _finish_join(w, i)
        return i, member, max(0, e.sequence - old)
    if e.state != JOINING:
        raise ConsumerDetached(f"consumer {e.name!r} was detached while it was being attached")
    e.state = ATTACHED
    return i, e.member(), 0


def detach_steps(w: World, i: int) -> Steps:
    e = w.entries[i]
    if e.state in GATING:
        e.state, e.gen = DETACHED, e.gen + 1                                    # CAS
        return True
    return False
    yield  # a generator: one atomic step


class RefProducer:
    def __init__(self, ring: RefRing):
        self.ring = ring
        self.next = ring.world.cursor
        self.gating_cache = ring.world.min_gating(self.next)

    def send_steps(self, data: bytes) -> Steps:
        """Claim (refresh the gating cache only when needed, as the SP fast path does),
        write the slot, publish. Returns the sequence, or None when the ring is full."""
        w = self.ring.world
        q = self.next + 1
        if q - w.slot_count > self.gating_cache:
            self.gating_cache = w.min_gating(q - w.slot_count)
            yield
            if q - w.slot_count > self.gating_cache:
                return None
        self.next = q
        w.slots[q % w.slot_count] = (q, bytes(data))                            # write, publish
        w.cursor = q
        return q

    def send(self, data: bytes, timeout=None) -> int:
        seq = _run(self.send_steps(data))
        if seq is None:
            raise RingFull(f"ring {self.ring.name!r} is full")
        return seq


class RefConsumer:
    def __init__(self, ring: RefRing, name: str, index: int, member, gap: int):
        self.ring, self.name, self.index, self.member = ring, name, index, member
        self.rejoined_gap = gap
        self.next = ring.world.entries[index].sequence + 1

    @property
    def sequence(self) -> int:
        return self.ring.world.entries[self.index].sequence

    @property
    def attached(self) -> bool:
        return self.ring.world.entries[self.index].member() == self.member

    def recv_steps(self) -> Steps:
        """Wait check (detached?), barrier, copy, membership check, release. Returns
        (sequence, payload), or None when nothing is readable."""
        w = self.ring.world
        e = w.entries[self.index]
        if e.member() != self.member:
            raise ConsumerDetached(f"consumer {self.name!r} was detached")
        s = self.next
        if w.available(self.index) < s:                                         # barrier, copy
            return None
        copy = w.slots[s % w.slot_count]
        yield
        if e.member() != self.member:                                           # fence, check, release
            raise ConsumerDetached(f"consumer {self.name!r} was detached")
        e.sequence = s
        self.next = s + 1
        return s, copy[1] if copy[0] == s else b"<overwritten by %d>" % copy[0]

    def recv(self, timeout=None) -> bytes:
        got = _run(self.recv_steps())
        if got is None:
            raise RingTimeout(f"consumer {self.name!r}: nothing after {self.next - 1}")
        return got[1].ljust(self.ring.slot_size, b"\0")

    def detach(self) -> bool:
        return self.ring.detach(self.name)


class RefRing:
    """The reference ring (see the module docstring). pid: the 'process' this handle acts as."""

    def __init__(self, name: str, world: World, slot_size: int, pid: int = 1):
        self.name, self.world, self.slot_size, self.pid = name, world, slot_size, pid
        self.alive = lambda pid: pid == self.pid

    @classmethod
    def create(cls, name: str, *, slot_size: int = 64, slot_count: int = 1024, producer: str = "single",
               consumers=(), skip_detached_upstream: bool = False, **_ignored) -> RefRing:
        if producer != "single":
            raise ValueError("the reference ring models the single-producer ring")
        if slot_count < 2 or slot_count & (slot_count - 1):
            raise ValueError(f"slot_count must be a power of two >= 2, not {slot_count}")
        w = World(slot_count, skip_detached_upstream)
        for i, spec in enumerate(consumers):
            cname, after = (spec, ()) if isinstance(spec, str) else spec
            e = w.entries[i]
            e.state, e.gen, e.name = DECLARED, 1, cname
            e.mask = sum(1 << w.find(d) for d in after)
        return cls(name, w, slot_size)

    @property
    def cursor(self) -> int:
        return self.world.cursor

    def producer(self, wait: str = "yield", auto_detach: bool = False) -> RefProducer:
        return RefProducer(self)

    def consumer_steps(self, name: str, create: bool = False, after=None) -> Steps:
        w = self.world
        i = w.find(name)
        if i < 0:
            if not create:
                raise ConsumerError(f"ring {self.name!r} has no consumer {name!r}")
            mask = 0
            for dep in after or ():
                j = w.find(dep)
                if j < 0:
                    raise ConsumerError(f"consumer {name!r} waits on unknown consumer {dep!r}")
                mask |= 1 << j
            i, member = yield from claim_steps(w, name, mask, self.pid)
            return RefConsumer(self, name, i, member, 0)
        i, member, gap = yield from attach_steps(w, i, self.pid, self.alive)
        return RefConsumer(self, name, i, member, gap)

    def consumer(self, name: str, wait: str = "yield", *, after=None, create: bool = False) -> RefConsumer:
        return _run(self.consumer_steps(name, create, after))

    def detach(self, name: str) -> bool:
        i = self.world.find(name)
        if i < 0:
            raise ConsumerError(f"ring {self.name!r} has no consumer {name!r}")
        return _run(detach_steps(self.world, i))

    def consumer_names(self) -> list[str]:
        return [e.name for e in self.world.entries if e.state not in (FREE, CLAIMING)]

    def close(self, unlink=None) -> None:
        pass

    def __enter__(self) -> RefRing:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _run(steps: Steps):
    """Run a protocol generator to completion (nobody else interleaves): its return value."""
    try:
        while True:
            next(steps)
    except StopIteration as stop:
        return stop.value


__all__ = ["RefRing", "RefProducer", "RefConsumer", "World", "JoinFailed", "RingError"]
