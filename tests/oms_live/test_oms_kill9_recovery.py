"""kill -9 of the OMS process at random points of an order storm against the venue simulator,
restarted each time from its journal: afterwards no order is lost or duplicated at the venue
and the positions equal the sum of the venue's fills, read from the simulator's own message
log. FXPIPE_OMS_KILLS sets the number of kills (50 by default)."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from session_doubles import free_port
from venue_harness import ROOT, VenueProcess

HERE = Path(__file__).resolve().parent
KILLS = int(os.environ.get("FXPIPE_OMS_KILLS", "50"))


class StormVenue(VenueProcess):
    """The simulator with sequence numbers that survive a client's restart, so what it sent
    while the OMS was dead comes again on a ResendRequest."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        tmp.mkdir(parents=True, exist_ok=True)
        self.ecn_port, self.lp_port = free_port(), free_port()
        self.config = tmp / "venues.toml"
        self.config.write_text(
            f"[market]\nseed = 11\npace = \"step\"\nrate = 0\n"
            f"[session]\nstore_dir = \"{tmp / 'venue-store'}\"\nlog_dir = \"{tmp / 'venue-log'}\"\n"
            f"heartbeat_s = 30\nfsync = \"never\"\nreset_on_logon = false\n"
            f"[venues.ecn]\nport = {self.ecn_port}\ncomp_id = \"ECN1\"\nclients = [\"FXPIPE\"]\n"
            f"symbol_format = \"slash\"\ndepth = 5\n"
            f"level_sizes = [100000000, 100000000, 100000000, 100000000, 100000000]\n"
            f"required_tags = {{ D = [21, 60] }}\n"
            f"[venues.lp]\nport = {self.lp_port}\ncomp_id = \"LP1\"\nclients = [\"FXPIPE\"]\n"
            f"symbol_format = \"concat\"\n")
        env = dict(os.environ, PYTHONPATH=f"{ROOT / 'src'}:{ROOT}")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fxpipe", "venue", "--config", str(self.config), "--control-port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.lines: list[str] = []
        self.stderr: list[str] = []
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()
        if not self._ready.wait(30):
            self.stop()
            raise AssertionError(f"venue did not start: {''.join(self.stderr)[-2000:]}")
        self.ready = json.loads(self.lines[0])
        self.control_port = self.ready["control_port"]


def fields(line: str) -> dict[int, str]:
    body = line.split(" ", 2)[-1].strip()
    out: dict[int, str] = {}
    for part in body.split("|"):
        if "=" in part:
            tag, _, value = part.partition("=")
            out.setdefault(int(tag), value)
    return out


def venue_record(log: Path) -> tuple[list[str], dict[str, tuple[str, int]], list[str]]:
    """(ClOrdIDs of the new orders the venue received, not resends; its fills by ExecID as
    (side, LastShares e2); the duplicate-ClOrdID rejects it sent)."""
    news, fills, dup_rejects = [], {}, []
    for line in log.read_text().splitlines():
        if " IN " in line[:30] and "|35=D|" in line:
            f = fields(line)
            if f.get(43) != "Y":
                news.append(f[11])
        elif " OUT " in line[:30] and "|35=8|" in line:
            f = fields(line)
            if f.get(150) in ("1", "2") and f.get(20) == "0":
                fills[f[17]] = (f[54], round(float(f[32]) * 100))
            if f.get(150) == "8" and f.get(103) == "6":
                dup_rejects.append(f[11])
    return news, fills, dup_rejects


def child(tmp: Path, v: StormVenue, mode: str, seed: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=f"{ROOT / 'src'}:{ROOT}")
    return subprocess.Popen([sys.executable, str(HERE / "oms_storm_child.py"), str(tmp), str(v.ecn_port),
                             str(v.lp_port), mode, str(seed)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def wait_ready(p: subprocess.Popen, timeout: float = 60.0) -> None:
    line: list[str] = []
    t = threading.Thread(target=lambda: line.append(p.stdout.readline()), daemon=True)
    t.start()
    t.join(timeout)
    assert line and line[0].strip() == "ready", f"OMS child not ready: {line} {p.stderr.read() if p.poll() is not None else ''}"


def test_kill_9_during_an_order_storm_loses_and_duplicates_nothing(tmp_path):
    v = StormVenue(tmp_path / "venue")
    rng = random.Random(2024)
    try:
        for k in range(KILLS):
            p = child(tmp_path / "oms", v, "storm", k)
            try:
                wait_ready(p)
                time.sleep(rng.uniform(0.01, 0.25))    # the kill point: anywhere in the storm
            finally:
                p.send_signal(signal.SIGKILL)
                p.wait(10)
        p = child(tmp_path / "oms", v, "settle", 0)
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err[-3000:]
        result = json.loads(out.strip().splitlines()[-1])
    finally:
        v.stop()
    news, fills, dup_rejects = venue_record(tmp_path / "venue" / "venue-log" / "ecn-FXPIPE.messages.log")
    assert news, "the storm sent no orders"
    assert len(news) == len(set(news)), "an order reached the venue twice as new"
    assert not dup_rejects
    orders = result["orders"]
    assert set(news) <= set(orders), f"orders at the venue the OMS does not know: {set(news) - set(orders)}"
    venue_net = sum(q if side == "1" else -q for side, q in fills.values())
    assert result["net_e2"] == venue_net
    assert result["unknown"] == 0
    assert result["filled"] > 0
