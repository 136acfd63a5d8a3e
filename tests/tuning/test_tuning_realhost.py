"""check against this very host: read-only, honest about what it cannot see, with or without root.

Nothing here passes --yes: the real host is only ever read.
"""
import json
import os

import pytest
from tune_runner import NOBODY, nobody_python, tune

from fxpipe.tuning.values import parse_cpulist

STATE = "/var/lib/fxpipe"


def _trading_core():
    try:
        with open("/sys/devices/system/cpu/online") as f:
            online = sorted(parse_cpulist(f.read()))
    except OSError:
        pytest.skip("this host has no /sys/devices/system/cpu/online")
    if len(online) < 2:
        pytest.skip("one online core: nothing left for housekeeping")
    return str(online[-1])


def _check_is_honest(result):
    assert result.returncode in (0, 1), result.stderr
    doc = json.loads(result.stdout)
    assert {i["area"] for i in doc["items"]} >= {"kernel", "irq", "cpu", "memory", "network"}
    for item in doc["items"]:
        assert item["status"] in ("ok", "differs", "unknown")
        if item["status"] == "unknown":
            assert item["current"] is None and item["note"], item
    assert doc["counts"]["ok"] + doc["counts"]["differs"] + doc["counts"]["unknown"] == len(doc["items"])
    return doc


def test_check_on_this_host_reads_and_changes_nothing():
    core = _trading_core()
    existed = os.path.exists(STATE)
    doc = _check_is_honest(tune("check", "--cores", core, "--json"))
    assert doc["trading"] == core
    text = tune("check", "--cores", core)
    assert "[kernel]" in text.stdout and text.stdout.rstrip().endswith("unknown")
    plan = tune("plan", "--cores", core)
    assert plan.returncode == 0, plan.stderr
    assert os.path.exists(STATE) == existed


@pytest.mark.skipif(os.geteuid() != 0, reason="this run is already unprivileged: the test above covers it")
def test_check_on_this_host_without_root():
    python = nobody_python()
    core = _trading_core()
    existed = os.path.exists(STATE)
    result = tune("check", "--cores", core, "--json", user=NOBODY, cwd="/", python=python)
    _check_is_honest(result)
    assert os.path.exists(STATE) == existed
