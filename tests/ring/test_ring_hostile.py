"""Hostile or damaged segments: every header field is checked against the file before a
pointer is made from it, and a full /dev/shm is an error at create."""
import multiprocessing as mp
import os
import resource
import signal
import subprocess
import sys
import tempfile
import textwrap

import hostile_worker as W
import pytest

from fxpipe.ring import Ring, RingError, RingLayoutError, segment
from fxpipe.ring import layout as L

CTX = mp.get_context("fork")
CORRUPTIONS = 10_000
CHILDREN = 4


def _field(name):
    return L.IDENTITY.fields[name][1]


def test_huge_consumer_table_size_is_refused_not_a_sigsegv(ring_name):
    with Ring.create(ring_name, consumers=["a"]) as r:
        with open(r.path, "r+b") as f:
            f.seek(_field("max_consumers"))
            f.write((10**6).to_bytes(4, "little"))
        with pytest.raises(RingLayoutError, match="consumer table of 1000000 entries"):
            Ring.attach(ring_name)


@pytest.mark.parametrize("field,value,message", [
    ("slot_count", 1000, "not a power of two"),
    ("slot_count", 0, "not a power of two"),
    ("slot_size", 12, "not a multiple of 8"),
    ("slots_offset", 1 << 40, "slots_offset is"),
    ("avail_offset", 64, "avail_offset is"),
    ("total_size", 1 << 20, "total_size is"),
    ("producer_mode", 7, "producer_mode 7"),
    ("flags", 0x80, "unknown flags"),
    ("state", 9, "ring state 9"),
])
def test_each_header_field_is_checked_against_the_file(ring_name, field, value, message):
    with Ring.create(ring_name, consumers=["a"]) as r:
        size = L.IDENTITY.fields[field][0].itemsize
        with open(r.path, "r+b") as f:
            f.seek(_field(field))
            f.write(value.to_bytes(size, "little"))
        with pytest.raises(RingLayoutError, match=message):
            Ring.attach(ring_name)


def test_consumer_entries_are_checked(ring_name):
    base = L.HEADER.fields["consumers"][1]
    with Ring.create(ring_name, consumers=["a", ("b", ["a"])]) as r:
        with open(r.path, "r+b") as f:
            f.seek(base + L.CONSUMER.itemsize + L.CONSUMER.fields["depends_mask"][1])
            f.write((1 << 1).to_bytes(8, "little"))     # "b" waits on itself
        with pytest.raises(RingLayoutError, match="consumer entry 1 depends on 0x2"):
            Ring.attach(ring_name)


def test_owner_and_mode_are_checked(ring_name):
    with Ring.create(ring_name, consumers=["a"]) as r:
        os.chmod(r.path, 0o644)
        with pytest.raises(RingLayoutError, match="mode 644, not 600"):
            Ring.attach(ring_name)


def _pristine(ring_name, producer):
    with Ring.create(ring_name + "img", slot_size=16, slot_count=8, producer=producer,
                     consumers=["a", ("b", ["a"])]) as r:
        p, a = r.producer(), r.consumer("a")
        for i in range(5):
            p.send(bytes([i]) * 16)
        a.recv()
        a.recv()
        r.consumer("b").recv()
        h = r.header
        # The processes that used it are gone (a child may take their roles over).
        h["producer"]["pid"] = 0
        h["consumers"]["pid"] = 2**31 - 2
        image = open(r.path, "rb").read()
        return image, int(h["id"]["slots_offset"])


def _child(conn, name, image, table_end, seed, count):
    path = str(segment.segment_path(name))
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    try:
        conn.send(W.run(name, path, image, table_end, seed, count))
    finally:
        os.unlink(path)
    conn.close()


@pytest.mark.parametrize("producer", ["single", "multi"])
def test_ten_thousand_random_corruptions_never_kill_a_process(ring_name, producer):
    """Byte flips, zeroed ranges, extreme values, random header fields and truncation of a real
    segment, each attached and used by a producer and consumers in a child process: zero
    deaths by signal, every outcome a ring error or correct operation."""
    image, table_end = _pristine(ring_name, producer)
    per_child = CORRUPTIONS // 2 // CHILDREN       # both producer modes together: 10,000
    procs = []
    for k in range(CHILDREN):
        parent, child = CTX.Pipe()
        seed = (1 if producer == "single" else 2) * 1000 + k
        pr = CTX.Process(target=_child, args=(child, f"{ring_name}.{k}", image, table_end, seed, per_child))
        pr.start()
        procs.append((pr, parent))
    results = []
    for pr, parent in procs:
        pr.join(300)
        assert parent.poll(0), f"child produced no result (exit code {pr.exitcode}; negative: a signal)"
        results.append(parent.recv())
        assert pr.exitcode == 0, f"child died with exit code {pr.exitcode} (a negative code is a signal)"
    unexpected = [u for r in results for u in r["unexpected"]]
    assert unexpected == []
    total = {k: sum(r["outcomes"][k] for r in results) for k in ("error", "ok")}
    assert total["error"] + total["ok"] == per_child * CHILDREN
    assert total["error"] > 0 and total["ok"] > 0, total   # both kinds were exercised


SMALL_TMPFS_CHILD = textwrap.dedent("""
    import os, sys
    os.environ["FXPIPE_SHM_DIR"] = sys.argv[1]
    from fxpipe.ring import Ring, RingError
    try:
        Ring.create("big", slot_size=4096, slot_count=1024)      # 4 MiB + header
    except RingError as e:
        print("refused:", e)
        print("left:", sorted(os.listdir(sys.argv[1])))
        sys.exit(0)
    sys.exit(3)
""")


def _mount_small_tmpfs():
    d = tempfile.mkdtemp(prefix="fxpipe-tmpfs-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", d],
                       capture_output=True, text=True)
    if r.returncode != 0:
        os.rmdir(d)
        return None
    return d


def test_full_shm_is_an_error_at_create_not_a_sigbus_later(tmp_path):
    """On a 1 MiB tmpfs where this host lets us mount one; else the same shortage made by a
    file-size limit in the child (posix_fallocate fails the same way, with EFBIG)."""
    d = _mount_small_tmpfs()
    try:
        if d is not None:
            out = subprocess.run([sys.executable, "-c", SMALL_TMPFS_CHILD, d], capture_output=True,
                                 text=True, timeout=60)
        else:
            def limit():
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
            out = subprocess.run([sys.executable, "-c", SMALL_TMPFS_CHILD, str(tmp_path)], capture_output=True,
                                 text=True, timeout=60, preexec_fn=limit)
            if out.returncode == 3:
                pytest.skip("neither a small tmpfs nor a file-size limit can make the directory full here")
        assert out.returncode == 0, out.stdout + out.stderr
        assert "cannot allocate" in out.stdout and "left: []" in out.stdout, out.stdout
    finally:
        if d is not None:
            subprocess.run(["umount", d], check=False)
            os.rmdir(d)


def test_shm_dir_can_be_moved_for_tests(tmp_path):
    code = f"import os; os.environ['FXPIPE_SHM_DIR'] = {str(tmp_path)!r}\nfrom fxpipe.ring import segment\nprint(segment.SHM_DIR)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == str(tmp_path)
    assert RingError
