"""Every interleaving of a producer, a joiner, a detacher and a dependent on a 4-slot ring.

A deterministic scheduler drives the reference ring (fxpipe.ring.reference), whose protocol
operations yield between their atomic steps, through every order of those steps: a depth-first
walk over the reachable states (schedules that reach a state already seen are not walked
twice). In every state no consumer has returned a wrong byte, no dependent has read what its
upstream had not released, and from every state all parties can still finish: nobody is stuck.
A version of the join that picks its start before it gates is caught, so the walk is known to
bite."""
import pytest

from fxpipe.ring import ConsumerDetached
from fxpipe.ring import reference as R

EVENTS = 5          # one more than the slots: the producer must wrap around
SLOTS = 4
LAST = EVENTS - 1


def ev(i: int) -> bytes:
    return bytes([i]) * 4


class Violation(AssertionError):
    pass


def _recv_one(c, upstream, world, got, give_up):
    """Read one event (if any is left to read), checking every byte and the upstream's
    release; stop waiting when give_up() says nothing more can come."""
    while c.next <= LAST:
        res = yield from c.recv_steps()
        if res is None:
            if give_up():
                return
            yield                                   # nothing yet: let others run
            continue
        s, payload = res
        if payload != ev(s):
            raise Violation(f"{c.name} read {payload!r} for sequence {s}")
        if upstream is not None and world.entries[upstream].sequence < s:
            raise Violation(f"{c.name} read {s} before its upstream released it")
        got.append(s)
        return


def actors(ring: R.RefRing):
    w = ring.world
    journal = w.find("journal")
    log = {"P": [], "X": [], "J": [], "D": []}
    state = {"journal_gone": False}

    def producer():
        p = ring.producer()
        for i in range(EVENTS):
            while (yield from p.send_steps(ev(i))) is None:
                yield                               # full: wait for a release
            log["P"].append(i)

    def journal_and_operator():
        # The journal reads one event, an operator detaches it, the journal restarts (rejoins
        # at the live edge), reads one more, and leaves.
        j = yield from _attach(ring, "journal")
        yield from _recv_one(j, None, w, log["X"], lambda: False)
        yield from R.detach_steps(w, journal)
        yield
        j = yield from _attach(ring, "journal")
        yield from _recv_one(j, None, w, log["X"], lambda: False)
        yield from R.detach_steps(w, journal)
        state["journal_gone"] = True

    def joiner():
        c = None
        while c is None:
            try:
                c = yield from ring.consumer_steps("late", create=True, after=["journal"])
            except R.JoinFailed:
                yield
        yield from _recv_one(c, journal, w, log["J"], lambda: state["journal_gone"])
        yield from R.detach_steps(w, c.index)

    def dependent():
        d = yield from _attach(ring, "decision")
        yield from _recv_one(d, journal, w, log["D"], lambda: state["journal_gone"])
        yield from R.detach_steps(w, d.index)

    return [producer(), journal_and_operator(), joiner(), dependent()], log


def _attach(ring, name):
    while True:
        try:
            return (yield from ring.consumer_steps(name))
        except R.JoinFailed:
            yield


def new_world():
    ring = R.RefRing.create("interleave", slot_size=4, slot_count=SLOTS,
                            consumers=["journal", ("decision", ["journal"])])
    gens, log = actors(ring)
    return ring, gens, log


def _freeze(v):
    if v is None or isinstance(v, (int, str, bytes, bool)):
        return v
    if isinstance(v, tuple):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, list):
        return ("list", tuple(_freeze(x) for x in v))
    if isinstance(v, R.RefConsumer):
        return ("consumer", v.index, v.member, v.next)
    if isinstance(v, R.RefProducer):
        return ("producer", v.next, v.gating_cache)
    return type(v).__name__


def _gen_key(g):
    """Where a generator stands: its frame position and the plain values it holds, down the
    chain of generators it delegates to."""
    out = []
    while g is not None and g.gi_frame is not None:
        f = g.gi_frame
        out.append((g.gi_code.co_name, f.f_lasti,
                    tuple(sorted((k, _freeze(v)) for k, v in f.f_locals.items()
                                 if k not in ("ring", "w", "world", "log", "p_", "got")))))
        g = g.gi_yieldfrom
    return tuple(out)


def replay(schedule):
    ring, gens, log = new_world()
    done = [False] * len(gens)
    for a in schedule:
        try:
            next(gens[a])
        except StopIteration:
            done[a] = True
    return ring, gens, done, log


def state_key(ring, gens, done, log):
    return (ring.world.key(), tuple(done), tuple(_gen_key(g) if not d else None for g, d in zip(gens, done, strict=True)),
            tuple(tuple(v) for v in log.values()))


def explore(limit=400_000):
    """Depth-first over every interleaving. Returns (states, finished states)."""
    ring, gens, done, log = replay([])
    seen = {state_key(ring, gens, done, log)}
    stack = [[]]
    finished = 0
    while stack:
        prefix = stack.pop()
        ring, gens, done, log = replay(prefix)
        if all(done):
            finished += 1
            assert log["P"] == list(range(EVENTS))
            continue
        progressed = False
        base = state_key(ring, gens, done, log)
        for a in range(len(gens)):
            if done[a]:
                continue
            sched = prefix + [a]
            try:
                r2, g2, d2, l2 = replay(sched)
            except Violation as v:
                raise Violation(f"{v} (schedule {sched})") from None
            except ConsumerDetached as v:
                raise Violation(f"{v} (schedule {sched})") from None
            key = state_key(r2, g2, d2, l2)
            if key != base:
                progressed = True
            if key not in seen:
                seen.add(key)
                stack.append(sched)
                if len(seen) > limit:
                    raise RuntimeError("state space larger than expected")
        if not progressed:
            raise Violation(f"stuck: no party can make progress after schedule {prefix}; "
                            f"world {ring.world.key()}")
    return len(seen), finished


def test_every_interleaving_of_producer_joiner_detacher_and_dependent():
    states, finished = explore()
    assert finished >= 1 and states > 1000


def test_a_join_that_starts_before_it_gates_is_caught(monkeypatch):
    def start_then_gate(w, i):
        # The old order: pick the start at the live edge, then become visible to the producer.
        e = w.entries[i]
        start = w.join_start(e.mask)
        yield
        e.sequence = start
        yield
        e.state = R.ATTACHED
        return i, e.member()

    monkeypatch.setattr(R, "_finish_join", start_then_gate)
    with pytest.raises(Violation, match="read"):
        explore()
