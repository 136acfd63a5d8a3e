"""Real processes over a real segment: N producers x M consumers x dependency chains x
wraparound x batch sizes. Every consumer proves no loss, no duplicate, per-producer order and
payload integrity; downstream consumers prove they never read ahead of their upstream.
Yielding waits, so it holds on 2 cores."""
import ast
import multiprocessing as mp
import os
import signal
import time

import pytest
import ring_workers as W
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fxpipe.ring import Ring

CTX = mp.get_context("fork")


def _run(name, tmp_path, n_producers, consumers, count, slot_count, pbatch, cbatch, wait="yield"):
    mode = "multi" if n_producers > 1 else "single"
    with Ring.create(name, slot_size=64, slot_count=slot_count, producer=mode, consumers=consumers) as ring:
        procs = []
        outs = {}
        for spec in consumers:
            cname, after = (spec, []) if isinstance(spec, str) else spec
            outs[cname] = tmp_path / f"{cname}.out"
            procs.append(CTX.Process(target=W.consume, args=(name, cname, wait, cbatch, list(after), str(outs[cname]))))
        producers = [CTX.Process(target=W.produce, args=(name, i, count, pbatch, wait)) for i in range(n_producers)]
        for p in procs + producers:
            p.start()
        for p in producers:
            p.join(120)
            assert p.exitcode == 0, f"producer exit {p.exitcode}"
        ring.close_stream()
        for p in procs:
            p.join(120)
            assert p.exitcode == 0, f"consumer exit {p.exitcode}"
        results = {k: ast.literal_eval(v.read_text()) for k, v in outs.items()}
    for cname, res in results.items():
        assert res["errors"] == [], (cname, res["errors"])
        assert res["total"] == n_producers * count, (cname, res)
        assert res["per_producer"] == {i: count for i in range(n_producers)}
    return results


TOPOLOGIES = [
    ["a"],
    ["a", "b"],
    ["journal", ("decision", ["journal"])],
    ["journal", ("risk", ["journal"]), ("oms", ["risk"])],
    ["a", "b", ("c", ["a", "b"])],          # diamond
]


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(n_producers=st.integers(1, 3), topology=st.sampled_from(TOPOLOGIES),
       slot_count=st.sampled_from([4, 16, 256]), pbatch=st.sampled_from([1, 3, 4]),
       cbatch=st.sampled_from([1, 5, 64]), count=st.integers(50, 600))
def test_no_loss_no_dup_order_integrity(tmp_path_factory, n_producers, topology, slot_count, pbatch, cbatch, count):
    tmp = tmp_path_factory.mktemp("mp")
    name = f"t{os.getpid()}-mp{time.monotonic_ns() % 10**9}"
    pbatch = min(pbatch, slot_count)
    _run(name, tmp, n_producers, topology, count, slot_count, pbatch, cbatch)


def test_blocking_waits_across_processes(ring_name, tmp_path):
    mode = "single"
    with Ring.create(ring_name, slot_size=64, slot_count=8, producer=mode, blocking=True,
                     consumers=["a", ("b", ["a"])]) as ring:
        outs = {n: tmp_path / f"{n}.out" for n in ("a", "b")}
        cons = [CTX.Process(target=W.consume, args=(ring_name, "a", "block", 3, [], str(outs["a"]))),
                CTX.Process(target=W.consume, args=(ring_name, "b", "block", 2, ["a"], str(outs["b"])))]
        prod = CTX.Process(target=W.produce, args=(ring_name, 0, 2000, 1, "block"))
        for p in cons + [prod]:
            p.start()
        prod.join(60)
        assert prod.exitcode == 0
        ring.close_stream()
        for p in cons:
            p.join(60)
            assert p.exitcode == 0
        for f in outs.values():
            res = ast.literal_eval(f.read_text())
            assert res["errors"] == [] and res["total"] == 2000


def test_consumer_killed_mid_stream_is_detected_and_detached(ring_name, tmp_path):
    """SIGKILL a consumer while the producer streams: the producer must not be wedged for
    ever; the dead consumer is reported, detached, and the surviving consumer gets all."""
    with Ring.create(ring_name, slot_size=64, slot_count=16, consumers=["victim", "survivor"]) as ring:
        out = tmp_path / "survivor.out"
        victim = CTX.Process(target=W.consume, args=(ring_name, "victim", "yield", 1, [], str(tmp_path / "v.out")))
        survivor = CTX.Process(target=W.consume, args=(ring_name, "survivor", "yield", 8, [], str(out)))
        victim.start()
        survivor.start()
        p = ring.producer()
        for n in range(10):
            p.send(W.make_event(0, n))
        time.sleep(0.2)
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(10)
        # The ring fills up behind the dead consumer: a claim with a timeout errors out.
        from fxpipe.ring import RingFull
        with pytest.raises(RingFull, match="victim .*DEAD"):
            for n in range(10, 10 + 64):
                p.send(W.make_event(0, n), timeout=0.2)
        sent = n
        assert ring.dead_consumers() == ["victim"]
        assert ring.status()["producer"]["full_timeouts"] >= 1
        assert ring.detach("victim")
        for n in range(sent, 500):
            p.send(W.make_event(0, n), timeout=5)
        ring.close_stream()
        survivor.join(60)
        res = ast.literal_eval(out.read_text())
        assert res["errors"] == [] and res["total"] == 500


def test_dead_consumer_never_wedges_producer_with_auto_detach(ring_name, tmp_path):
    with Ring.create(ring_name, slot_size=64, slot_count=8, consumers=["victim"]) as ring:
        victim = CTX.Process(target=W.consume, args=(ring_name, "victim", "yield", 1, [], str(tmp_path / "v"), 3))
        victim.start()
        p = ring.producer(auto_detach=True)
        for n in range(200):   # would wedge for ever behind the dead consumer without auto_detach
            p.send(W.make_event(0, n), timeout=10)
        victim.join(10)
        st = ring.status()
        assert st["producer"]["dead_consumers_seen"] >= 1 and st["producer"]["detached"] == 1
        assert st["consumers"][0]["state"] == "detached"


def test_restarted_consumer_resumes_without_loss(ring_name, tmp_path):
    """A consumer that crashes mid-batch (its current batch never released) restarts under
    the same name and resumes right after its last release: the unreleased events are
    delivered again, then everything after them, in order, nothing lost."""
    with Ring.create(ring_name, slot_size=64, slot_count=32, consumers=["c"]) as ring:
        p = ring.producer()
        for n in range(30):
            p.send(W.make_event(0, n))
        # Batches of 4: after reading 10 events it holds events 8..11 unreleased, and exits.
        first = CTX.Process(target=W.consume, args=(ring_name, "c", "yield", 4, [], str(tmp_path / "x"), 10))
        first.start()
        first.join(30)
        assert first.exitcode == 0
        released = ring.status()["consumers"][0]["sequence"]
        assert released == 7
        c = Ring.attach(ring_name).consumer("c")       # the restart
        assert c.next == 8
        seen = [W.EVENT.unpack(c.recv(timeout=5))[1] for _ in range(30 - 8)]
        assert seen == list(range(8, 30))


def _join_many(ring_name, prefix, n, out):
    r = Ring.attach(ring_name)
    seqs = {}
    for i in range(n):
        c = r.consumer(f"{prefix}{i}", create=True)
        seqs[c.name] = c.next
    out.put(seqs)
    r.close()


def test_consumers_added_concurrently_get_their_own_entries(ring_name):
    """Processes adding consumers at the same moment each win a distinct entry, and each
    entry starts at the live edge it saw: no entry is shared or has its start overwritten."""
    with Ring.create(ring_name, slot_size=8, slot_count=8) as ring:
        p = ring.producer()
        for _ in range(5):
            p.send(b"x")
        q = CTX.Queue()
        procs = [CTX.Process(target=_join_many, args=(ring_name, pre, 7, q)) for pre in ("a", "b")]
        for pr in procs:
            pr.start()
        got = {}
        for _ in procs:
            got.update(q.get(timeout=30))
        for pr in procs:
            pr.join(30)
            assert pr.exitcode == 0
        names = ring.consumer_names()
        assert sorted(names) == sorted(got) and len(names) == 14
        st = {c["name"]: c for c in ring.status()["consumers"]}
        assert all(st[n]["sequence"] == 4 and got[n] == 5 for n in got)
