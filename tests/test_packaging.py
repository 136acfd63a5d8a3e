"""`pip wheel .` gives a wheel that installs into a bare venv and works from anywhere: the
`fxpipe` console script, the compiled extensions, and the shipped configuration (reference
data, layouts, risk limits) found as package data rather than in a source tree."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP_IN_COPY = shutil.ignore_patterns(".venv", ".git", "build", "*.so", "__pycache__", "*.egg-info", ".hypothesis",
                                      ".pytest_cache", ".ruff_cache", "bench", "tests", "fuzz", "var")


def run(cmd, **kw):
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.timeout(1800)
def test_wheel_installs_into_a_bare_venv_and_runs_outside_the_source_tree(tmp_path):
    # A copy of the tree, so the build neither races a developer's in-place build nor sees
    # compiled modules lying in src/ (the Cython translations are kept: they are sources too).
    src = tmp_path / "src-copy"
    shutil.copytree(ROOT, src, ignore=SKIP_IN_COPY)
    wheels = tmp_path / "wheels"
    build_env = {**os.environ, "FXPIPE_OPT": "-O0"}    # every extension compiled, just not optimised
    run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-q",
         "--disable-pip-version-check", "-w", str(wheels)], cwd=src, env=build_env, timeout=1500)
    (wheel,) = wheels.glob("fxpipe-*.whl")
    names = run([sys.executable, "-m", "zipfile", "-l", str(wheel)])
    for shipped in ("fxpipe/_data/config/refdata.toml", "fxpipe/_data/config/layouts/fused.toml",
                    "fxpipe/_data/config/risk.toml", "fxpipe/_data/config/venues.toml", "fxpipe/fix/FIX42.xml",
                    "fxpipe/ring/ring.cpython", "fxpipe/examples/market_maker.py"):
        assert shipped in names, f"{shipped} is not in the wheel"

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    py, fxpipe = env_dir / "bin" / "python", env_dir / "bin" / "fxpipe"
    run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)], timeout=600)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FXPIPE_REFDATA", "FXPIPE_RISK")}
    assert "journal" in run([fxpipe, "--help"], cwd=elsewhere, env=env, timeout=120)
    out = run([fxpipe, "layout", "fused"], cwd=elsewhere, env=env, timeout=120)
    assert "layout fused" in out and "_data/config/layouts/fused.toml" in out
    where = run([py, "-c", "import fxpipe.model.refdata as r, fxpipe.ring.ring as ring; "
                 "print(r.load_refdata().source); print(ring.__file__)"], cwd=elsewhere, env=env, timeout=120)
    assert str(env_dir) in where and str(ROOT) not in where
    # the demo, from the wheel alone: the simulator, the desk and the example strategies
    out = run([fxpipe, "demo", "--duration", "4", "--run-dir", str(tmp_path / "demo")], cwd=elsewhere, env=env,
              timeout=300)
    assert "requests sent" in out and "per-hop latency" in out, out
