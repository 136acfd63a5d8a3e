"""Randomised membership churn with real processes on a real segment: a producer streams; the
journal is attached, detached, killed and restarted; joiners come and go behind it; an operator
detaches at random; a dependent reads throughout. Every event anybody returns carries the bytes
published for its sequence; no process dies by a signal; nobody wedges."""
import multiprocessing as mp
import os
import random
import struct
import time

from fxpipe.ring import ConsumerDetached, ConsumerError, Ring, RingClosed, RingError, RingFull, RingTimeout

CTX = mp.get_context("fork")
EVENT = struct.Struct("<qq48s")
RUN_S = 5.0


def event(seq: int) -> bytes:
    return EVENT.pack(seq, seq * 7919 + 13, (seq % 251).to_bytes(1, "little") * 48)


def check(seq: int, raw: bytes, errors: list, who: str) -> None:
    if raw[: EVENT.size] != event(seq):
        errors.append(f"{who}: sequence {seq} carries {raw[:16].hex()}")


def _producer(name, out):
    r = Ring.attach(name)
    p = r.producer(auto_detach=True)
    sent = 0
    deadline = time.monotonic() + RUN_S
    while time.monotonic() < deadline:
        try:
            seq = p.send(event(p.last_claimed + 1), timeout=0.05)
            sent += 1
            assert seq == p.last_claimed
        except RingFull:
            pass
    r.close_stream()
    out.put(("producer", sent, []))


def _read_some(r, c, k, errors, who, upstream=None):
    n = 0
    for _ in range(k):
        seq = c.next
        raw = c.recv(timeout=0.2)
        check(seq, raw, errors, who)
        n += 1
    return n


def _journal(name, out, seed):
    """Attach, read, then leave one of three ways: detach itself, die (os._exit in a child), or
    just be detached by the operator while it reads."""
    rng = random.Random(seed)
    r = Ring.attach(name)
    errors, reads, lives = [], 0, 0
    deadline = time.monotonic() + RUN_S
    while time.monotonic() < deadline:
        way = rng.randrange(3)
        if way == 1:
            pid = os.fork()
            if pid == 0:                   # a journal process that dies mid-stream
                try:
                    c = Ring.attach(name).consumer("journal")
                    for _ in range(rng.randrange(1, 20)):
                        seq = c.next
                        raw = c.recv(timeout=0.2)
                        if raw[: EVENT.size] != event(seq):
                            os._exit(3)
                except (RingError, ConsumerError):
                    pass
                os._exit(0)
            _, status = os.waitpid(pid, 0)
            if os.WIFSIGNALED(status) or os.WEXITSTATUS(status) == 3:
                errors.append(f"journal child ended with status {status}")
            continue
        try:
            c = r.consumer("journal")
            lives += 1
            reads += _read_some(r, c, rng.randrange(1, 50), errors, "journal")
            if way == 0:
                c.detach()
        except (ConsumerDetached, RingTimeout, ConsumerError):
            pass
        except RingClosed:
            break
    # The run is over: a last, healthy journal drains the stream so its dependent can finish
    # (while the journal is detached, the dependent waits for it by design).
    time.sleep(0.1)
    while True:
        try:
            c = r.consumer("journal")
            while True:
                seq = c.next
                check(seq, c.recv(timeout=5), errors, "journal")
                reads += 1
        except ConsumerDetached:
            continue
        except (RingClosed, RingTimeout):
            break
    out.put(("journal", reads, errors if lives else errors + ["the journal never attached"]))


def _joiner(name, out, seed):
    rng = random.Random(seed)
    r = Ring.attach(name)
    errors, reads = [], 0
    deadline = time.monotonic() + RUN_S
    while time.monotonic() < deadline:
        who = f"late{rng.randrange(3)}"
        try:
            c = r.consumer(who, create=True, after=["journal"])
            reads += _read_some(r, c, rng.randrange(1, 30), errors, who)
            c.detach()
        except (ConsumerDetached, RingTimeout, ConsumerError):
            pass
        except RingClosed:
            break
    out.put(("joiner", reads, errors))


def _operator(name, out, seed):
    rng = random.Random(seed)
    r = Ring.attach(name)
    detached = 0
    deadline = time.monotonic() + RUN_S
    while time.monotonic() < deadline:
        time.sleep(rng.uniform(0.001, 0.02))
        target = rng.choice(["journal", "late0", "late1", "late2"])
        try:
            detached += bool(r.detach(target))
        except ConsumerError:
            pass
    out.put(("operator", detached, []))


def _dependent(name, out):
    r = Ring.attach(name)
    c = r.consumer("decision")
    errors, reads = [], 0
    while True:
        try:
            seq = c.next
            raw = c.recv(timeout=RUN_S + 30)
            check(seq, raw, errors, "decision")
            reads += 1
        except RingClosed:
            break
        except (RingTimeout, ConsumerDetached) as exc:
            errors.append(f"decision: {exc}")
            break
    out.put(("dependent", reads, errors))


def test_randomised_membership_churn_never_reads_a_wrong_byte(ring_name):
    with Ring.create(ring_name, slot_size=64, slot_count=4, skip_detached_upstream=False,
                     consumers=["journal", ("decision", ["journal"])]):
        out = CTX.Queue()
        seed = int.from_bytes(os.urandom(4), "little")
        procs = [CTX.Process(target=_producer, args=(ring_name, out)),
                 CTX.Process(target=_journal, args=(ring_name, out, seed)),
                 CTX.Process(target=_joiner, args=(ring_name, out, seed + 1)),
                 CTX.Process(target=_operator, args=(ring_name, out, seed + 2)),
                 CTX.Process(target=_dependent, args=(ring_name, out))]
        for p in procs:
            p.start()
        results = {}
        for _ in procs:
            who, n, errors = out.get(timeout=RUN_S + 120)
            results[who] = (n, errors)
        for p in procs:
            p.join(60)
            assert p.exitcode == 0, f"exit code {p.exitcode} (negative: killed by a signal)"
    errors = [e for _, errs in results.values() for e in errs]
    assert errors == [], (seed, errors[:10])
    assert results["producer"][0] > 50 and results["dependent"][0] > 0, (seed, results)
