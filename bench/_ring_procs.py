"""Process harness of the ring benchmark: runs one scenario as a group of pinned processes.

Each process is forked (so closures, rings and peer channels built by the parent come along),
pins itself to its core, turns the garbage collector off, runs its `setup` (attach, connect),
reports ready, waits for the parent's go, runs its `body` and sends the body's result back.
The parent opens the measured window only when every process is ready.

Nothing is left behind: children ignore Ctrl-C (the parent ends them), die with the parent
(PR_SET_PDEATHSIG), and every child still alive when a group ends, fails or is interrupted is
terminated, then killed, by its own pid.
"""
from __future__ import annotations

import ctypes
import gc
import mmap
import multiprocessing
import os
import resource
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bench._harness import pin

CTX = multiprocessing.get_context("fork")
_LIVE: dict[int, multiprocessing.Process] = {}
_PR_SET_PDEATHSIG = 1


class ScenarioError(RuntimeError):
    """A process of a scenario failed or did not answer in time."""


@dataclass
class Role:
    """One process of a scenario: `setup()` runs before the window, `body(state)` inside it."""
    name: str
    core: int
    body: Callable[[object], dict]
    setup: Callable[[], object] = lambda: None


def shared_samples(n: int) -> np.ndarray:
    """An int64 array in anonymous shared memory: a forked child fills it, the parent reads it
    (no copy, nothing to unlink)."""
    mm = mmap.mmap(-1, max(8, 8 * n))
    return np.frombuffer(mm, dtype=np.int64, count=n)


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the parent's clean-up still ends us


def _on_cpu_ns() -> int | None:
    """Nanoseconds this process has run on a CPU (/proc/self/schedstat). Over a window, on-CPU
    time / wall time is the share of its core it got: below 1 for a spinning process means
    other work on the machine preempted it."""
    try:
        with open("/proc/self/schedstat") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _child(role: Role, conn) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)   # the parent may have made it an interrupt
    _die_with_parent()
    try:
        pin(role.core)
        gc.disable()
        state = role.setup()
        conn.send(("ready", None))
        if conn.recv() != "go":
            return
        ru0, cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF), _on_cpu_ns(), time.monotonic_ns()
        result = role.body(state) or {}
        ru1, cpu1, wall1 = resource.getrusage(resource.RUSAGE_SELF), _on_cpu_ns(), time.monotonic_ns()
        result["ctx_switches"] = (ru1.ru_nvcsw - ru0.ru_nvcsw) + (ru1.ru_nivcsw - ru0.ru_nivcsw)
        if cpu0 is not None and cpu1 is not None:
            result["cpu_share"] = round((cpu1 - cpu0) / max(1, wall1 - wall0), 3)
        conn.send(("done", result))
    except BaseException:  # everything is reported to the parent, which decides
        conn.send(("error", f"{role.name}: {traceback.format_exc()}"))
    finally:
        conn.close()


def run_group(roles: list[Role], timeout_s: float, on_start: Callable[[list[int]], object] | None = None
              ) -> dict[str, dict]:
    """Run the roles as processes; return {role name: body result}. on_start(pids) may return a
    context manager (e.g. perf stat) that is held around the measured window."""
    procs, conns = [], []
    try:
        for role in roles:
            parent_end, child_end = CTX.Pipe()
            p = CTX.Process(target=_child, args=(role, child_end), name=f"ringbench-{role.name}", daemon=True)
            p.start()
            _LIVE[p.pid] = p
            child_end.close()
            procs.append(p)
            conns.append(parent_end)
        for role, conn in zip(roles, conns, strict=True):
            _expect(conn, role, "ready", timeout_s)
        window = on_start([p.pid for p in procs]) if on_start else None
        if window is not None:
            window.__enter__()
        try:
            for conn in conns:
                conn.send("go")
            results = {role.name: _expect(conn, role, "done", timeout_s)
                       for role, conn in zip(roles, conns, strict=True)}
        finally:
            if window is not None:
                window.__exit__(None, None, None)
        for p in procs:
            p.join(timeout=5)
        return results
    finally:
        for conn in conns:
            conn.close()
        for p in procs:
            _end(p)


def _expect(conn, role: Role, what: str, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while not conn.poll(0.05):
        if time.monotonic() > deadline:
            raise ScenarioError(f"{role.name} (core {role.core}) did not report {what} within {timeout_s:.0f}s")
    try:
        kind, payload = conn.recv()
    except EOFError:
        raise ScenarioError(f"{role.name} exited before reporting {what}") from None
    if kind == "error":
        raise ScenarioError(payload)
    if kind != what:
        raise ScenarioError(f"{role.name} reported {kind!r}, expected {what!r}")
    return payload


def _end(p: multiprocessing.Process) -> None:
    if p.is_alive():
        p.terminate()
        p.join(timeout=2)
    if p.is_alive():
        os.kill(p.pid, signal.SIGKILL)
        p.join(timeout=2)
    _LIVE.pop(p.pid, None)


def end_all() -> None:
    """End every process this harness started and has not reaped (interrupt path)."""
    for p in list(_LIVE.values()):
        _end(p)
