"""The transport's public hooks: an acceptor's logon policy (accept, refuse with a Logout, hold a
Logon and answer it late) and pause_reading / resume_reading per session, observed on the wire
by a real fxpipe initiator or a raw socket on 127.0.0.1. Both engines run in the test's thread."""
import socket
import time

import pytest
from fix_session_harness import Recorder, free_port, fx_config, message_log

from fxpipe.fix.session import wire
from fxpipe.fix.session.logon import LogonDecision
from fxpipe.fix.session.transport import Engine

WAIT_S = 20.0


class Pair:
    """An acceptor engine (LP) and an initiator engine (DESK), polled from the test."""

    def __init__(self, tmp_path, policy=None, connect=True):
        self.port = free_port()
        self.acceptor = Engine(tick_s=0.02)
        self.acceptor.logon_policy = policy
        self.lp_app, self.desk_app = Recorder(), Recorder()
        self.lp = self.acceptor.add_session(fx_config(tmp_path, "acceptor", "LP", "DESK", self.port), self.lp_app)
        self.acceptor.start()
        self.initiator = None
        if connect:
            self.initiator = Engine(tick_s=0.02)
            self.desk = self.initiator.add_session(
                fx_config(tmp_path, "initiator", "DESK", "LP", self.port, reconnect_min_s=0.05), self.desk_app)
            self.initiator.start()

    def poll(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.step()

    def step(self) -> None:
        if self.acceptor.sel.get_map() is not None:  # not closed by the test
            self.acceptor.poll(0.002)
        if self.initiator is not None:
            self.initiator.poll(0.002)

    def until(self, pred, what: str):
        deadline = time.monotonic() + WAIT_S
        while not (got := pred()):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {WAIT_S} s")
            self.step()
        return got

    def close(self) -> None:
        for e in (self.initiator, self.acceptor):
            if e is not None:
                e.close()


@pytest.fixture
def pairs(tmp_path):
    made = []

    def make(**kw):
        made.append(Pair(tmp_path / f"pair{len(made)}", **kw))
        return made[-1]

    yield make
    for p in made:
        p.close()


def drain(q) -> list:
    out = []
    while not q.empty():
        out.append(q.get())
    return out


def test_logon_policy_refuses_with_a_logout_then_accepts_the_next(pairs):
    asked = []

    def policy(session):
        asked.append(session.cfg.name)
        return LogonDecision.refuse("not today") if len(asked) == 1 else LogonDecision.accept()

    p = pairs(policy=policy)
    p.until(lambda: p.desk.is_logged_on, "logon after the refusal")
    assert asked == ["LP-DESK", "LP-DESK"]  # once per connection
    assert [k for k, _ in drain(p.lp_app.events)] == ["logon"]  # the refused one never reached the app
    log = message_log(p.lp.cfg)
    refused = [line for line in log.splitlines() if "|35=5|" in line]
    assert refused[0].split()[1] == "OUT" and "|58=not today|" in refused[0]
    assert "|34=1|" in refused[0]  # numbered and stored like any message the session sends
    p.lp.log.flush()
    assert "Logon refused by the logon policy: not today" in (p.lp.log.dir / "LP-DESK.events.log").read_text()


def test_logon_policy_hold_answers_late_and_keeps_what_arrived(pairs):
    p = pairs(policy=lambda session: LogonDecision.hold(0.3), connect=False)
    with socket.create_connection(("127.0.0.1", p.port), timeout=5) as s:
        s.setblocking(False)
        now = time.time_ns()
        s.sendall(wire.encode("A", "DESK", "LP", 1, now, [(98, 0), (108, 30)]))
        p.poll(0.05)
        s.sendall(wire.encode("1", "DESK", "LP", 2, now, [(112, "HELD")]))  # sent while the Logon is held
        got = bytearray()
        sent_at = time.monotonic()

        def read():
            try:
                got.extend(s.recv(4096))
            except BlockingIOError:
                pass
            return b"112=HELD" in got

        p.until(read, "the Logon answer and the Heartbeat for the TestRequest")
        assert time.monotonic() - sent_at >= 0.2
        assert got.index(b"35=A") < got.index(b"35=0")
        assert p.lp.is_logged_on


def test_pause_reading_until_resumed_while_writes_go_on(pairs):
    p = pairs()
    p.until(lambda: p.lp.is_logged_on and p.desk.is_logged_on, "logon")
    assert p.acceptor.resume_reading(p.lp) is False  # not paused
    assert p.acceptor.pause_reading(p.lp) is True
    assert p.acceptor.pause_reading(p.lp) is False  # already paused
    seen_in = p.lp.store.next_target
    p.desk.send_test_request("WHILE-PAUSED")
    p.lp.send("8", [(37, "O1"), (17, "E1"), (20, "0"), (150, "0"), (39, "0"), (11, "C1"), (55, "EUR/USD"),
                    (54, "1"), (38, "1000000"), (151, "1000000"), (14, "0"), (6, "0")])
    p.until(lambda: any(k == "app" for k, _ in drain(p.desk_app.events)), "the report written while paused")
    p.poll(0.3)
    assert p.lp.store.next_target == seen_in  # the TestRequest waits unread in the kernel
    assert p.acceptor.resume_reading(p.lp) is True
    p.until(lambda: p.lp.store.next_target == seen_in + 1, "the TestRequest, read after the resume")
    p.until(lambda: message_log(p.desk.cfg).count("|112=WHILE-PAUSED|") == 2, "the Heartbeat answering it")


def test_timed_pause_resumes_by_itself(pairs):
    p = pairs()
    p.until(lambda: p.lp.is_logged_on and p.desk.is_logged_on, "logon")
    seen_in = p.lp.store.next_target
    assert p.acceptor.pause_reading(p.lp, 0.3)
    p.desk.send_test_request("TIMED")
    p.poll(0.1)
    assert p.lp.store.next_target == seen_in
    p.until(lambda: p.lp.store.next_target == seen_in + 1, "reading again after 0.3 s")


def test_pause_reading_needs_a_connection_and_ends_with_it(pairs):
    p = pairs(connect=False)
    assert p.acceptor.pause_reading(p.lp) is False and p.acceptor.resume_reading(p.lp) is False
    q = pairs()
    q.until(lambda: q.lp.is_logged_on, "logon")
    assert q.acceptor.pause_reading(q.lp)
    link = q.lp.link
    q.acceptor.close()  # a paused connection, out of the selector, is still closed with the engine
    assert not link.open and q.lp.link is None
    assert [k for k, _ in drain(q.lp_app.events)] == ["logon", "logout"]
    q.until(lambda: not q.desk.is_logged_on, "the initiator to see the connection go")
