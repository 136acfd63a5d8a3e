"""Runs `fxpipe tune` as a separate process, as root or as an unprivileged user."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")
NOBODY = 65534


def tune(*args, user=None, cwd=None, python=sys.executable):
    env = dict(os.environ, PYTHONPATH=SRC)
    env.pop("SUDO_USER", None)
    kwargs = {"user": user, "group": user, "extra_groups": []} if user is not None else {}
    return subprocess.run([python, "-m", "fxpipe", "tune", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120, **kwargs)


def nobody_python():
    """An interpreter the unprivileged user can start (a venv's may live in root's home); the
    tuning package needs nothing beyond the standard library."""
    for python in (sys.executable, shutil.which("python3", path="/usr/bin:/bin")):
        if not python:
            continue
        try:
            r = tune("--help", user=NOBODY, cwd="/", python=python)
        except (OSError, subprocess.SubprocessError):
            continue
        if r.returncode == 0:
            return python
    pytest.skip("no python interpreter an unprivileged user can run here")
