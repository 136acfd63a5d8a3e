"""Consumers that join, leave, die and come back never read a wrong byte. Each scenario runs
against the pure-Python reference ring (fxpipe.ring.reference) and the Cython ring on a real
segment, with one test body."""
import pytest

from fxpipe.ring import ConsumerDetached, ConsumerError, Ring, RingTimeout
from fxpipe.ring.reference import RefRing

IMPLS = {"cython": Ring, "reference": RefRing}


@pytest.fixture(params=sorted(IMPLS))
def make(request, ring_name):
    rings = []

    def create(**kw):
        r = IMPLS[request.param].create(ring_name, slot_size=16, **kw)
        rings.append(r)
        return r

    yield create
    for r in rings:
        r.close()


def ev(i: int) -> bytes:
    return i.to_bytes(8, "little")


def val(b: bytes) -> int:
    return int.from_bytes(b[:8], "little")


def test_detached_consumer_still_running_never_reads_a_reused_slot(make):
    r = make(slot_count=4, consumers=["c"])
    p, c = r.producer(), r.consumer("c")
    for i in range(4):
        p.send(ev(i))
    assert r.detach("c")
    for i in range(4, 8):
        p.send(ev(i), timeout=0)       # c no longer gates: its unread slots are reused
    with pytest.raises(ConsumerDetached, match="detached"):
        c.recv(timeout=0)              # today: payload 4 for sequence 0, no error
    assert not c.attached
    again = r.consumer("c")            # rejoins at the live edge, and says what it missed
    assert again.rejoined_gap == 8 and again.next == 8
    p.send(ev(8))
    assert val(again.recv(timeout=0)) == 8


def test_detached_consumer_with_events_in_hand_learns_it_before_trusting_them(make):
    r = make(slot_count=4, consumers=["c"])
    p, c = r.producer(), r.consumer("c")
    p.send(ev(0))
    assert val(c.recv(timeout=0)) == 0
    p.send(ev(1))
    r.detach("c")
    with pytest.raises(ConsumerDetached):
        c.recv(timeout=0)              # published before the detach, but no longer protected


def test_dependent_gates_again_on_an_upstream_that_rejoins(make):
    r = make(slot_count=8, consumers=["journal", ("decision", ["journal"])])
    p, j, d = r.producer(), r.consumer("journal"), r.consumer("decision")
    p.send(ev(0))
    assert val(j.recv(timeout=0)) == 0 and val(d.recv(timeout=0)) == 0
    r.detach("journal")
    j2 = r.consumer("journal")         # the journal's restart
    p.send(ev(1))
    with pytest.raises(RingTimeout):
        d.recv(timeout=0)              # today: decision reads it before journal has
    assert val(j2.recv(timeout=0)) == 1
    assert val(d.recv(timeout=0)) == 1


def test_dependent_waits_while_its_upstream_is_detached(make):
    r = make(slot_count=8, consumers=["journal", ("decision", ["journal"])])
    p, d = r.producer(), r.consumer("decision")
    r.consumer("journal")
    r.detach("journal")
    p.send(ev(0))
    with pytest.raises(RingTimeout):
        d.recv(timeout=0)              # nothing is journalled while the journal is away
    j = r.consumer("journal")          # rejoins at the live edge: event 0 was missed by it
    assert j.rejoined_gap == 1
    p.send(ev(1))
    assert val(j.recv(timeout=0)) == 1
    assert [val(d.recv(timeout=0)) for _ in range(2)] == [0, 1]


def test_skip_policy_lets_a_dependent_read_past_a_detached_upstream(make):
    r = make(slot_count=8, consumers=["journal", ("decision", ["journal"])], skip_detached_upstream=True)
    p, d = r.producer(), r.consumer("decision")
    r.detach("journal")
    p.send(ev(0))
    assert val(d.recv(timeout=0)) == 0
    j = r.consumer("journal")
    p.send(ev(1))
    with pytest.raises(RingTimeout):
        d.recv(timeout=0)              # the upstream is back: it gates again at once
    assert val(j.recv(timeout=0)) == 1 and val(d.recv(timeout=0)) == 1


def test_consumer_added_behind_a_detached_upstream_never_starts_at_its_stale_sequence(make):
    r = make(slot_count=4, consumers=["journal"])
    p = r.producer()
    for i in range(4):
        p.send(ev(i))
    r.detach("journal")
    for i in range(4, 8):
        p.send(ev(i), timeout=0)
    late = r.consumer("late", create=True, after=["journal"])
    assert late.next == 8               # today: next 0, whose slot holds event 4
    with pytest.raises(RingTimeout):
        late.recv(timeout=0)            # waits for its upstream to come back
    j = r.consumer("journal")
    p.send(ev(8))
    assert val(j.recv(timeout=0)) == 8 and val(late.recv(timeout=0)) == 8


def test_consumer_added_behind_an_attached_upstream_starts_at_what_it_released(make):
    r = make(slot_count=8, consumers=["journal"])
    p, j = r.producer(), r.consumer("journal")
    for i in range(5):
        p.send(ev(i))
    j.recv(timeout=0)
    j.recv(timeout=0)
    late = r.consumer("late", create=True, after=["journal"])
    assert late.next == 2
    assert val(j.recv(timeout=0)) == 2 and val(late.recv(timeout=0)) == 2


def test_unknown_consumer_is_a_clear_error(make):
    r = make(slot_count=4, consumers=["a"])
    with pytest.raises(ConsumerError, match="no consumer 'zz'"):
        r.consumer("zz")
    with pytest.raises(ConsumerError, match="unknown consumer 'nope'"):
        r.consumer("x", create=True, after=["nope"])


def test_restarted_consumer_resumes_after_its_last_release(make):
    r = make(slot_count=8, consumers=["c"])
    p, c = r.producer(), r.consumer("c")
    for i in range(4):
        p.send(ev(i))
    c.recv(timeout=0)
    c2 = r.consumer("c")               # same process: a restart supersedes the old handle
    assert c2.next == 1 and c2.rejoined_gap == 0
    assert [val(c2.recv(timeout=0)) for _ in range(3)] == [1, 2, 3]
    with pytest.raises(ConsumerDetached):
        c.recv(timeout=0)


# -- the Cython ring only: multi-producer slots and real processes -----------------------------

def test_detached_consumer_on_a_multi_producer_ring_raises_instead_of_hanging(ring_name):
    with Ring.create(ring_name, slot_size=16, slot_count=4, producer="multi", consumers=["c"]) as r:
        p, c = r.producer(), r.consumer("c")
        for i in range(4):
            p.send(ev(i))
        r.detach("c")
        for i in range(4, 8):
            p.send(ev(i), timeout=0)
        with pytest.raises(ConsumerDetached):
            c.recv(timeout=5)          # today: waits for a round-0 flag that never comes


def test_consumer_added_behind_a_detached_upstream_on_a_multi_producer_ring(ring_name):
    with Ring.create(ring_name, slot_size=16, slot_count=4, producer="multi", consumers=["journal"]) as r:
        p = r.producer()
        for i in range(4):
            p.send(ev(i))
        r.detach("journal")
        for i in range(4, 8):
            p.send(ev(i), timeout=0)
        late = r.consumer("late", create=True, after=["journal"])
        assert late.next == 8
        j = r.consumer("journal")
        p.send(ev(8))
        assert val(j.recv(timeout=5)) == 8 and val(late.recv(timeout=5)) == 8


def _add_same_name(name, go, done, out):
    r = Ring.attach(name)
    go.wait(30)
    try:
        c = r.consumer("dup", create=True)
        out.put(("won", c.next))
        done.wait(60)                   # stay alive until every contender has tried
    except ConsumerError as exc:
        out.put(("refused", str(exc)))


def test_two_processes_adding_one_name_at_once_one_wins_the_other_is_told(ring_name):
    import multiprocessing as mp
    ctx = mp.get_context("fork")
    for _ in range(5):
        with Ring.create(ring_name, slot_size=8, slot_count=8) as r:
            go, done, out = ctx.Event(), ctx.Event(), ctx.Queue()
            procs = [ctx.Process(target=_add_same_name, args=(ring_name, go, done, out)) for _ in range(3)]
            for pr in procs:
                pr.start()
            go.set()
            got = [out.get(timeout=60) for _ in procs]
            done.set()
            for pr in procs:
                pr.join(60)
            assert sorted(g[0] for g in got) == ["refused", "refused", "won"], got
            assert all("attached by live pid" in g[1] or "being attached" in g[1] for g in got if g[0] == "refused")
            assert r.consumer_names() == ["dup"]
