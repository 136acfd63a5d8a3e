"""Worker processes for the multi-process ring tests. Each event is 64 bytes:
producer id (u32), counter (u32), sequence-independent payload (48 bytes derived from both),
and a checksum, so a consumer can prove no loss, no duplicate, per-producer order and
payload integrity on its own."""
import os
import struct
import zlib

from fxpipe.ring import Ring, RingClosed

EVENT = struct.Struct("<II48sQ")


def make_event(pid: int, n: int) -> bytes:
    body = (pid.to_bytes(4, "little") + n.to_bytes(4, "little")) * 6
    return EVENT.pack(pid, n, body, zlib.crc32(body) ^ (pid << 32))


def produce(ring_name: str, producer_id: int, count: int, batch: int, wait: str) -> None:
    ring = Ring.attach(ring_name)
    p = ring.producer(wait=wait)
    n = 0
    while n < count:
        k = min(batch, count - n)
        if k == 1:
            p.send(make_event(producer_id, n))
        else:
            lo = p.claim(k)
            for i in range(k):
                ring.slots[(lo + i) & ring.mask] = make_event(producer_id, n + i)
            p.publish(lo, lo + k - 1)
        n += k
    ring.close()


def consume(ring_name: str, name: str, wait: str, batch: int, upstream: list, out_path: str,
            stop_after: int = -1) -> None:
    """Reads until the stream closes; checks everything; writes a summary line to out_path.
    With upstream consumers, also checks it never read past what they released."""
    ring = Ring.attach(ring_name)
    c = ring.consumer(name, wait=wait)
    ups = [ring.status()["consumers"][i]["index"] for i in range(len(ring.consumer_names()))
           if ring.consumer_names()[i] in upstream]
    next_expected: dict[int, int] = {}
    errors = []
    total = 0
    import numpy as np  # noqa: F401  (views come back as numpy arrays)
    while True:
        try:
            events = c.read_batch(max_n=batch, timeout=30)
        except RingClosed:
            break
        first = c.batch_first
        if ups:
            st = ring.status()["consumers"]
            released = min(st[i]["sequence"] for i in ups)
            if first + len(events) - 1 > released:
                errors.append(f"read seq {first + len(events) - 1} before upstream released it ({released})")
        for raw in events:
            b = bytes(raw)
            pid, n, body, crc = EVENT.unpack(b)
            if crc != zlib.crc32(body) ^ (pid << 32) or body != (pid.to_bytes(4, "little") + n.to_bytes(4, "little")) * 6:
                errors.append(f"corrupt payload from producer {pid} #{n}")
            exp = next_expected.get(pid, 0)
            if n != exp:
                errors.append(f"producer {pid}: got #{n}, expected #{exp}")
            next_expected[pid] = n + 1
            total += 1
            if total == stop_after:
                os._exit(0)  # simulate a crash without releasing
    c.release()
    with open(out_path, "w") as f:
        f.write(repr({"total": total, "per_producer": next_expected, "errors": errors[:10]}))
    ring.close()
