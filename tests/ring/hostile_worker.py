"""Child side of the hostile-segment test: write a damaged copy of a real segment over the
ring's file, attach to it, use it as a producer and as consumers would, and count outcomes.
Every outcome must be a clear ring error or correct operation; a signal kills the child and
fails the test in the parent."""
import os
import random

from fxpipe.ring import Ring, RingError
from fxpipe.ring import layout as L


def corrupt(image: bytes, rng: random.Random, table_end: int) -> bytes:
    """One random corruption of the header and tables (everything before the slots)."""
    b = bytearray(image)
    kind = rng.randrange(5)
    if kind == 0:                                   # bit flips
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(table_end)
            b[i] ^= 1 << rng.randrange(8)
    elif kind == 1:                                 # a zeroed range
        i = rng.randrange(table_end)
        b[i:i + rng.randint(1, 256)] = bytes(min(len(b) - i, rng.randint(1, 256)))[: len(b[i:i + 256])]
    elif kind == 2:                                 # an extreme value in an aligned word
        i = rng.randrange(table_end // 8) * 8
        v = rng.choice([0, 1, 2**63 - 1, 2**64 - 1, 2**32 - 1, 2**31, 10**6, rng.getrandbits(64)])
        b[i:i + 8] = v.to_bytes(8, "little")
    elif kind == 3:                                 # a random value in a named header field
        name = rng.choice(L.IDENTITY.names)
        off, size = L.IDENTITY.fields[name][1], L.IDENTITY.fields[name][0].itemsize
        b[off:off + size] = rng.getrandbits(8 * size).to_bytes(size, "little")
    else:                                           # truncation of the file
        del b[rng.randrange(len(b)):]
    return bytes(b)


def run(name: str, path: str, image: bytes, table_end: int, seed: int, count: int) -> dict:
    rng = random.Random(seed)
    outcomes = {"error": 0, "ok": 0}
    unexpected = []
    for k in range(count):
        data = corrupt(image, rng, table_end)
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        os.write(fd, data)
        os.close(fd)
        try:
            r = Ring.attach(name, timeout=0)
        except (RingError, ValueError):
            outcomes["error"] += 1
            continue
        except Exception as exc:  # noqa: BLE001  (the point: anything but a ring error is a finding)
            unexpected.append(f"#{k} attach: {type(exc).__name__}: {exc}")
            continue
        try:
            p = r.producer(auto_detach=True)
            p.send(b"x" * 8, timeout=0)
            for cname in r.consumer_names()[:3]:
                c = r.consumer(cname)
                c.recv(timeout=0)
            r.status()
            outcomes["ok"] += 1
        except (RingError, ValueError):
            outcomes["error"] += 1
        except Exception as exc:  # noqa: BLE001
            unexpected.append(f"#{k} use: {type(exc).__name__}: {exc}")
        finally:
            r.close(unlink=False)
    return {"outcomes": outcomes, "unexpected": unexpected[:20]}
