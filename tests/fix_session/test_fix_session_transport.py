"""The TCP transport: fxpipe to fxpipe on 127.0.0.1, many sessions in one engine, acceptor
routing by comp ids, reconnect with back-off, the operator's message log."""
import socket
import threading

import pytest
from fix_session_harness import Recorder, Venue, free_port, fx_config, message_log, new_order, wait_until

from fxpipe.fix.session import wire
from fxpipe.fix.session.transport import Engine


class Loop:
    """One engine on a thread; stopped and closed at the end of the test."""

    def __init__(self):
        self.engine = Engine()
        self.stop_flag = threading.Event()
        self.thread = None

    def start(self):
        self.engine.start()
        self.thread = threading.Thread(target=self.engine.run, args=(self.stop_flag,), daemon=True)
        self.thread.start()

    def call(self, fn, *args):
        done = threading.Event()
        box = []
        self.engine.call_soon_threadsafe(lambda: (box.append(fn(*args)), done.set()))
        assert done.wait(10)
        return box[0]

    def close(self):
        self.stop_flag.set()
        if self.thread:
            self.thread.join(10)
        self.engine.stop(1.0)


@pytest.fixture
def loops():
    made = []
    yield lambda: made.append(Loop()) or made[-1]
    for lp in made:
        lp.close()


def test_many_sessions_in_one_engine_order_round_trip(tmp_path, loops):
    """Two venues on one port (routed by comp ids) and two clients, all in one process."""
    port = free_port()
    lp = loops()
    venues, clients = {}, {}
    for name in ("LPA", "LPB"):
        venues[name] = Venue()
        lp.engine.add_session(fx_config(tmp_path, "acceptor", name, f"DESK-{name}", port), venues[name])
        clients[name] = Recorder()
        lp.engine.add_session(fx_config(tmp_path, "initiator", f"DESK-{name}", name, port), clients[name])
    lp.start()
    for name in ("LPA", "LPB"):
        clients[name].events.get(timeout=10)
        sess = lp.engine.sessions[f"DESK-{name}-{name}"]
        wait_until(lambda s=sess: s.is_logged_on, "logon")
        lp.call(sess.send, "D", new_order(f"{name}-1"))
    for name in ("LPA", "LPB"):
        kind, msg = clients[name].events.get(timeout=10)
        assert kind == "app" and msg.msg_type == "8" and msg.get(11) == f"{name}-1".encode()
        assert msg.get_str(49) == name
    cfg = lp.engine.sessions["DESK-LPA-LPA"].cfg
    wait_until(lambda: "|11=LPA-1|" in message_log(cfg), "the order in the message log (flushed by the timer)")
    log = message_log(cfg)
    assert " OUT 8=FIX.4.2|" in log and " IN  8=FIX.4.2|" in log


def test_messages_split_across_many_small_reads_all_arrive_in_order(tmp_path, loops):
    """read_bytes bounds one read of a connection (a backlog is taken in steps); messages that
    span several reads are framed whole and delivered in order."""
    port = free_port()
    lp = loops()
    lp.engine.read_bytes = 37
    venue, client = Venue(), Recorder()
    lp.engine.add_session(fx_config(tmp_path, "acceptor", "LPA", "DESK", port), venue)
    lp.engine.add_session(fx_config(tmp_path, "initiator", "DESK", "LPA", port), client)
    lp.start()
    client.events.get(timeout=10)
    sess = lp.engine.sessions["DESK-LPA"]
    wait_until(lambda: sess.is_logged_on, "logon")
    for k in range(20):
        lp.call(sess.send, "D", new_order(f"ORD-{k}"))
    got = [client.events.get(timeout=10)[1].get(11) for _ in range(20)]
    assert got == [f"ORD-{k}".encode() for k in range(20)]


def test_unknown_comp_ids_are_refused(tmp_path, loops):
    port = free_port()
    lp = loops()
    lp.engine.add_session(fx_config(tmp_path, "acceptor", "LP", "DESK", port), Venue())
    lp.start()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(wire.encode("A", "STRANGER", "LP", 1, 0, [(98, 0), (108, 30)]))
        assert s.recv(100) == b""  # closed without a Logon reply


def test_second_connection_for_a_connected_session_is_refused(tmp_path, loops):
    port = free_port()
    lp = loops()
    lp.engine.add_session(fx_config(tmp_path, "acceptor", "LP", "DESK", port), Venue())
    lp.engine.add_session(fx_config(tmp_path, "initiator", "DESK", "LP", port), Recorder())
    lp.start()
    wait_until(lambda: lp.engine.sessions["LP-DESK"].is_logged_on, "logon")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(wire.encode("A", "DESK", "LP", 1, 0, [(98, 0), (108, 30)]))
        assert s.recv(100) == b""
    assert lp.engine.sessions["LP-DESK"].is_logged_on


def test_initiator_reconnects_with_back_off(tmp_path, loops):
    port = free_port()
    client = loops()
    sess = client.engine.add_session(fx_config(tmp_path, "initiator", "DESK", "LP", port,
                                               reconnect_min_s=0.05, reconnect_max_s=0.2), Recorder())
    client.start()
    ini = client.engine.initiators.all[0]
    wait_until(lambda: ini.backoff == 0.2, "back-off to reach its cap")
    events = (tmp_path / "fx-log" / "DESK-LP.events.log")
    wait_until(lambda: "ECONNREFUSED" in events.read_text(), "the refused connects in the event log")
    venue = loops()
    venue.engine.add_session(fx_config(tmp_path, "acceptor", "LP", "DESK", port), Venue())
    venue.start()
    wait_until(lambda: sess.is_logged_on, "logon once the venue is up")
    wait_until(lambda: ini.backoff == 0.05, "back-off reset after a good logon")


def test_engine_stop_logs_out(tmp_path, loops):
    port = free_port()
    venue = loops()
    vapp = Venue()
    venue.engine.add_session(fx_config(tmp_path, "acceptor", "LP", "DESK", port), vapp)
    venue.start()
    client = loops()
    client.engine.add_session(fx_config(tmp_path, "initiator", "DESK", "LP", port), Recorder())
    client.start()
    wait_until(lambda: client.engine.sessions["DESK-LP"].is_logged_on, "logon")
    client.stop_flag.set()
    client.thread.join(10)
    client.engine.stop(2.0)
    client.thread = None
    assert vapp.events.get(timeout=5)[0] == "logon"
    kind, reason = vapp.events.get(timeout=5)
    assert kind == "logout" and "shutting down" in reason


def test_listen_port_in_use_is_a_clear_error(tmp_path, loops):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        lp = loops()
        lp.engine.add_session(fx_config(tmp_path, "acceptor", "LP", "DESK", port), Venue())
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            lp.engine.start()


def test_wait_strategy_is_checked():
    with pytest.raises(ValueError, match="wait must be one of block, spin, backoff"):
        Engine(wait="nap")
    with pytest.raises(ValueError, match="spin_us must be >= 0"):
        Engine(wait="backoff", spin_us=-1)
    Engine(wait="spin").close()


class _RecordingSelector:
    """Wraps the engine's selector to record how long each poll was allowed to sleep."""

    def __init__(self, sel):
        self.sel, self.waits = sel, []

    def select(self, timeout):
        self.waits.append(timeout)
        return self.sel.select(timeout)

    def __getattr__(self, name):
        return getattr(self.sel, name)


def test_backoff_polls_after_socket_activity_then_sleeps():
    """backoff: no sleep while the last socket event is younger than the spin window (the
    answer to what was just sent is seen at once); once the window has passed, it sleeps."""
    engine = Engine(wait="backoff", spin_us=10_000_000)    # a 10 s window: deterministic here
    rec = engine.sel = _RecordingSelector(engine.sel)
    try:
        engine.poll(timeout=0.01)                            # the first round runs the timers
        engine.poll(timeout=0.01)
        assert rec.waits[-1] > 0, "no socket event yet: it may sleep"
        engine._wake_w.send(b"\0")                          # a socket event
        engine.poll(timeout=0.01)
        engine.poll(timeout=0.01)
        assert rec.waits[-1] == 0.0, "inside the window after an event: it polls"
        engine._spin_s = 0.0                                 # the window has passed
        engine.poll(timeout=0.01)
        assert rec.waits[-1] > 0
    finally:
        engine.close()


def test_backoff_engines_trade(tmp_path):
    """Two engines in backoff mode complete logon and an order round trip."""
    port = free_port()
    venue_loop, client_loop = Loop(), Loop()
    for lp in (venue_loop, client_loop):
        lp.engine = Engine(wait="backoff")
    try:
        venue = Venue()
        venue_loop.engine.add_session(fx_config(tmp_path, "acceptor", "LP", "DESK", port), venue)
        client = Recorder()
        client_loop.engine.add_session(fx_config(tmp_path, "initiator", "DESK", "LP", port), client)
        venue_loop.start()
        client_loop.start()
        client.events.get(timeout=10)
        sess = client_loop.engine.sessions["DESK-LP"]
        wait_until(lambda: sess.is_logged_on, "logon")
        client_loop.call(sess.send, "D", new_order("B-1"))
        kind, msg = client.events.get(timeout=10)
        assert kind == "app" and msg.msg_type == "8" and msg.get(11) == b"B-1"
    finally:
        client_loop.close()
        venue_loop.close()


def test_a_defect_in_one_session_drops_its_link_not_the_loop(tmp_path, loops):
    """An exception while handling one session's input (a defect, not bad input, which gets a
    Reject or Logout) drops that session's connection; the loop, and every other session on it,
    goes on, and the session logs on again."""
    port = free_port()
    lp = loops()
    venue = lp.engine.add_session(fx_config(tmp_path, "acceptor", "LP", "DESK", port), Venue())
    desk = lp.engine.add_session(fx_config(tmp_path, "initiator", "DESK", "LP", port), Recorder())
    lp.start()
    wait_until(lambda: venue.is_logged_on and desk.is_logged_on, "logon")
    real = venue._on_frame
    broken = {"once": True}

    def on_frame(frame):
        if broken.pop("once", False):
            raise RuntimeError("a defect")
        real(frame)
    venue._on_frame = on_frame
    lp.call(desk.send_test_request, "PING")
    wait_until(lambda: "failed handling input (RuntimeError: a defect)" in
               (tmp_path / "fx-log" / "LP-DESK.events.log").read_text(), "the defect in the event log")
    wait_until(lambda: venue.is_logged_on and desk.is_logged_on, "logon again")
    assert lp.thread.is_alive()
