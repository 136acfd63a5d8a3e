"""Resends in bounded chunks (no resend storm) and sends outside a logged-on session."""
import pytest
from session_doubles import RecordingApp
from test_fix_session_scenarios import FakeClock, FakeLink

from fxpipe.fix.session import wire
from fxpipe.fix.session.config import SessionConfig
from fxpipe.fix.session.session import Session, SessionNotLoggedOn
from fxpipe.fix.session.store import FileStore


def make_session(tmp_path, **over):
    values = dict(name="t", role="acceptor", sender_comp_id="FX", target_comp_id="CP", host="127.0.0.1", port=1,
                  store_dir=str(tmp_path / "store"), log_dir=str(tmp_path / "log"), fsync="never")
    values.update(over)
    cfg = SessionConfig(**values)
    clock = FakeClock()
    store = FileStore(cfg.store_path, "never")
    store.open(clock.now)
    return Session(cfg, store, RecordingApp(), clock), clock


def incoming(clock, mt, seq, body=()):
    return wire.encode(mt, "CP", "FX", seq, clock.now, list(body))


def logged_on(tmp_path, **over):
    s, clock = make_session(tmp_path, **over)
    link = FakeLink()
    s.connected(link)
    s.data_received(incoming(clock, "A", 1, [(98, 0), (108, 30)]))
    assert s.is_logged_on
    return s, clock, link


ORDER = [(11, "C"), (21, "1"), (55, "EUR/USD"), (54, "1"), (60, "20240306-12:00:00"), (40, "1")]


def test_resend_storms_streamed_in_bounded_chunks(tmp_path):
    """A ResendRequest for 1000 messages is answered chunk by chunk as the link drains."""
    s, clock, link = logged_on(tmp_path, resend_chunk=100)
    for _ in range(1000):
        s.send("D", ORDER)
    link.sent.clear()
    link.congested = True  # the socket is full after every chunk
    s.resends.high_water = 1
    s.data_received(incoming(clock, "2", 2, [(7, 1), (16, 0)]))
    assert len(link.sent) == 100  # one chunk: the logon's gap fill + 99 orders
    assert link.sent[0].find(b"\x01123=Y\x01") > 0
    chunks = 1
    while s.resending:
        held = len(link.sent)
        s.on_timer()  # a timer tick does not push more into a full socket
        assert len(link.sent) == held
        link.backlog_bytes = 0
        s.on_drain()
        chunks += 1
        assert chunks < 20
    assert chunks == 11  # 1001 numbers in chunks of 100, the last one closes the job
    seqs = [wire.parse(m, validate=False).seq_num for m in link.sent]
    assert seqs == list(range(1, 1002))
    assert all(wire.parse(m, validate=False).get(43) == b"Y" for m in link.sent)


def test_new_messages_wait_for_the_resend(tmp_path):
    """Messages sent while a resend streams go out after it, so numbers stay in order."""
    s, clock, link = logged_on(tmp_path, resend_chunk=2)
    for _ in range(4):
        s.send("D", ORDER)
    link.sent.clear()
    link.congested = True
    s.resends.high_water = 1
    s.data_received(incoming(clock, "2", 2, [(7, 2), (16, 0)]))
    new_seq = s.send("D", ORDER)
    assert new_seq == 6
    while s.resending:
        link.backlog_bytes = 0
        s.on_drain()
    seqs = [wire.parse(m, validate=False).seq_num for m in link.sent]
    assert seqs == [2, 3, 4, 5, 6]
    assert wire.parse(link.sent[-1], validate=False).get(43) is None


def test_send_when_not_logged_on_is_refused(tmp_path):
    s, _ = make_session(tmp_path)
    with pytest.raises(SessionNotLoggedOn, match="not logged on"):
        s.send("D", ORDER)
    assert s.store.next_sender == 1  # no number used


def test_session_messages_are_not_the_applications_to_send(tmp_path):
    s, _, _ = logged_on(tmp_path)
    with pytest.raises(ValueError, match="session-level"):
        s.send("4", [(36, 10)])


def test_stored_message_that_no_longer_parses_is_gap_filled(tmp_path):
    """A stored message that does not parse is replaced by a gap fill, not resent."""
    s, clock, link = logged_on(tmp_path)
    s.send("D", ORDER)
    s.store.save_sent(3, b"8=FIX.4.2\x019=5\x01garbage")
    s.send("D", ORDER)
    link.sent.clear()
    s.data_received(incoming(clock, "2", 2, [(7, 2), (16, 0)]))
    got = [(m.seq_num, m.msg_type, m.get(36)) for m in (wire.parse(x, validate=False) for x in link.sent)]
    assert got == [(2, "D", None), (3, "4", b"4"), (4, "D", None)]


def test_one_outstanding_resend_request_under_a_flood(tmp_path):
    """500 early messages send one ResendRequest, not 500."""
    s, clock, link = logged_on(tmp_path)
    link.sent.clear()
    for seq in range(10, 510):
        s.data_received(incoming(clock, "0", seq))
    assert [wire.parse(m, validate=False).msg_type for m in link.sent] == ["2"]
    assert s.gaps.requests_sent == 1 and len(s.gaps.queue) == 500


def test_reject_reason_beyond_fix42_goes_in_text_only():
    """FIX 4.2 defines SessionRejectReason 0..11; the codec's 13..17 (FIX 4.3's duplicate tag,
    tag out of order, ...) must not reach tag 373 of a 4.2 Reject."""
    from fxpipe.fix.session import admin

    fields = dict(admin.reject(7, 5, "Value is incorrect (out of range) for this tag", 44))
    assert fields[373] == 5 and fields[45] == 7 and fields[371] == 44
    fields = dict(admin.reject(8, 13, "Tag appears more than once", 55))
    assert 373 not in fields
    assert fields[58] == "Tag appears more than once (reason 13)" and fields[371] == 55
