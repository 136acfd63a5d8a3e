"""The demo and the ring CLI run as a user runs them: real processes, real segments."""
import json
import os
import re
import subprocess
import sys

from fxpipe.ring import Ring, segment


def _fxpipe(*args, timeout=180):
    return subprocess.run([sys.executable, "-m", "fxpipe", *args], capture_output=True, text=True, timeout=timeout)


def test_demo_trades_against_the_simulator_and_summarises_from_the_journal(tmp_path):
    run_dir = tmp_path / "demo"
    r = _fxpipe("demo", "--duration", "8", "--run-dir", str(run_dir), timeout=240)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "venue simulator up" in out and "layout " in out
    # the summary is read back from the journal: orders went out and came back
    quotes = int(re.search(r"^quotes (\d+)", out, re.M).group(1))
    sent = int(re.search(r"requests sent (\d+)", out).group(1))
    assert quotes > 100 and sent > 0, out
    assert "per-hop latency" in out and "receive→send" in out
    assert f"journal: {run_dir / 'journal'}" in out
    assert (run_dir / "journal").is_dir() and (run_dir / "oms").is_dir()
    log = run_dir / "fxpipe.jsonl"        # structured log: one JSON object a line, owner-only
    assert log.stat().st_mode & 0o077 == 0
    assert all(json.loads(line)["level"] for line in log.read_text().splitlines())
    leftovers = [n for n in segment.list_segments() if n.startswith("demo-")]
    assert leftovers == [], f"demo left segments behind: {leftovers}"


def test_demo_refuses_a_layout_this_host_cannot_run(tmp_path):
    if len(os.sched_getaffinity(0)) >= 4:
        return
    r = _fxpipe("demo", "--layout", "pinned", "--run-dir", str(tmp_path / "d"))
    assert r.returncode == 2
    assert "may use only" in r.stderr


def test_ring_status_detach_and_clean(ring_name):
    with Ring.create(ring_name, consumers=["journal", ("decision", ["journal"])]) as ring:
        ring.producer().send(b"x")
        r = _fxpipe("ring", "status", ring_name, "--json")
        assert r.returncode == 0, r.stderr
        st = json.loads(r.stdout)[0]
        assert st["cursor"] == 0 and [c["name"] for c in st["consumers"]] == ["journal", "decision"]
        r = _fxpipe("ring", "detach", ring_name, "journal")
        assert r.returncode == 0 and "detached" in r.stdout
        assert ring.status()["consumers"][0]["state"] == "detached"
        r = _fxpipe("ring", "status", ring_name)
        assert "journal" in r.stdout and "detached" in r.stdout
    # A ring whose creator died is listed by clean, and removed with --yes.
    subprocess.run([sys.executable, "-c", f"import os; from fxpipe.ring import Ring; Ring.create({ring_name!r}); os._exit(0)"],
                   check=True, timeout=60)
    r = _fxpipe("ring", "clean")
    assert f"stale: ring {ring_name}" in r.stdout
    assert segment.segment_path(ring_name).exists()
    r = _fxpipe("ring", "clean", "--yes")
    assert f"removed: ring {ring_name}" in r.stdout
    assert not segment.segment_path(ring_name).exists()


def test_ring_status_of_missing_ring_is_a_clear_error():
    r = _fxpipe("ring", "status", "no-such-ring-xyz")
    assert r.returncode == 2
    assert "does not exist" in r.stderr
