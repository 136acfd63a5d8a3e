"""No fill lost in a crash: an fxpipe initiator (oms_child.py, an OMS in miniature) exchanging
orders and fills with the real QuickFIX engine as the venue (qf_peer.py, FileStore, no reset),
SIGKILLed at random moments and restarted on the same store; the venue killed and restarted
too. Every inbound message reaches the application at least once (it counts as received only
once on_message has returned), the application applies each fill once (by ExecID), no order
goes to the venue twice as new, neither side ever sees "MsgSeqNum too low", and every restart
logs on (no logon loops).

The random-kill test is marked `crash` (pytest -m crash); FXPIPE_CRASH_KILLS sets the number of
initiator kills per fsync policy (default 50, plus 3 venue kills each: 106 SIGKILLs in all, about
1.5 minutes on a loaded 2-core machine).
"""
from __future__ import annotations

import collections
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fix_session_harness import HERE, QfPeer, fields_of, free_port, qf_settings

KILLS = int(os.environ.get("FXPIPE_CRASH_KILLS", "50"))
VENUE_KILLS = 3
CHILD_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
FINISH_S = 60


def spawn(settings: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HERE / "oms_child.py"), json.dumps(settings)],
                            stdout=subprocess.PIPE, text=True, env=CHILD_ENV)


def finish(settings: dict, orders: int | None = None) -> dict:
    """Runs the OMS until every order (by default, every order it journaled) has its fill;
    returns its summary."""
    if orders is None:
        orders = sum(1 for line in Path(settings["journal"]).read_text().splitlines() if line.startswith("NEW "))
    child = spawn({**settings, "finish": True, "orders": max(orders, 1), "finish_s": FINISH_S})
    out, _ = child.communicate(timeout=FINISH_S + 30)
    summary = json.loads(out.strip().splitlines()[-1])
    assert child.returncode == 0 and summary["done"], f"the OMS did not get every fill: {summary}"
    return summary


def journal(path: Path) -> tuple[list[str], dict[str, int], list[tuple[str, str, str]]]:
    new, sent, fills = [], {}, []
    for line in path.read_text().splitlines(keepends=True):
        if not line.endswith("\n"):
            break
        rec = line.split()
        if rec[0] == "NEW":
            new.append(rec[1])
        elif rec[0] == "SENT":
            sent[rec[1]] = int(rec[2])
        else:
            fills.append((rec[1], rec[2], rec[3]))
    return new, sent, fills


def orders_at_venue(peers: list[QfPeer]) -> tuple[collections.Counter, set[str]]:
    """(ClOrdID -> times received as new, every ClOrdID received) over every venue process."""
    as_new: collections.Counter = collections.Counter()
    seen: set[str] = set()
    for qf in peers:
        for ev in qf.drain():
            if ev["event"] == "app" and "|35=D|" in ev["raw"]:
                f = fields_of(ev["raw"])
                seen.add(f[11])
                if f.get(43) != "Y":
                    as_new[f[11]] += 1
    return as_new, seen


def check_books(tmp: Path, settings: dict, peers: list[QfPeer], starts: int) -> None:
    new, sent, fills = journal(Path(settings["journal"]))
    exec_ids = collections.Counter(e for e, _, _ in fills)
    assert [e for e, n in exec_ids.items() if n > 1] == [], "a fill was applied twice"
    filled = {cl for _, cl, _ in fills}
    assert set(new) - filled == set(), "orders without their fill: fills lost"
    as_new, at_venue = orders_at_venue(peers)
    assert at_venue - filled == set(), "the venue filled orders whose fill never reached the OMS"
    assert [cl for cl, n in as_new.items() if n > 1] == [], "an order reached the venue twice as new"
    assert set(sent) <= at_venue, "orders the session took never reached the venue"
    fx_events = (tmp / "fx-log" / "OMS.events.log").read_text()
    qf_events = "".join(p.read_text(errors="replace") for p in (tmp / "qf-log").glob("*event*"))
    assert "too low" not in fx_events and "too low" not in qf_events
    logons = fx_events.count("logged on (")
    assert logons <= 2 * starts, f"{logons} logons for {starts} process starts: a logon loop"


@pytest.mark.crash
@pytest.mark.parametrize("fsync", ["always", "interval"])
def test_crash_no_fill_lost_under_random_sigkills(tmp_path, fsync):
    rng = random.Random(f"crash-{fsync}")
    port = free_port()
    qf_cfg = qf_settings(tmp_path, "acceptor", "QFVENUE", "FXPIPE", port)
    peers = [QfPeer(qf_cfg, "acceptor", auto_fill=True)]
    settings = dict(port=port, store_dir=str(tmp_path / "fx-store"), log_dir=str(tmp_path / "fx-log"),
                    fsync=fsync, journal=str(tmp_path / "journal"), orders=10**6, in_flight=2)
    venue_kill_rounds = set(rng.sample(range(1, KILLS), VENUE_KILLS))
    starts = 0
    try:
        for rnd in range(KILLS):
            child = spawn(settings)
            starts += 1
            time.sleep(rng.uniform(0.2, 1.2))  # a random moment: start-up, logon, resend, a callback
            child.kill()
            child.wait(10)
            child.stdout.close()
            if rnd in venue_kill_rounds:
                peers[-1].kill()
                peers.append(QfPeer(qf_cfg, "acceptor", auto_fill=True))
                starts += 1
        summary = finish(settings)
        starts += 1
        assert summary["fills"] >= KILLS // 2, f"too little traffic to mean anything: {summary}"
        check_books(tmp_path, settings, peers, starts)
    finally:
        for qf in peers:
            qf.stop()


def test_fill_of_a_crash_inside_on_message_comes_again_and_is_handled_once(tmp_path):
    """The application kills its own process inside on_message for one ExecutionReport, before
    journaling it; after the restart that report arrives again (PossDupFlag=Y) and is applied
    once."""
    port = free_port()
    qf = QfPeer(qf_settings(tmp_path, "acceptor", "QFVENUE", "FXPIPE", port), "acceptor", auto_fill=True)
    settings = dict(port=port, store_dir=str(tmp_path / "fx-store"), log_dir=str(tmp_path / "fx-log"),
                    fsync="interval", journal=str(tmp_path / "journal"), orders=3, in_flight=1,
                    die_on_exec_id="QFX-ORD-2", marker=str(tmp_path / "died"), finish=True)
    try:
        child = spawn(settings)
        child.communicate(timeout=60)
        assert child.returncode == -9 and (tmp_path / "died").exists(), "the OMS did not die in its callback"
        _, _, fills = journal(tmp_path / "journal")
        assert [e for e, _, _ in fills] == ["QFX-ORD-1"]
        finish(settings, orders=3)
        _, _, fills = journal(tmp_path / "journal")
        assert [e for e, _, _ in fills] == ["QFX-ORD-1", "QFX-ORD-2", "QFX-ORD-3"]
        assert dict((e, possdup) for e, _, possdup in fills)["QFX-ORD-2"] == "Y"
        died_seq = int((tmp_path / "died").read_text())
        log = (tmp_path / "fx-log" / "OMS.messages.log").read_text().splitlines()
        first = [ln for ln in log if " IN  " in ln and f"|34={died_seq}|" in ln and "|17=QFX-ORD-2|" in ln]
        assert len(first) == 2 and "|43=Y|" not in first[0] and "|43=Y|" in first[1], \
            "the message log holds the report as first processed and as resent"
    finally:
        qf.stop()
