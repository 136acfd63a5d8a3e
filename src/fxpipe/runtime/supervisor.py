"""The supervisor: creates a layout's rings, spawns and pins its workers, watches them, restarts
or detaches the dead, and shuts everything down in order. Never on the hot path: it touches
ring headers (consumer tables, liveness) only, from its own process, every `watch_s`.

- one supervisor per ring set: an flock on `<lock dir>/<prefix>.lock`; a second one is refused
  with the pid that holds it;
- rings `<prefix>.md`, `<prefix>.intent`, `<prefix>.exec` and `<prefix>.control` (operators'
  Control events: multi-producer), created 0600 with their consumers declared (the journal on
  every ring; each process that reads a ring it does not produce, once, under the name of its
  first stage that reads it); a stale segment left by a crashed run (every process gone) is
  replaced, one still in use is refused by name;
- a dead worker (pid gone) is restarted under the same consumer names, so it resumes after its
  last release and nothing is lost, within `max_restarts` per `restart_window_s`. The worker
  body does the recovery its stages need (the oms replays its write-ahead journal and
  reconciles every open order with its venue before it sends again; decision picks its
  strategies up from the journal), so a worker holding the oms is restarted too unless
  `restart_oms=False`. A worker out of restarts (or an oms not to be restarted) has its
  consumers detached and an alarm raised, so producers are never wedged by the dead;
- stalled consumers (alive, holding unread events, heartbeat older than `stall_s`) are alarmed;
- SIGTERM/SIGINT (or stop()): workers are stopped producers first; each ring is closed once
  its producer has exited, so its consumers drain it and stop; then every segment is unlinked.
"""
from __future__ import annotations

import fcntl
import multiprocessing as mp
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fxpipe.ring import Ring
from fxpipe.runtime.layout import FLOW, RINGS, Layout, ProcessSpec

# ring -> the stage that produces it, and the stages that read it (the journal reads every ring)
PRODUCER = {"md": "feed", "intent": "decision", "exec": "oms"}
READERS = {"md": ("decision", "oms"), "intent": ("oms",), "exec": ("decision",), "control": ("oms", "decision")}
CONTROL = "control"
ALL_RINGS = (*RINGS, CONTROL)
CONTROL_SLOTS = 1024
SLOT_SIZE = 192

# body(process spec, ring names by ring, stop flag) runs one worker until stop() or its rings close
WorkerBody = Callable[[ProcessSpec, dict[str, str], Callable[[], bool]], None]


class SupervisorError(RuntimeError):
    pass


class SupervisorBusy(SupervisorError):
    """Another live supervisor holds these rings."""


@dataclass
class WorkerState:
    spec: ProcessSpec
    proc: mp.process.BaseProcess | None = None
    restarts: list[float] = field(default_factory=list)
    given_up: bool = False


def ring_names(prefix: str) -> dict[str, str]:
    return {r: f"{prefix}.{r}" for r in ALL_RINGS}


def readers_of(layout: Layout, ring: str) -> dict[str, str]:
    """process name -> the consumer name it reads `ring` under: each process with a stage that
    reads the ring and not the stage that produces it, once (its stages share what it reads)."""
    producer = PRODUCER.get(ring)
    producer_proc = layout.process_of(producer).name if producer else None
    out: dict[str, str] = {}
    for stage in READERS[ring]:
        proc = layout.process_of(stage).name
        if proc != producer_proc and proc not in out:
            out[proc] = stage
    return out


def consumers_of(layout: Layout, ring: str) -> list[str]:
    """Consumers declared on `ring`: the journal, and one per process that reads it."""
    return ["journal"] + list(readers_of(layout, ring).values())


def process_readers(layout: Layout, process: str) -> dict[str, str]:
    """ring -> the consumer name `process` reads it under (rings it does not read: absent)."""
    return {ring: readers_of(layout, ring)[process] for ring in ALL_RINGS if process in readers_of(layout, ring)}


def default_lock_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"fxpipe-{os.getuid()}"


class Supervisor:
    def __init__(self, layout: Layout, prefix: str, body: WorkerBody, *, lock_dir: Path | None = None,
                 watch_s: float = 0.1, stall_s: float = 5.0, max_restarts: int = 5, restart_window_s: float = 60.0,
                 alarm: Callable[[str], None] = print, restart_oms: bool = True):
        self.layout, self.prefix, self.body = layout, prefix, body
        self.names = ring_names(prefix)
        self.lock_path = (lock_dir or default_lock_dir()) / f"{prefix}.lock"
        self.watch_s, self.stall_s = watch_s, stall_s
        self.max_restarts, self.restart_window_s = max_restarts, restart_window_s
        self.alarm = alarm
        self.restart_oms = restart_oms
        self.rings: dict[str, Ring] = {}
        self.workers = {name: WorkerState(spec) for name, spec in layout.processes.items()}
        self._lock_fd = -1
        self._stop = False
        self._ctx = mp.get_context("fork")

    # --- start ----------------------------------------------------------------------------------

    def start(self) -> None:
        self._lock()
        try:
            for ring in RINGS:
                self.rings[ring] = Ring.create(
                    self.names[ring], slot_size=SLOT_SIZE, slot_count=self.layout.rings[ring].slots,
                    consumers=consumers_of(self.layout, ring), blocking=self.layout.rings[ring].blocking,
                    replace_stale=True)
            # operators' commands: any process may publish; every reader may block on it
            self.rings[CONTROL] = Ring.create(
                self.names[CONTROL], slot_size=SLOT_SIZE, slot_count=CONTROL_SLOTS, producer="multi",
                consumers=consumers_of(self.layout, CONTROL), blocking=True, replace_stale=True)
            for w in self.workers.values():
                self._spawn(w)
        except BaseException:
            self.shutdown()
            raise

    def _lock(self) -> None:
        self.lock_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise SupervisorBusy(f"rings {self.prefix!r} are supervised by pid {holder} (lock {self.lock_path}); "
                                 f"stop it first, or run this layout under another --prefix") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def _spawn(self, w: WorkerState) -> None:
        w.proc = self._ctx.Process(target=_worker_main, args=(self.body, w.spec, self.names),
                                   name=f"fxpipe-{w.spec.name}", daemon=False)
        w.proc.start()

    # --- watching -------------------------------------------------------------------------------

    def watch_once(self) -> None:
        now = time.monotonic()
        for w in self.workers.values():
            if w.given_up or w.proc is None or w.proc.exitcode is None:
                continue
            code = w.proc.exitcode
            if code == 0 and self._stop:
                continue
            w.restarts = [t for t in w.restarts if now - t < self.restart_window_s]
            if "oms" in w.spec.stages and not self.restart_oms:
                self._give_up(w, f"worker {w.spec.name} (pid {w.proc.pid}) exited with {code}; it holds the oms, "
                                 f"which this supervisor does not restart (restart_oms=False)")
            elif len(w.restarts) >= self.max_restarts:
                self._give_up(w, f"worker {w.spec.name} died {len(w.restarts) + 1} times within "
                                 f"{self.restart_window_s:g} s (last exit {code}); not restarted")
            else:
                how = ("it replays its journal and reconciles its orders with the venues before it sends again"
                       if "oms" in w.spec.stages else "it resumes after its last released event")
                self.alarm(f"ALARM worker {w.spec.name} (pid {w.proc.pid}) exited with {code}; restarting ({how})")
                w.restarts.append(now)
                self._spawn(w)
        for ring, r in self.rings.items():
            for c in r.stalled_consumers(self.stall_s):
                self.alarm(f"ALARM ring {self.names[ring]}: consumer {c} is alive but has not moved for "
                           f"{self.stall_s:g} s while events wait (producers block once the ring is full)")

    def _give_up(self, w: WorkerState, why: str) -> None:
        w.given_up = True
        detached = []
        for ring, name in process_readers(self.layout, w.spec.name).items():
            if self.rings[ring].detach(name):
                detached.append(f"{name}@{ring}")
        if "journal" in w.spec.stages:
            for ring in ALL_RINGS:
                if self.rings[ring].detach("journal"):
                    detached.append(f"journal@{ring}")
        self.alarm(f"ALARM {why}; detached {', '.join(detached) or 'nothing'} so producers are not wedged")

    def run(self, until: Callable[[], bool] = lambda: False) -> None:
        """start(), watch until a signal, stop() or until(), then shut down in order."""
        # signals reach the main thread only: a supervisor run from another thread is stopped by stop()
        in_main = threading.current_thread() is threading.main_thread()
        old = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)} if in_main else {}
        try:
            self.start()
            while not self._stop and not until():
                self.watch_once()
                time.sleep(self.watch_s)
        finally:
            self.shutdown()
            for s, h in old.items():
                signal.signal(s, h)

    def _on_signal(self, signum, frame) -> None:
        self._stop = True

    def stop(self) -> None:
        self._stop = True

    # --- shutdown -------------------------------------------------------------------------------

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Producers first: a ring is closed once its producer is gone, so its readers drain it."""
        self._stop = True
        order = sorted(self.workers.values(), key=_flow_rank)
        for w in order:
            self._stop_worker(w, timeout_s)
            for ring, stage in PRODUCER.items():
                if stage in w.spec.stages and ring in self.rings:
                    self.rings[ring].close_stream()
            if "oms" in w.spec.stages and CONTROL in self.rings:
                self.rings[CONTROL].close_stream()     # nobody left to act on a command
        for r in self.rings.values():
            r.close(unlink=True)
        self.rings.clear()
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    @staticmethod
    def _stop_worker(w: WorkerState, timeout_s: float) -> None:
        p = w.proc
        if p is None or p.exitcode is not None:
            return
        if p.pid is not None:
            os.kill(p.pid, signal.SIGTERM)
        p.join(timeout_s)
        if p.exitcode is None and p.pid is not None:
            os.kill(p.pid, signal.SIGKILL)
            p.join(timeout_s)


def _flow_rank(w: WorkerState) -> int:
    ranks = [FLOW.index(s) for s in w.spec.stages if s in FLOW]
    return min(ranks) if ranks else len(FLOW)


def _worker_main(body: WorkerBody, spec: ProcessSpec, names: dict[str, str]) -> None:
    stop = False

    def on_term(signum, frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)      # the supervisor decides the order of shutdown
    os.sched_setaffinity(0, {spec.core})
    if spec.sched_fifo:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        except PermissionError:
            print(f"fxpipe worker {spec.name}: SCHED_FIFO not permitted here; running SCHED_OTHER", flush=True)
    if spec.mlockall:
        _mlockall(spec.name)
    body(spec, names, lambda: stop)


def _mlockall(who: str) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mlockall(1 | 2) != 0:       # MCL_CURRENT | MCL_FUTURE
        print(f"fxpipe worker {who}: mlockall not permitted ({os.strerror(ctypes.get_errno())}); "
              f"pages may be swapped out", flush=True)
