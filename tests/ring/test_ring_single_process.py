"""Ring semantics inside one process: publish/consume, batches, wraparound, back-pressure,
timeouts, closing, and every bad input with its error."""
import os
import stat
import subprocess
import sys
import threading

import numpy as np
import pytest

from fxpipe.ring import (
    ConsumerDetached,
    ConsumerError,
    Ring,
    RingClosed,
    RingError,
    RingExistsError,
    RingFull,
    RingLayoutError,
    RingTimeout,
    StaleRingError,
    segment,
)


def test_send_recv_in_order_with_wraparound(ring_name):
    with Ring.create(ring_name, slot_size=64, slot_count=8, consumers=["a"]) as r:
        p, c = r.producer(), r.consumer("a")
        for i in range(100):  # 12 laps of an 8-slot ring
            p.send(i.to_bytes(8, "little") * 3)
            got = c.recv(timeout=1)
            assert got[:24] == i.to_bytes(8, "little") * 3
            assert got[24:] == bytes(40), "the rest of the slot is zeroed"
        assert c.sequence == 99 and c.lag == 0


def test_producer_never_overwrites_unreleased_slot(ring_name):
    with Ring.create(ring_name, slot_size=16, slot_count=4, consumers=["slow"]) as r:
        p, c = r.producer(), r.consumer("slow")
        for i in range(4):
            p.send(bytes([i]) * 16)
        with pytest.raises(RingFull, match="stayed full.*slow"):
            p.send(b"x", timeout=0.01)
        st = r.status()["producer"]
        assert st["full_waits"] >= 1 and st["full_timeouts"] == 1
        assert c.recv()[:1] == b"\x00"          # the oldest event is intact
        p.send(bytes([9]) * 16, timeout=0.01)   # one slot freed -> one more fits
        assert [c.recv()[:1] for _ in range(4)] == [b"\x01", b"\x02", b"\x03", b"\x09"]


def test_dependency_chain_gates_downstream(ring_name):
    with Ring.create(ring_name, slot_size=16, slot_count=16,
                     consumers=["journal", ("decision", ["journal"])]) as r:
        p = r.producer()
        j, d = r.consumer("journal"), r.consumer("decision")
        for i in range(5):
            p.send(bytes([i]))
        with pytest.raises(RingTimeout):
            d.wait(timeout=0.01)        # journal has released nothing yet
        j.recv()
        j.recv()
        assert d.wait(timeout=0) == 1   # decision sees exactly what journal released
        assert d.recv()[:1] == b"\x00"


def test_batch_read_is_zero_copy_and_stops_at_array_end(ring_name):
    dt = np.dtype([("seq", "<i8"), ("px", "<i8")])
    with Ring.create(ring_name, slot_size=16, slot_count=8, consumers=["a"], dtype=dt) as r:
        p, c = r.producer(), r.consumer("a")
        arr = np.zeros(6, dtype=dt)
        arr["seq"] = np.arange(6)
        p.send_batch(arr)
        b = c.read_batch()
        assert list(b["seq"]) == [0, 1, 2, 3, 4, 5]
        c.release()
        arr["seq"] = np.arange(6, 12)
        p.send_batch(arr)              # slots 6,7 then wraps to 0..3
        b1 = c.read_batch()
        assert list(b1["seq"]) == [6, 7]
        b2 = c.read_batch(max_n=3)     # releases b1 first
        assert list(b2["seq"]) == [8, 9, 10]
        assert c.sequence == 7
        c.release()
        assert c.sequence == 10


@pytest.mark.parametrize("producer", ["single", "multi"])
def test_a_poll_batch_never_waits_and_says_none_where_nothing_is_readable(ring_name, producer):
    dt = np.dtype([("seq", "<i8"), ("px", "<i8")])
    with Ring.create(ring_name, slot_size=16, slot_count=8, consumers=["a"], dtype=dt, producer=producer) as r:
        p, c = r.producer(), r.consumer("a")
        assert c.poll_batch(4) is None
        waits = [e for e in r.header["consumers"] if e["name"] == b"a"][0]["waits"]
        lo = p.claim(2)
        assert c.poll_batch(4) is None            # claimed is not published
        p.publish(lo, lo + 1)
        arr = np.zeros(5, dtype=dt)
        arr["seq"] = np.arange(2, 7)
        p.send_batch(arr)
        b = c.poll_batch(4)
        assert list(b["seq"]) == [0, 0, 2, 3] and c.sequence == -1
        b = c.poll_batch(4)                       # releases the last batch first
        assert list(b["seq"]) == [4, 5, 6] and c.sequence == 3
        assert c.poll_batch() is None and c.sequence == 6
        # polling is not waiting: the consumer's wait count (what operators see) stays
        assert [e for e in r.header["consumers"] if e["name"] == b"a"][0]["waits"] == waits
        p.send(b"\x07" + bytes(15))
        r.close_stream()
        assert c.poll_batch()["seq"][0] == 7       # closed, but not everything read yet
        with pytest.raises(RingClosed):
            c.poll_batch()


def test_a_detached_consumer_polling_learns_it_at_once(ring_name):
    with Ring.create(ring_name, slot_size=8, slot_count=4, consumers=["a"]) as r:
        c = r.consumer("a")
        assert c.poll_batch() is None
        r.detach("a")
        with pytest.raises(ConsumerDetached):
            c.poll_batch()


def test_claim_publish_and_typed_slot_view(ring_name):
    dt = np.dtype([("price_e8", "<i8"), ("qty_e2", "<i8")])
    with Ring.create(ring_name, slot_size=64, slot_count=4, consumers=["a"], dtype=dt) as r:
        p, c = r.producer(), r.consumer("a")
        lo = p.claim(2)
        for s in (lo, lo + 1):
            v = p.slot(s)
            v["price_e8"] = 108_505_000 + s
            v["qty_e2"] = 100_000_000
        with pytest.raises(RingTimeout):
            c.wait(timeout=0)          # claimed is not published
        p.publish(lo, lo + 1)
        b = c.read_batch()
        assert list(b["price_e8"]) == [108_505_000, 108_505_001]


def test_close_stream_drains_then_raises(ring_name):
    with Ring.create(ring_name, slot_size=8, slot_count=8, consumers=["a"]) as r:
        p, c = r.producer(), r.consumer("a")
        p.send(b"1")
        r.close_stream()
        assert c.recv(timeout=1)[:1] == b"1"
        with pytest.raises(RingClosed):
            c.recv(timeout=1)


def test_multi_producer_claims_in_one_process(ring_name):
    with Ring.create(ring_name, slot_size=8, slot_count=8, producer="multi", consumers=["a"]) as r:
        p1, p2, c = r.producer(), r.producer(), r.consumer("a")
        s1 = p1.claim()
        s2 = p2.claim()
        p2.publish(s2)
        with pytest.raises(RingTimeout):
            c.wait(timeout=0)          # s1 claimed but not published blocks what follows
        p1.publish(s1)
        assert c.wait(timeout=0) == s2


def test_segment_is_0600_and_removed_on_close(ring_name):
    r = Ring.create(ring_name, consumers=["a"])
    mode = stat.S_IMODE(os.stat(r.path).st_mode)
    assert mode == 0o600
    path = r.path
    r.close()
    assert not os.path.exists(path)


def test_attacher_does_not_remove_segment(ring_name):
    with Ring.create(ring_name, consumers=["a"]) as r:
        other = Ring.attach(ring_name)
        other.close()
        assert os.path.exists(r.path)


def test_bad_parameters_are_clear_errors(ring_name):
    with pytest.raises(ValueError, match="power of two"):
        Ring.create(ring_name, slot_count=1000)
    with pytest.raises(ValueError, match="multiple of 8"):
        Ring.create(ring_name, slot_size=12)
    with pytest.raises(ValueError, match="not declared before"):
        Ring.create(ring_name, consumers=[("b", ["a"]), "a"])
    with pytest.raises(ValueError, match="declared twice"):
        Ring.create(ring_name, consumers=["a", "a"])
    with pytest.raises(ValueError, match="bad ring name"):
        Ring.create("../etc/passwd")
    with pytest.raises(ValueError, match="wait strategy"):
        with Ring.create(ring_name, consumers=["a"]) as r:
            r.consumer("a", wait="nap")
    assert not segment.segment_path(ring_name).exists()


def test_block_wait_needs_blocking_ring(ring_name):
    with Ring.create(ring_name, consumers=["a"]) as r:
        with pytest.raises(ValueError, match="blocking=True"):
            r.consumer("a", wait="block")


def test_unknown_consumer_and_double_attach(ring_name):
    with Ring.create(ring_name, consumers=["a"]) as r:
        with pytest.raises(ConsumerError, match="no consumer 'zz'"):
            r.consumer("zz")
        code = f"""
import sys
from fxpipe.ring import Ring, ConsumerError
r = Ring.attach({ring_name!r})
try:
    r.consumer("a")
except ConsumerError as e:
    print("refused:", e); sys.exit(0)
sys.exit(1)
"""
        r.consumer("a")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert "attached by live pid" in out.stdout


def test_attach_missing_ring(ring_name):
    with pytest.raises(RingError, match="does not exist"):
        Ring.attach(ring_name)


def test_layout_version_mismatch_is_refused(ring_name):
    with Ring.create(ring_name, consumers=["a"]) as r:
        with open(r.path, "r+b") as f:
            f.seek(8)
            f.write((99).to_bytes(4, "little"))
        with pytest.raises(RingLayoutError, match="layout version 99"):
            Ring.attach(ring_name)


def test_foreign_segment_is_not_touched(ring_name):
    path = segment.segment_path(ring_name)
    path.write_bytes(b"not a ring at all" * 400)
    with pytest.raises(RingLayoutError, match="not an fxpipe ring"):
        Ring.attach(ring_name)
    with pytest.raises(RingLayoutError, match="not an fxpipe ring"):
        Ring.create(ring_name, replace_stale=True)
    assert path.exists(), "a file we did not create is never deleted"


def test_slot_size_expectation_checked_at_attach(ring_name):
    with Ring.create(ring_name, slot_size=64, consumers=["a"]):
        with pytest.raises(RingLayoutError, match="64-byte slots, this stage expects 128"):
            Ring.attach(ring_name, slot_size=128)


def _create_in_child_and_die(name):
    code = f"""
import os
from fxpipe.ring import Ring
r = Ring.create({name!r}, consumers=["a"])
os._exit(0)   # dies without cleaning up: the segment is left behind
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_stale_segment_detected_and_replaced_on_request(ring_name):
    _create_in_child_and_die(ring_name)
    assert segment.segment_path(ring_name).exists()
    with pytest.raises(StaleRingError, match="is stale: its creator pid .* is gone"):
        Ring.create(ring_name)
    with Ring.create(ring_name, replace_stale=True, consumers=["b"]) as r:
        assert r.creator_pid == os.getpid()
        assert r.consumer_names() == ["b"]


def test_live_ring_cannot_be_recreated(ring_name):
    with Ring.create(ring_name):
        with pytest.raises(RingExistsError, match="creator pid .* is alive"):
            Ring.create(ring_name, replace_stale=True)


def test_second_single_producer_process_refused(ring_name):
    with Ring.create(ring_name, consumers=["a"]) as r:
        r.producer()
        code = f"""
import sys
from fxpipe.ring import Ring, RingError
try:
    Ring.attach({ring_name!r}).producer()
except RingError as e:
    print(e); sys.exit(0)
sys.exit(1)
"""
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert "live producer" in out.stdout


def test_restarted_producer_resumes_after_last_published(ring_name):
    with Ring.create(ring_name, slot_size=8, slot_count=8, consumers=["a"]) as r:
        p = r.producer()
        for i in range(3):
            p.send(bytes([i]))
        p2 = Ring.attach(ring_name).producer()   # same process: a restart of the producer
        assert p2.send(b"\x07") == 3
        c = r.consumer("a")
        assert [c.recv()[:1] for _ in range(4)] == [b"\x00", b"\x01", b"\x02", b"\x07"]


def test_dynamic_consumer_joins_at_live_edge(ring_name):
    with Ring.create(ring_name, slot_size=8, slot_count=8, consumers=["a"]) as r:
        p = r.producer()
        p.send(b"\x01")
        late = r.consumer("late", create=True)
        p.send(b"\x02")
        assert late.recv(timeout=1)[:1] == b"\x02"
        assert "late" in r.consumer_names()


def test_closed_ring_still_delivers_what_upstream_has_not_released(ring_name):
    """Closing ends the stream, not the pipeline: a downstream consumer must keep receiving
    until its upstream has released everything that was published."""
    with Ring.create(ring_name, slot_size=8, slot_count=8, consumers=["up", ("down", ["up"])]) as r:
        p, up, down = r.producer(), r.consumer("up"), r.consumer("down")
        for i in range(5):
            p.send(bytes([i]))
        r.close_stream()
        with pytest.raises(RingTimeout):
            down.recv(timeout=0)           # upstream still holds all five
        for _ in range(5):
            up.recv()
        assert [down.recv(timeout=1)[:1] for _ in range(5)] == [bytes([i]) for i in range(5)]
        with pytest.raises(RingClosed):
            down.recv(timeout=1)
        with pytest.raises(RingClosed):
            up.recv(timeout=0)


def test_idle_consumer_keeps_heartbeat_hung_one_is_reported(ring_name):
    """A quiet link is not a dead one: a consumer waiting on an idle ring keeps its heartbeat
    fresh, so a watchdog can tell it from one that holds events and no longer runs."""
    import time

    with Ring.create(ring_name, slot_size=8, slot_count=8, consumers=["idle", "hung"]) as r:
        idle, hung = r.consumer("idle"), r.consumer("hung")
        with pytest.raises(RingTimeout):
            idle.wait(timeout=0.05)           # waiting refreshes the heartbeat
        r.producer().send(b"x")
        idle.recv()
        time.sleep(0.3)                       # "hung" never reads what it was given
        with pytest.raises(RingTimeout):
            idle.wait(timeout=0.05)
        assert r.dead_consumers(heartbeat_timeout=0.2) == ["hung"]
        st = {c["name"]: c for c in r.status()["consumers"]}
        assert st["idle"]["heartbeat_age_s"] < 0.2 and st["hung"]["lag"] == 1
        assert hung.recv()[:1] == b"x"


def _create_in_child_with_version_and_die(name, version):
    code = f"""
import os
from fxpipe.ring import Ring
r = Ring.create({name!r}, consumers=["a"])
with open(r.path, "r+b") as f:
    f.seek(8)
    f.write(({version}).to_bytes(4, "little"))
os._exit(0)
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_ring_of_another_layout_version_is_refused_unless_forced(ring_name):
    _create_in_child_with_version_and_die(ring_name, 99)
    with pytest.raises(RingLayoutError, match="layout version 99"):
        Ring.attach(ring_name)
    with pytest.raises(RingLayoutError, match="layout version 99.*without --force"):
        Ring.create(ring_name, replace_stale=True)
    assert segment.segment_path(ring_name).exists(), "refused, not silently deleted"
    with Ring.create(ring_name, replace_stale=True, force=True, consumers=["b"]) as r:
        assert r.consumer_names() == ["b"]


def test_ring_of_another_layout_version_in_use_is_never_removed(ring_name):
    old = Ring.create(ring_name, consumers=["a"])
    with open(old.path, "r+b") as f:
        f.seek(8)
        f.write((99).to_bytes(4, "little"))
    try:
        with pytest.raises(RingLayoutError, match="creator pid .* alive"):
            Ring.create(ring_name, replace_stale=True, force=True)
        assert segment.segment_path(ring_name).exists()
    finally:
        old.close()


def test_spinning_consumer_lets_a_producer_thread_of_its_process_run(ring_name):
    # A busy-spinning consumer polls with the GIL held only for a bounded spin: a producer
    # thread of the same process must still get to publish what it waits for.
    with Ring.create(ring_name, slot_size=64, slot_count=8, consumers=["spin"]) as r:
        p, c = r.producer(), r.consumer("spin", wait="spin")
        started = threading.Event()

        def publish_after_the_consumer_waits():
            started.wait(5)
            for i in range(3):
                p.send(bytes([i + 1]) * 64)

        t = threading.Thread(target=publish_after_the_consumer_waits)
        t.start()
        buf = bytearray(64)
        started.set()
        try:
            for i in range(3):
                assert c.recv_into(buf, timeout=10) == i
                assert buf == bytes([i + 1]) * 64
        finally:
            t.join(10)
        with pytest.raises(RingTimeout):
            c.recv_into(buf, timeout=0)


def test_spinning_python_consumer_detached_while_waiting_raises_consumer_detached(ring_name):
    with Ring.create(ring_name, slot_size=64, slot_count=8, consumers=["spin"]) as r:
        c = r.consumer("spin", wait="spin")
        assert r.detach("spin")
        with pytest.raises(ConsumerDetached):
            c.recv_into(bytearray(64), timeout=1)


def test_the_first_lap_of_an_attached_ring_takes_no_page_faults(ring_name):
    """A process's mapping of a ring is populated when it attaches: the first lap of the ring
    (after every start of a desk) must not take a page fault per 4 KB of slots on the hot path
    (~1.6 us each on a VM; 768 for this ring)."""
    import resource

    owner = Ring.create(ring_name, slot_size=192, slot_count=16384, consumers=["c"])
    try:
        ring = Ring.attach(ring_name)
        p, c = ring.producer(), ring.consumer("c")
        payload = bytes(192)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for i in range(16384):
            p.send(payload)
            if i % 1024 == 1023:
                assert len(c.poll_batch(1024)) == 1024
                c.release()
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
        assert faults < 64, f"{faults} page faults in the first lap of a 768-page ring"
        ring.close()
    finally:
        owner.close(unlink=True)
