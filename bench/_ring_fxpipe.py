"""fxpipe's side of the ring benchmark: the rings each scenario needs and the loops that drive
them, once through the Python API (Producer.send, Consumer.recv_into / read_batch) and once
at C level through fxpipe.benchsupport.ring_loops, which calls the ring's inline C API with no
Python between two events.

Rings are created by the parent under unique names and removed by it (RingSet); the worker
processes attach to them by name, as stages do.
"""
from __future__ import annotations

import bisect
import os
import threading
import time
import uuid

import numpy as np

from fxpipe.ring import Ring

EVENT_DTYPE = np.dtype([("seq", "<i8"), ("f1", "<i8"), ("f2", "<i8"), ("pad", "V40")])
EVENT = bytes(64)
STOP = b"\xff" * 8 + bytes(56)
BATCH = 64
SLOTS = 1024
TIMEOUT_S = 10.0                  # a peer that stops answering ends the run instead of hanging it
PIPELINE = ["s1", ("s2", ["s1"]), ("s3", ["s2"])]
WINDOW_NS = 20_000_000            # the span of the "best window" throughput figure


class RingSet:
    """Rings of one scenario, created under names unique to this run and process; closing the
    set unlinks every segment (also on Ctrl-C: the driver closes it in a finally)."""

    def __init__(self):
        self.token = f"rb{os.getpid()}.{uuid.uuid4().hex[:6]}"
        self.rings: list[Ring] = []

    def create(self, tag: str, consumers, slot_count: int = SLOTS, event_bytes: int = 64) -> str:
        name = f"{self.token}.{tag}"
        # The dtype describes 64-byte events (the throughput loops' batch views); a ping-pong of
        # larger events moves raw slots.
        self.rings.append(Ring.create(name, slot_size=event_bytes, slot_count=slot_count, consumers=consumers,
                                      dtype=EVENT_DTYPE if event_bytes == 64 else None))
        return name

    def ring(self, name: str) -> Ring:
        return next(r for r in self.rings if r.name == name)

    def close(self) -> None:
        while self.rings:
            self.rings.pop().close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ProgressSampler:
    """Watches a throughput run from the parent: every millisecond, the time and what the last
    consumer has released, read straight from the segment (one cache line, no attach). On a
    shared machine a run's overall rate counts every moment either process was preempted; the
    best 20 ms window shows what the ring does while both processes have their cores."""

    def __init__(self, ring: Ring, consumer_index: int, period_s: float = 0.001):
        from fxpipe.benchsupport.ring_loops import released_sequence

        self._read = lambda: released_sequence(ring, consumer_index)
        self.period_s = period_s
        self.times: list[int] = []
        self.seqs: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ring-progress", daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.times.append(time.monotonic_ns())
            self.seqs.append(self._read())
            time.sleep(self.period_s)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def best_rate(self, window_ns: int = WINDOW_NS) -> float | None:
        return best_window_rate(self.times, self.seqs, window_ns)


def best_window_rate(times: list[int], counts: list[int], window_ns: int) -> float | None:
    """Highest events/s (in millions) over any span of at least window_ns between samples."""
    best = None
    for i, t in enumerate(times):
        j = bisect.bisect_left(times, t + window_ns, lo=i + 1)
        if j >= len(times):
            break
        rate = (counts[j] - counts[i]) / (times[j] - t) * 1e3
        best = rate if best is None or rate > best else best
    return best


def open_producer(name: str, wait: str):
    return Ring.attach(name, dtype=EVENT_DTYPE).producer(wait=wait)


def open_consumer(name: str, consumer: str, wait: str):
    return Ring.attach(name, dtype=EVENT_DTYPE).consumer(consumer, wait=wait)


# --- Python API -------------------------------------------------------------------------------

def py_ping(p, c, out: np.ndarray, duration_s: float, event_bytes: int = 64) -> dict:
    out[:] = 0  # fault the sample pages in before the window, as every ping loop does
    send, recv_into, clock = p.send, c.recv_into, time.perf_counter_ns
    event = bytes(event_bytes)
    buf = bytearray(event_bytes)
    n, i = len(out), 0
    deadline = clock() + int(duration_s * 1e9)
    while i < n:
        t0 = clock()
        send(event)
        recv_into(buf, TIMEOUT_S)
        t1 = clock()
        out[i] = t1 - t0
        i += 1
        if t1 > deadline:
            break
    send(STOP + bytes(event_bytes - len(STOP)))
    return {"n": i, "errors": 0}


def py_pong(c, p, event_bytes: int = 64) -> dict:
    send, recv_into = p.send, c.recv_into
    buf = bytearray(event_bytes)
    count = 0
    while True:
        recv_into(buf, TIMEOUT_S)
        send(buf)
        if buf[7] == 0xFF:
            return {"echoed": count}
        count += 1


def py_produce(p, duration_s: float, batched: bool) -> dict:
    clock = time.monotonic_ns
    start = clock()
    deadline = start + int(duration_s * 1e9)
    sent = 0
    if batched:
        # The same block every time, as the peers send the same bytes: the Python rows measure
        # transport, not numbering (the C-level rows check order and stage data per event).
        send_batch = p.send_batch
        block = np.zeros(BATCH, dtype=EVENT_DTYPE)
        while clock() < deadline:
            for _ in range(16):
                send_batch(block, TIMEOUT_S)
            sent += 16 * BATCH
    else:
        send = p.send
        while clock() < deadline:
            for _ in range(256):
                send(EVENT, TIMEOUT_S)
            sent += 256
    end = clock()
    p.send(STOP, TIMEOUT_S)
    return {"sent": sent, "start_ns": start, "end_ns": end}


def py_consume(c, stage: int, batched: bool) -> dict:
    """Until the stop event. Per event: recv_into (a copy; stages only pass events on).
    Batched: zero-copy read_batch views, worked on in place: stage 1 writes f1 = seq + 1,
    stage 2 f2 = f1 + 1, stage 3 checks f2 (the producer sends them zeroed), so a stage that
    read before its upstream wrote shows up as an error."""
    count = errors = 0
    if batched:
        read_batch = c.read_batch
        while True:
            v = read_batch(None, TIMEOUT_S)
            n = len(v)
            seq = v["seq"]
            stopped = seq[n - 1] == -1
            m = n - 1 if stopped else n
            if stage == 1:
                np.add(seq, 1, out=v["f1"])
            elif stage == 2:
                np.add(v["f1"], 1, out=v["f2"])
            elif stage == 3 and m:
                errors += int(np.count_nonzero(v["f2"][:m] != seq[:m] + 2))
            elif stage == 0 and m:
                # Read every event, as the peers' consumers receive every byte: the producer
                # sends seq 0 throughout.
                errors += int(np.count_nonzero(seq[:m]))
            count += m
            if stopped:
                c.release()
                break
    else:
        recv_into = c.recv_into
        buf = bytearray(64)
        while True:
            recv_into(buf, TIMEOUT_S)
            if buf[7] == 0xFF:
                break
            count += 1
    return {"received": count, "errors": errors, "end_ns": time.monotonic_ns()}


# --- C level (fxpipe.benchsupport.ring_loops) ----------------------------------------------------

def c_ping(p, c, out: np.ndarray, duration_s: float) -> dict:
    from fxpipe.benchsupport import ring_loops

    tpn = ring_loops.ticks_per_ns()
    out[:] = 0  # fault the sample pages in now: the loop's store of sample i is inside trip i+1
    n, errors = ring_loops.ping(p, c, out, duration_s)
    # Ticks to nanoseconds in place, so the parent reads the same unit from every system.
    out[:n] = np.rint(out[:n] / tpn).astype(np.int64)
    return {"n": n, "errors": errors, "ticks_per_ns": tpn}


def c_pong(c, p) -> dict:
    from fxpipe.benchsupport import ring_loops

    return {"echoed": ring_loops.pong(c, p)}


def c_produce(p, duration_s: float, batched: bool) -> dict:
    from fxpipe.benchsupport import ring_loops

    sent, start, end = ring_loops.produce(p, BATCH if batched else 1, duration_s)
    return {"sent": sent, "start_ns": start, "end_ns": end}


def c_consume(c, stage: int, batched: bool) -> dict:
    from fxpipe.benchsupport import ring_loops

    received, errors, end = ring_loops.consume(c, stage, batched)
    return {"received": received, "errors": errors, "end_ns": end}
