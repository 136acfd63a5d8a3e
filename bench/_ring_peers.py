"""The peers of the ring benchmark: what a Python user would pick instead of fxpipe's ring to
move 64-byte events between processes, each used the way its documentation shows.

A peer is a one-way channel: the parent creates it (and removes it afterwards), a forked child
opens its sending or receiving end. Each end offers the peer's natural per-event calls
(`send(msg)`, `recv() -> msg`) and its natural batch form (`send_batch(obj)`,
`recv_batch() -> (obj, events, stopped)`): one bytes message of 64 events for Pipe, Queue,
zmq and the POSIX queue, a list of messages for faster-fifo's put_many/get_many, a block of
slots for the numpy ring. The loops that drive any peer (ping, pong, produce, consume, pipeline
stage) are here too; fxpipe's own loops are in _ring_fxpipe.py.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from bench._ring_procs import CTX

EVENT_SIZE = 64
BATCH = 64
WARMUP_ROUND_TRIPS = 50
EVENT = bytes(EVENT_SIZE)                      # seq 0
STOP = b"\xff" * 8 + bytes(EVENT_SIZE - 8)     # seq -1: byte 7 is 0xff only in the stop event


def _blob_batch(recv):
    def recv_batch():
        m = recv()
        return m, len(m) >> 6, m[len(m) - 57] == 0xFF
    return recv_batch


class PipeChannel:
    name = "mp.Pipe"

    def __init__(self, idle: str):
        self.r, self.w = CTX.Pipe(duplex=False)

    def tx(self):
        return SimpleNamespace(send=self.w.send_bytes, send_batch=self.w.send_bytes, batch=EVENT * BATCH)

    def rx(self):
        return SimpleNamespace(recv=self.r.recv_bytes, recv_batch=_blob_batch(self.r.recv_bytes))

    def close(self):
        self.r.close()
        self.w.close()


class QueueChannel:
    name = "mp.Queue"

    def __init__(self, idle: str):
        # Bounded like the rings (1024 messages): an unbounded queue hides back-pressure and
        # leaves seconds of backlog to drain after the producer stops.
        self.q = CTX.Queue(maxsize=1024)

    def tx(self):
        return SimpleNamespace(send=self.q.put, send_batch=self.q.put, batch=EVENT * BATCH)

    def rx(self):
        return SimpleNamespace(recv=self.q.get, recv_batch=_blob_batch(self.q.get))

    def close(self):
        self.q.cancel_join_thread()
        self.q.close()


class ZmqChannel:
    """pyzmq PAIR over an ipc:// socket in a private temporary directory."""
    name = "zmq-ipc-PAIR"

    def __init__(self, idle: str):
        self.dir = tempfile.mkdtemp(prefix="fxbench-zmq-")
        self.addr = f"ipc://{self.dir}/pair"

    def _socket(self, bind: bool):
        import zmq

        ctx = zmq.Context()
        sock = ctx.socket(zmq.PAIR)
        sock.setsockopt(zmq.RECONNECT_IVL, 10)
        if bind:
            sock.bind(self.addr)
        else:
            sock.connect(self.addr)
        return ctx, sock

    def tx(self):
        ctx, s = self._socket(bind=True)
        s.recv()                # the receiver's hello: connected before the measured window

        def flush():
            # zmq delivers from a background thread, and a PAIR socket drops what its peer has
            # not read yet when the peer closes: wait for the receiver's ack of the stop event.
            s.recv()
            s.close()
            ctx.term()
        return SimpleNamespace(send=s.send, send_batch=s.send, batch=EVENT * BATCH, flush=flush)

    def rx(self):
        ctx, s = self._socket(bind=False)
        s.send(b"hello")

        def ack():
            s.send(b"ack")
            s.close()
            ctx.term()          # returns once the ack is out
        return SimpleNamespace(recv=s.recv, recv_batch=_blob_batch(s.recv), ack=ack)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class MqChannel:
    """A POSIX message queue (posix_ipc): blocking send/receive of one message per call."""
    name = "posix_ipc-mq"

    def __init__(self, idle: str):
        import posix_ipc

        self.mq_name = f"/fxbench.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        # 10 messages is the default per-queue limit (/proc/sys/fs/mqueue/msg_max) for users.
        self.q = posix_ipc.MessageQueue(self.mq_name, posix_ipc.O_CREX, mode=0o600, max_messages=10,
                                        max_message_size=EVENT_SIZE * BATCH)

    def _open(self):
        import posix_ipc

        return posix_ipc.MessageQueue(self.mq_name)

    def tx(self):
        q = self._open()
        return SimpleNamespace(send=q.send, send_batch=q.send, batch=EVENT * BATCH)

    def rx(self):
        q = self._open()
        receive = q.receive

        def recv():
            return receive()[0]
        return SimpleNamespace(recv=recv, recv_batch=_blob_batch(recv))

    def close(self):
        self.q.close()
        try:
            self.q.unlink()
        except Exception:  # noqa: BLE001 - already gone is fine
            pass


class FasterFifoChannel:
    name = "faster-fifo"

    def __init__(self, idle: str):
        import faster_fifo

        # About a thousand pickled 64-byte events, in line with the 1024-slot rings.
        self.q = faster_fifo.Queue(max_size_bytes=128 * 1024)

    def tx(self):
        return SimpleNamespace(send=self.q.put, send_batch=self.q.put_many, batch=[EVENT] * BATCH)

    def rx(self):
        get, get_many = self.q.get, self.q.get_many

        def recv_batch():
            msgs = get_many(timeout=10.0)
            return msgs, len(msgs), msgs[-1][7] == 0xFF
        return SimpleNamespace(recv=get, recv_batch=recv_batch)

    def close(self):
        self.q.close()


class NumpyRing:
    """The naive shared-memory ring a Python user writes in an afternoon: numpy arrays over a
    /dev/shm file, a head index the producer writes and a tail the consumer writes (128 bytes
    apart), plain Python loops that poll them. Single producer, single consumer."""

    def __init__(self, path: Path, slots: int, idle: str):
        self.path, self.n, self.mask = path, slots, slots - 1
        self.idle = os.sched_yield if idle == "yield" else _no_op
        self.mm = None

    def _map(self):
        import mmap

        with open(self.path, "r+b") as f:
            self.mm = mmap.mmap(f.fileno(), 0)
        self.ctr = np.ndarray((32,), dtype=np.int64, buffer=self.mm)
        self.slots = np.ndarray((self.n, EVENT_SIZE), dtype=np.uint8, buffer=self.mm, offset=256)
        self.head = int(self.ctr[0])
        self.tail = int(self.ctr[16])

    def send(self, msg):
        h = self.head
        while h - int(self.ctr[16]) >= self.n:
            self.idle()
        self.slots[h & self.mask] = np.frombuffer(msg, dtype=np.uint8)
        self.ctr[0] = self.head = h + 1

    def recv(self):
        t = self.tail
        while int(self.ctr[0]) == t:
            self.idle()
        m = self.slots[t & self.mask].tobytes()
        self.ctr[16] = self.tail = t + 1
        return m

    def send_batch(self, block):
        h, k = self.head, len(block)
        while h + k - int(self.ctr[16]) > self.n:
            self.idle()
        i = h & self.mask
        first = min(k, self.n - i)
        self.slots[i:i + first] = block[:first]
        if k > first:
            self.slots[:k - first] = block[first:]
        self.ctr[0] = self.head = h + k

    def recv_batch(self):
        t = self.tail
        while (h := int(self.ctr[0])) == t:
            self.idle()
        i = t & self.mask
        k = min(h - t, self.n - i)
        block = self.slots[i:i + k].copy()
        self.ctr[16] = self.tail = t + k
        return block, k, block[k - 1, 7] == 0xFF


def _no_op():
    pass


class NumpyRingChannel:
    name = "numpy-ring"

    def __init__(self, idle: str, slots: int = 1024):
        self.path = Path("/dev/shm") / f"fxbench.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        try:
            os.ftruncate(fd, 256 + slots * EVENT_SIZE)
        finally:
            os.close(fd)
        self.slots, self.idle_kind = slots, idle

    def _end(self):
        r = NumpyRing(self.path, self.slots, self.idle_kind)
        r._map()
        return r

    def tx(self):
        r = self._end()
        r.batch = np.zeros((BATCH, EVENT_SIZE), dtype=np.uint8)
        return r

    def rx(self):
        return self._end()

    def close(self):
        self.path.unlink(missing_ok=True)


PEERS = [PipeChannel, QueueChannel, ZmqChannel, MqChannel, FasterFifoChannel, NumpyRingChannel]


# --- loops that drive any peer ----------------------------------------------------------------

def ping(tx, rx, out: np.ndarray, duration_s: float) -> dict:
    """Round trips until duration_s or out is full; out[i] = ns of round trip i. A few untimed
    round trips first, so connection set-up (zmq connects in the background) is not timed."""
    out[:] = 0  # fault the sample pages in before the window
    send, recv, clock = tx.send, rx.recv, time.perf_counter_ns
    for _ in range(WARMUP_ROUND_TRIPS):
        send(EVENT)
        recv()
    n, i = len(out), 0
    deadline = clock() + int(duration_s * 1e9)
    while i < n:
        t0 = clock()
        send(EVENT)
        recv()
        t1 = clock()
        out[i] = t1 - t0
        i += 1
        if t1 > deadline:
            break
    send(STOP)
    _flush(tx)
    recv()
    _ack(rx)
    return {"n": i}


def pong(rx, tx) -> dict:
    send, recv = tx.send, rx.recv
    count = 0
    while True:
        m = recv()
        send(m)
        if m[7] == 0xFF:
            _ack(rx)
            _flush(tx)
            return {"echoed": count}
        count += 1


def _flush(tx) -> None:
    """After the stop event: a peer that sends asynchronously (zmq) waits until the receiver
    has it, so nothing queued is lost when this process ends."""
    flush = getattr(tx, "flush", None)
    if flush is not None:
        flush()


def _ack(rx) -> None:
    """The receiving half of _flush: confirm the stop event."""
    ack = getattr(rx, "ack", None)
    if ack is not None:
        ack()


def produce(tx, duration_s: float, batched: bool) -> dict:
    """Events until duration_s, then the stop event. Times on CLOCK_MONOTONIC."""
    clock = time.monotonic_ns
    start = clock()
    deadline = start + int(duration_s * 1e9)
    sent = 0
    if batched:
        send_batch, batch = tx.send_batch, tx.batch
        while clock() < deadline:
            for _ in range(16):
                send_batch(batch)
            sent += 16 * BATCH
    else:
        send = tx.send
        while clock() < deadline:
            for _ in range(256):
                send(EVENT)
            sent += 256
    end = clock()
    tx.send(STOP)
    _flush(tx)
    return {"sent": sent, "start_ns": start, "end_ns": end}


def consume(rx, batched: bool) -> dict:
    count = 0
    if batched:
        recv_batch = rx.recv_batch
        while True:
            _, n, stopped = recv_batch()
            if stopped:
                count += n - 1
                break
            count += n
    else:
        recv = rx.recv
        while recv()[7] != 0xFF:
            count += 1
    end = time.monotonic_ns()
    _ack(rx)
    return {"received": count, "end_ns": end}


def forward(rx, tx, batched: bool) -> dict:
    """A pipeline stage: pass every event (and finally the stop event) downstream."""
    count = 0
    if batched:
        recv_batch, send_batch = rx.recv_batch, tx.send_batch
        while True:
            obj, n, stopped = recv_batch()
            if stopped:
                _ack(rx)
            send_batch(obj)
            count += n
            if stopped:
                break
    else:
        recv, send = rx.recv, tx.send
        while True:
            m = recv()
            if m[7] == 0xFF:
                _ack(rx)
                send(m)
                break
            send(m)
            count += 1
    _flush(tx)
    return {"forwarded": count}
