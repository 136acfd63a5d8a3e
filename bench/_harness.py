"""Shared harness for every benchmark in bench/: arguments, host fingerprint, HDR latency
histograms, the results table, the JSON record, `perf stat` counters and CPU pinning.

Every benchmark writes the same JSON shape:
    {"bench": NAME, "host": {...}, "results": [{"system", "metric", "unit", "value"}]}
with system = "fxpipe" or the peer's name, so records from different runs compare directly.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from hdrh.histogram import HdrHistogram

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"


def parse_args(name: str, description: str, argv=None, extra=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=f"bench {name}", description=description)
    p.add_argument("--quick", action="store_true", help="a run that finishes in under a minute")
    p.add_argument("--json", metavar="FILE", help="write the JSON record here (default bench/out/NAME.json)")
    p.add_argument("--plot", metavar="FILE", help="write the PNG plot here (default bench/out/NAME.png)")
    p.add_argument("--cores", metavar="A,B", help="the two cores to pin to (default: the last two allowed)")
    if extra:
        extra(p)
    args = p.parse_args(argv)
    OUT_DIR.mkdir(exist_ok=True)
    args.json = args.json or str(OUT_DIR / f"{name}.json")
    args.plot = args.plot or str(OUT_DIR / f"{name}.png")
    return args


def allowed_cores() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def pick_cores(spec: str | None, n: int = 2) -> list[int]:
    """The cores a benchmark pins to: --cores, else the last n the process may use."""
    cores = allowed_cores()
    if spec:
        wanted = [int(c) for c in spec.split(",")]
        missing = [c for c in wanted if c not in cores]
        if missing:
            raise SystemExit(f"--cores {spec}: cores {missing} are not available (allowed: {cores})")
        return wanted
    if len(cores) < n:
        return [cores[i % len(cores)] for i in range(n)]
    return cores[-n:]


def pin(core: int) -> None:
    os.sched_setaffinity(0, {core})


def host_info() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import numpy

    return {
        "hostname": platform.node(),
        "cpu": cpu,
        "cores_online": os.cpu_count(),
        "cores_allowed": allowed_cores(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "isolated": _read("/sys/devices/system/cpu/isolated"),
        "governor": _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return "n/a"


def new_histogram(max_ns: int = 10_000_000_000) -> HdrHistogram:
    """Nanosecond histogram, 3 significant digits, 1 ns .. max_ns."""
    return HdrHistogram(1, max_ns, 3)


def histogram_from_ns(samples) -> HdrHistogram:
    h = new_histogram()
    for v in samples:
        h.record_value(max(1, int(v)))
    return h


@dataclass
class Results:
    bench: str
    rows: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, system: str, metric: str, unit: str, value) -> None:
        self.rows.append({"system": system, "metric": metric, "unit": unit, "value": value})

    def add_latency(self, system: str, what: str, hist: HdrHistogram, unit: str = "us") -> None:
        """p50/p99/p99.9/max of a nanosecond histogram, reported in µs."""
        div = 1000.0 if unit == "us" else 1.0
        for label, q in (("p50", 50.0), ("p99", 99.0), ("p99.9", 99.9)):
            self.add(system, f"{what} {label}", unit, round(hist.get_value_at_percentile(q) / div, 4))
        self.add(system, f"{what} max", unit, round(hist.get_max_value() / div, 4))

    def value(self, system: str, metric: str):
        for r in self.rows:
            if r["system"] == system and r["metric"] == metric:
                return r["value"]
        return None

    def table(self) -> str:
        w_sys = max([len("system")] + [len(r["system"]) for r in self.rows])
        w_met = max([len("metric")] + [len(r["metric"]) for r in self.rows])
        lines = [f"{'system':<{w_sys}}  {'metric':<{w_met}}  {'value':>14}  unit"]
        lines.append("-" * len(lines[0]))
        for r in self.rows:
            v = r["value"]
            vs = f"{v:>14,.3f}" if isinstance(v, float) else f"{v!s:>14}"
            lines.append(f"{r['system']:<{w_sys}}  {r['metric']:<{w_met}}  {vs}  {r['unit']}")
        return "\n".join(lines)

    def write(self, path: str, extra: dict | None = None) -> None:
        record = {"bench": self.bench, "host": host_info(), "results": self.rows}
        if self.notes:
            record["notes"] = self.notes
        if extra:
            record.update(extra)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(record, indent=2) + "\n")

    def finish(self, args) -> None:
        print(self.table())
        for n in self.notes:
            print(f"note: {n}")
        self.write(args.json)
        print(f"\nJSON: {args.json}")


# --- perf stat -------------------------------------------------------------------------------

PERF_EVENTS = "cycles,instructions,cache-misses"


def perf_supported() -> tuple[bool, str]:
    """Whether `perf stat` can count hardware events here, and why not when it cannot."""
    perf = shutil.which("perf")
    if not perf:
        return False, "perf not installed (Debian: apt-get install linux-perf)"
    try:
        r = subprocess.run([perf, "stat", "-x,", "-e", "instructions", "true"],
                           capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"perf failed to run: {exc}"
    if r.returncode != 0 or "<not supported>" in r.stderr or "<not counted>" in r.stderr:
        first = (r.stderr.strip().splitlines() or ["no output"])[0]
        return False, f"hardware counters not supported here ({first})"
    return True, ""


class PerfStat:
    """`perf stat` attached to given pids for exactly the measured window.

    with PerfStat([pid_a, pid_b]) as ps: ...measured work...
    ps.counters -> {"cycles": n, "instructions": n, "cache-misses": n} or {} with ps.reason.
    """

    def __init__(self, pids):
        self.pids = [int(p) for p in pids]
        self.counters: dict[str, float] = {}
        ok, self.reason = perf_supported()
        self.enabled = ok
        self._proc = None

    def __enter__(self):
        if self.enabled:
            self._proc = subprocess.Popen(
                ["perf", "stat", "-x,", "-e", PERF_EVENTS, "-p", ",".join(map(str, self.pids))],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            time.sleep(0.05)  # let perf attach before the window opens
        return self

    def __exit__(self, *exc):
        if self._proc is None:
            return False
        self._proc.send_signal(signal.SIGINT)
        try:
            _, err = self._proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            _, err = self._proc.communicate()
        for line in err.splitlines():
            parts = line.split(",")
            if len(parts) >= 3 and parts[2] in PERF_EVENTS.split(","):
                try:
                    self.counters[parts[2]] = float(parts[0])
                except ValueError:
                    self.reason = f"{parts[2]}: {parts[0]}"
        if not self.counters and not self.reason:
            self.reason = "perf reported no counters"
        return False

    def report(self, results: Results, system: str, events: int) -> None:
        """Counters per event, or one 'not supported' row saying why."""
        if not self.counters:
            results.add(system, "perf stat", "text", f"not supported: {self.reason}")
            return
        for k, v in self.counters.items():
            results.add(system, f"{k} per event", "count", round(v / max(1, events), 2))


def plot_latency_cdf(path: str, series: dict, title: str) -> str | None:
    """Percentile plot (HdrHistogram style, log x of 1/(1-q)) of {label: HdrHistogram}."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    qs = [50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99]
    fig, ax = plt.subplots(figsize=(9, 5.5))
    for label, h in series.items():
        ys = [h.get_value_at_percentile(q) / 1000.0 for q in qs]
        xs = [1.0 / (1.0 - q / 100.0) for q in qs]
        ax.plot(xs, ys, marker="o", markersize=3, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks([1.0 / (1.0 - q / 100.0) for q in qs])
    ax.set_xticklabels([f"{q}%" for q in qs], rotation=30)
    ax.set_ylabel("latency (µs, log)")
    ax.set_xlabel("percentile")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
