"""bench/oms.py's loops run their script to the end (no timing is checked here)."""
import numpy as np

from bench import oms as bench_oms
from bench._harness import Results
from fxpipe.oms.benchloops import c_lifecycles


def test_c_level_loop_runs_every_lifecycle():
    n = 2_000
    steps = [np.zeros(n, dtype=np.int64) for _ in range(3)]
    mean = c_lifecycles(n, *steps)
    assert mean > 0 and all((s > 0).all() for s in steps)


def test_python_api_run_follows_the_same_script():
    res = Results("oms")
    assert bench_oms.python_api(res, 300) > 0
    assert res.value("fxpipe Python API", "lifecycle mean (no clock in loop)") > 0
