"""fxpipe against the real QuickFIX engine, both ways, on 127.0.0.1 with free ports.

QuickFIX runs in its own process (qf_peer.py) with FileStore, FileLog and the FIX 4.2 data
dictionary switched on, so it validates every message fxpipe sends. Each test covers logon,
orders and execution reports, a forced sequence gap and its resend, a restart with sequence
numbers kept, TestRequest/Heartbeat, and logout.
"""
import time

import pytest
from fix_session_harness import (
    FxSide,
    QfPeer,
    Venue,
    fields_of,
    free_port,
    fx_config,
    message_log,
    new_order,
    qf_settings,
    wait_until,
)

from fxpipe.fix.codec import Encoder
from fxpipe.fix.session.store import FileStore


@pytest.fixture
def cleanup():
    started = []
    yield started
    for thing in reversed(started):
        thing.stop()


def test_fxpipe_initiator_with_quickfix_acceptor(tmp_path, cleanup):
    port = free_port()
    qf = QfPeer(qf_settings(tmp_path, "acceptor", "QFVENUE", "FXPIPE", port), "acceptor", auto_fill=True)
    cleanup.append(qf)
    cfg = fx_config(tmp_path, "initiator", "FXPIPE", "QFVENUE", port)
    fx = FxSide(cfg)
    cleanup.append(fx)

    # logon, then an order and its fill
    fx.wait("logon")
    qf.wait(lambda e: e["event"] == "logon")
    seq = fx.call(fx.session.send, "D", new_order("ORD-1"))
    assert seq == 2
    order = fields_of(qf.wait(lambda e: e["event"] == "app")["raw"])
    assert order[35] == "D" and order[11] == "ORD-1" and order[44] == "1.08512"
    fill = fx.wait("app", lambda m: m.msg_type == "8")
    assert fill.get(11) == b"ORD-1" and fill.get(39) == b"2" and fill.get_scaled(31, 8) == 108512000

    # gap from QuickFIX: it skips 5 numbers; fxpipe asks once, QuickFIX gap-fills, flow goes on
    qf.set_next(sender=qf.seqnums()[0] + 5)
    fx.call(fx.session.send, "D", new_order("ORD-2"))
    fill = fx.wait("app", lambda m: m.msg_type == "8")
    assert fill.get(11) == b"ORD-2"
    resend_req = fields_of(qf.wait(lambda e: e["event"] == "admin_in" and "|35=2|" in e["raw"])["raw"])
    assert resend_req[16] == "0"
    wait_until(lambda: fx.session.store.next_target == qf.seqnums()[0], "fxpipe to catch up with QuickFIX")

    # gap the other way: QuickFIX forgets our last two; it asks, fxpipe resends with PossDup
    # QuickFIX counts a message after its callback returns: wait until it has counted ours
    wait_until(lambda: qf.seqnums()[1] == fx.session.store.next_sender, "QuickFIX to count our messages")
    qf.set_next(target=qf.seqnums()[1] - 2)
    fx.call(fx.session.send, "D", new_order("ORD-3"))
    resent = fields_of(qf.wait(lambda e: e["event"] == "app" and "|43=Y|" in e["raw"])["raw"])
    assert resent[35] == "D" and 122 in resent
    wait_until(lambda: qf.seqnums()[1] == fx.session.store.next_sender, "QuickFIX to catch up with fxpipe")

    # TestRequest both ways
    fx.call(fx.session.send_test_request, "FX-PING")
    wait_until(lambda: any(" IN  " in line and "|35=0|" in line and "|112=FX-PING|" in line
                           for line in message_log(cfg).splitlines()), "QuickFIX's Heartbeat to our TestRequest")
    qf.cmd("test_request", id="QF-PING")
    hb = fields_of(qf.wait(lambda e: e["event"] == "admin_in" and "|112=QF-PING|" in e["raw"])["raw"])
    assert hb[35] == "0"

    # restart fxpipe: the store keeps the numbers, QuickFIX accepts the Logon without a reset
    out_before, in_before = fx.session.store.next_sender, fx.session.store.next_target
    cleanup.remove(fx)
    fx.stop()
    qf.wait(lambda e: e["event"] == "logout")
    fx = FxSide(cfg)
    cleanup.append(fx)
    fx.wait("logon")
    qf.wait(lambda e: e["event"] == "logon")
    assert fx.session.store.next_sender > out_before and fx.session.store.next_target > in_before
    fx.call(fx.session.send, "D", new_order("ORD-4"))
    assert fx.wait("app", lambda m: m.msg_type == "8").get(11) == b"ORD-4"
    # QuickFIX counts ORD-4 only after the callback that sent its fill returns
    wait_until(lambda: qf.seqnums() == (fx.session.store.next_target, fx.session.store.next_sender),
               "both sides to agree on the numbers after the restart")

    # logout by fxpipe
    fx.call(fx.session.logout, "end of test")
    qf.wait(lambda e: e["event"] == "logout")
    fx.wait("logout")


def test_quickfix_initiator_with_fxpipe_acceptor(tmp_path, cleanup):
    port = free_port()
    cfg = fx_config(tmp_path, "acceptor", "FXVENUE", "QFCLIENT", port)
    fx = FxSide(cfg, Venue())
    cleanup.append(fx)
    settings = qf_settings(tmp_path, "initiator", "QFCLIENT", "FXVENUE", port)
    qf = QfPeer(settings, "initiator")
    cleanup.append(qf)

    fx.wait("logon")
    qf.wait(lambda e: e["event"] == "logon")
    qf.send("D", new_order("Q-1"))
    fill = fields_of(qf.wait(lambda e: e["event"] == "app")["raw"])
    assert fill[35] == "8" and fill[11] == "Q-1" and fill[14] == "1000000"
    assert fx.wait("app").get(11) == b"Q-1"

    # QuickFIX skips numbers: fxpipe sends one ResendRequest and takes QuickFIX's gap fill
    qf.set_next(sender=qf.seqnums()[0] + 3)
    qf.send("D", new_order("Q-2"))
    assert fx.wait("app").get(11) == b"Q-2"
    qf.wait(lambda e: e["event"] == "app" and "|11=Q-2|" in e["raw"])
    wait_until(lambda: fx.session.store.next_target == qf.seqnums()[0], "fxpipe to fill the gap")
    assert fx.session.gaps.requests_sent == 1
    assert "ResendRequest" in (tmp_path / "fx-log" / f"{cfg.name}.events.log").read_text()

    # QuickFIX asks fxpipe to resend: fills come again with PossDup and OrigSendingTime
    # QuickFIX counts a message after its callback returns: wait until it has counted ours
    wait_until(lambda: qf.seqnums()[1] == fx.session.store.next_sender, "QuickFIX to count our messages")
    qf.set_next(target=qf.seqnums()[1] - 2)
    qf.send("D", new_order("Q-3"))
    resent = fields_of(qf.wait(lambda e: e["event"] == "app" and "|43=Y|" in e["raw"])["raw"])
    assert resent[35] == "8" and resent[11] == "Q-2" and 122 in resent
    wait_until(lambda: qf.seqnums() == (fx.session.store.next_target, fx.session.store.next_sender),
               "both sides to agree on the numbers")

    # TestRequest from QuickFIX answered; and ours answered
    qf.cmd("test_request", id="QF-PING")
    qf.wait(lambda e: e["event"] == "admin_in" and "|112=QF-PING|" in e["raw"])
    fx.call(fx.session.send_test_request, "FX-PING")
    qf.wait(lambda e: e["event"] == "admin_out" and "|112=FX-PING|" in e["raw"])

    # restart QuickFIX: its FileStore keeps the numbers; fxpipe accepts the Logon that follows
    numbers = qf.seqnums()
    cleanup.remove(qf)
    qf.stop()
    fx.wait("logout")
    qf = QfPeer(settings, "initiator")
    cleanup.append(qf)
    qf.wait(lambda e: e["event"] == "logon")
    fx.wait("logon")
    assert qf.seqnums()[0] >= numbers[0]
    qf.send("D", new_order("Q-4"))
    assert fields_of(qf.wait(lambda e: e["event"] == "app" and "|11=Q-4|" in e["raw"])["raw"])[39] == "2"

    # logout by QuickFIX
    qf.cmd("logout", text="done")
    fx.wait("logout")
    qf.wait(lambda e: e["event"] == "logout")


def test_one_resend_request_suffices_after_a_restart_where_both_sides_were_behind(tmp_path, cleanup):
    """A restart after a crash: QuickFIX never got our last orders (stored, then the process
    died before writing them) and we never counted its last message. Our Logon is too high for
    QuickFIX and its Logon too high for us: each asks for a resend. QuickFIX has processed our
    Logon by the time our gap fills reach it, so the Logon's number is gap-filled alone; the
    numbers after it (our own ResendRequest) come in a gap fill QuickFIX takes. One
    ResendRequest from QuickFIX suffices, and the orders arrive once, as PossDup resends."""
    port = free_port()
    qf = QfPeer(qf_settings(tmp_path, "acceptor", "QFVENUE", "FXPIPE", port), "acceptor", auto_fill=True)
    cleanup.append(qf)
    cfg = fx_config(tmp_path, "initiator", "FXPIPE", "QFVENUE", port)
    fx = FxSide(cfg)
    fx.wait("logon")
    fx.call(fx.session.send, "D", new_order("ORD-1"))
    fx.wait("app", lambda m: m.msg_type == "8")
    wait_until(lambda: qf.seqnums() == (fx.session.store.next_target, fx.session.store.next_sender),
               "both sides to agree on the numbers")
    fx.stop(logout=False)
    qf.wait(lambda e: e["event"] == "logout")

    store = FileStore(cfg.store_path)
    store.open(0)
    encoder = Encoder(cfg.sender_comp_id, cfg.target_comp_id)
    for cl in ("LATE-1", "LATE-2"):
        store.save_sent(store.next_sender, encoder.encode("D", store.next_sender, time.time_ns(), new_order(cl)))
    store.set_next_target(store.next_target - 1)  # QuickFIX's Logout reply was never counted
    store.close()
    qf.drain()
    requests_before = sum(1 for e in qf.seen if e["event"] == "admin_out" and "|35=2|" in e["raw"])

    fx = FxSide(cfg)
    cleanup.append(fx)
    fx.wait("logon")
    for cl in ("LATE-1", "LATE-2"):
        fx.wait("app", lambda m, cl=cl: m.msg_type == "8" and m.get(11) == cl.encode())
    wait_until(lambda: qf.seqnums() == (fx.session.store.next_target, fx.session.store.next_sender),
               "both sides to agree on the numbers")
    fx.call(fx.session.send, "D", new_order("ORD-2"))
    fx.wait("app", lambda m: m.msg_type == "8" and m.get(11) == b"ORD-2")
    qf.drain()
    requests = [e["raw"] for e in qf.seen if e["event"] == "admin_out" and "|35=2|" in e["raw"]]
    assert len(requests) - requests_before == 1, f"QuickFIX asked more than once: {requests[requests_before:]}"
    orders = [fields_of(e["raw"]) for e in qf.seen if e["event"] == "app" and "|35=D|" in e["raw"]]
    late = [o for o in orders if o[11].startswith("LATE-")]
    assert [o[11] for o in late] == ["LATE-1", "LATE-2"] and all(o.get(43) == "Y" for o in late)
