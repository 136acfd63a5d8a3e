"""`fxpipe fix-store show|set`, run as a process, as an operator would."""
import os
import subprocess
import sys

from fxpipe.fix.session.store import FileStore

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}


def fxpipe(*args):
    return subprocess.run([sys.executable, "-m", "fxpipe", *args], capture_output=True, text=True, env=ENV, timeout=60)


def test_show_and_set(tmp_path):
    store = FileStore(tmp_path / "FX-LP", "never")
    store.open(0)
    store.save_sent(1, b"m1")
    store.save_sent(2, b"m2")
    store.incr_next_target()
    store.close()
    r = fxpipe("fix-store", "show", str(tmp_path / "FX-LP"))
    assert r.returncode == 0, r.stderr
    assert "next sender:  3" in r.stdout and "next target:  2" in r.stdout and "2 kept" in r.stdout
    r = fxpipe("fix-store", "set", str(tmp_path / "FX-LP"), "--next-target", "40")
    assert r.returncode == 0, r.stderr
    store = FileStore(tmp_path / "FX-LP")
    store.open(0)
    assert (store.next_sender, store.next_target) == (3, 40)
    store.close()


def test_errors_are_clear(tmp_path):
    r = fxpipe("fix-store", "show", str(tmp_path / "nothing"))
    assert r.returncode == 2 and "is not a FIX session store" in r.stderr
    store = FileStore(tmp_path / "FX-LP")
    store.open(0)
    try:
        r = fxpipe("fix-store", "set", str(tmp_path / "FX-LP"), "--next-sender", "5")
        assert r.returncode == 2 and "is in use by process" in r.stderr
    finally:
        store.close()
    r = fxpipe("fix-store", "set", str(tmp_path / "FX-LP"))
    assert r.returncode == 2 and "nothing to set" in r.stderr
    r = fxpipe("fix-store", "set", str(tmp_path / "FX-LP"), "--next-target", "0")
    assert r.returncode == 2 and "next_target must be >= 1" in r.stderr
