"""Liveness that tells the truth, waiter counts that recover, attach during creation, stale
segments: the operational faults of a ring, on real segments and real processes."""
import multiprocessing as mp
import os
import signal
import threading
import time

import pytest

from fxpipe.ring import Ring, RingError, RingExistsError, RingFull, segment
from fxpipe.ring import layout as L

CTX = mp.get_context("fork")
STATE_AT = L.IDENTITY.fields["state"][1]
CREATOR_PID_AT = L.IDENTITY.fields["creator_pid"][1]


def _busy_consumer(name, ready, stop):
    r = Ring.attach(name)
    c = r.consumer("busy", wait="spin")
    buf = bytearray(64)
    ready.set()
    while not stop.is_set():
        c.recv_into(buf, timeout=5)
        x = 0
        for i in range(3000):         # work per event: it stays behind the producer, never waits
            x += i


def test_busy_healthy_consumer_is_never_reported_dead(ring_name):
    with Ring.create(ring_name, slot_size=64, slot_count=1024, consumers=["busy"]) as r:
        ready, stop = CTX.Event(), CTX.Event()
        proc = CTX.Process(target=_busy_consumer, args=(ring_name, ready, stop))
        proc.start()
        try:
            assert ready.wait(30)
            p = r.producer()
            reported, samples = [], 0
            deadline = time.monotonic() + 1.5
            while time.monotonic() < deadline:
                while True:           # keep the ring full: the consumer always has work
                    try:
                        p.send(b"x" * 64, timeout=0)
                    except RingFull:
                        break
                st = {c["name"]: c for c in r.status()["consumers"]}
                if st["busy"]["lag"] > 0:
                    samples += 1
                    reported += r.dead_consumers(heartbeat_timeout=0.3)
                time.sleep(0.01)
            assert samples > 10, "the consumer should have been behind (busy) most of the time"
            assert reported == []
        finally:
            stop.set()
            proc.join(30)


def _attach_and_idle(name, ready):
    r = Ring.attach(name)
    r.consumer("c")
    ready.set()
    time.sleep(600)


def test_reused_pid_does_not_hang_the_producer(ring_name):
    with Ring.create(ring_name, slot_size=8, slot_count=4, consumers=["gone"]) as r:
        r.consumer("gone")
        h = r.header
        # "gone" died and its pid now belongs to another process (this one's parent runs under
        # that number, but started at another time).
        h["consumers"][0]["pid"] = os.getppid()
        h["consumers"][0]["start_time"] = 12345
        p = r.producer(auto_detach=True)
        for i in range(8):
            p.send(bytes([i]), timeout=5)    # would stay full behind "gone" if the pid alone decided
        assert r.status()["consumers"][0]["state"] == "detached"
        assert r.status()["producer"]["detached"] == 1


def test_live_consumer_is_never_auto_detached(ring_name):
    with Ring.create(ring_name, slot_size=8, slot_count=4, consumers=["c"]) as r:
        ready = CTX.Event()
        live = CTX.Process(target=_attach_and_idle, args=(ring_name, ready))
        live.start()
        try:
            assert ready.wait(30)
            p = r.producer(auto_detach=True)
            for i in range(4):
                p.send(bytes([i]))
            with pytest.raises(RingFull):
                p.send(b"x", timeout=0.3)    # a slow consumer is back-pressure, not a death
            assert r.status()["consumers"][0]["state"] == "attached"
        finally:
            live.kill()
            live.join(10)


def _block_forever(name, ready):
    r = Ring.attach(name)
    c = r.consumer("sleeper", wait="block")
    ready.set()
    c.wait()


def test_waiter_count_left_by_a_consumer_killed_asleep_is_recovered(ring_name):
    with Ring.create(ring_name, slot_size=8, slot_count=64, blocking=True, consumers=["sleeper"]) as r:
        ready = CTX.Event()
        proc = CTX.Process(target=_block_forever, args=(ring_name, ready))
        proc.start()
        assert ready.wait(30)
        deadline = time.monotonic() + 30
        while r.status()["futex"]["pub_waiters"] == 0:
            assert time.monotonic() < deadline, "the sleeper never registered"
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(10)
        assert r.status()["futex"]["pub_waiters"] == 1      # left behind by the killed sleeper
        r.detach("sleeper")
        p = r.producer()
        for i in range(200):          # each publish pays a FUTEX_WAKE until the count is fixed
            p.send(bytes([i % 256]))
        st = r.status()
        assert st["futex"]["pub_waiters"] == 0
        assert st["producer"]["waiters_recovered"] >= 1


def test_attach_while_the_ring_is_being_created_waits_for_it(ring_name, tmp_path):
    with Ring.create(ring_name + "src", slot_size=64, slot_count=8, consumers=["a"]) as model:
        image = open(model.path, "rb").read()
    path = segment.segment_path(ring_name)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)   # a creator just opened it

    def finish():
        time.sleep(0.2)
        os.posix_fallocate(fd, 0, len(image))
        time.sleep(0.1)
        ident = bytearray(image)
        ident[STATE_AT:STATE_AT + 4] = (L.STATE_INITIALIZING).to_bytes(4, "little")
        os.pwrite(fd, bytes(ident), 0)
        time.sleep(0.1)
        os.pwrite(fd, (L.STATE_READY).to_bytes(4, "little"), STATE_AT)

    t = threading.Thread(target=finish)
    t.start()
    try:
        r = Ring.attach(ring_name, timeout=20)   # today: "too small to be an fxpipe ring; remove it"
        assert r.slot_count == 8 and r.consumer_names() == ["a"]
        r.close()
    finally:
        t.join()
        os.close(fd)


def test_attach_to_a_ring_whose_creator_died_half_way_says_so(ring_name):
    path = segment.segment_path(ring_name)
    with Ring.create(ring_name + "src", slot_size=64, slot_count=8) as model:
        image = bytearray(open(model.path, "rb").read())
    image[STATE_AT:STATE_AT + 4] = (L.STATE_INITIALIZING).to_bytes(4, "little")
    image[CREATOR_PID_AT:CREATOR_PID_AT + 8] = (2**31 - 2).to_bytes(8, "little")                  # a creator pid that is gone
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    os.write(fd, bytes(image))
    os.close(fd)
    with pytest.raises(RingError, match="never finished: its creator pid .* died"):
        Ring.attach(ring_name, timeout=0.05)


def _attach_consumer_and_wait(name, ready):
    r = Ring.attach(name)
    r.consumer("a")
    ready.set()
    time.sleep(600)


def _create_and_vanish(name):
    r = Ring.create(name, consumers=["a"])
    r.close(unlink=False)
    os._exit(0)


def test_stale_removal_spares_a_segment_whose_consumer_still_runs(ring_name):
    creator = CTX.Process(target=_create_and_vanish, args=(ring_name,))
    creator.start()
    creator.join(30)
    ready = CTX.Event()
    user = CTX.Process(target=_attach_consumer_and_wait, args=(ring_name, ready))
    user.start()
    try:
        assert ready.wait(30)
        with pytest.raises(RingExistsError, match="creator pid .* is gone but it is in use by consumer a"):
            Ring.create(ring_name, replace_stale=True)
        with segment.directory_lock():
            assert segment.judge_stale(ring_name, segment.segment_path(ring_name))[0] is False
    finally:
        user.kill()
        user.join(10)
    with segment.directory_lock():
        removable, why = segment.judge_stale(ring_name, segment.segment_path(ring_name))
    assert removable, why
    with Ring.create(ring_name, replace_stale=True, consumers=["b"]) as r:
        assert r.consumer_names() == ["b"]
