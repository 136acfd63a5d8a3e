"""The delivery contract with the application: an application message counts as received only
once on_message has returned; an application that fails on one leaves it uncounted, so the
counterparty resends it; after a restart the OMS can list what it sent (Session.sent_messages)."""
from session_doubles import RecordingApp
from test_fix_session_resend import ORDER, incoming, logged_on, make_session
from test_fix_session_scenarios import FakeLink

from fxpipe.fix.session import wire
from fxpipe.fix.session.session import Session
from fxpipe.fix.session.store import FileStore

REPORT = [(37, "O1"), (17, "E1"), (20, "0"), (150, "2"), (39, "2"), (55, "EUR/USD"), (54, "1"),
          (38, "100"), (32, "100"), (31, "1.1"), (151, "0"), (14, "100"), (6, "1.1")]


class Counting(RecordingApp):
    """Records what the store says while the callback runs."""

    def __init__(self):
        super().__init__()
        self.next_target_seen: list[int] = []
        self.fail = False

    def on_message(self, session, msg):
        self.next_target_seen.append(session.store.next_target)
        if self.fail:
            raise RuntimeError("journal disk full")
        super().on_message(session, msg)


def test_message_counts_as_received_only_after_the_callback_returned(tmp_path):
    s, clock, link = logged_on(tmp_path)
    app = s.app = Counting()
    s.data_received(incoming(clock, "8", 2, REPORT))
    assert app.next_target_seen == [2]  # still expected while the application handles it
    assert s.store.next_target == 3


def test_application_failure_leaves_the_message_uncounted_and_logs_out(tmp_path):
    s, clock, link = logged_on(tmp_path)
    app = s.app = Counting()
    app.fail = True
    s.data_received(incoming(clock, "8", 2, REPORT))
    assert s.store.next_target == 2, "a message the application failed on must come again"
    assert link.closed and not s.is_logged_on
    last = wire.parse(link.sent[-1], validate=False)
    assert last.msg_type == "5" and last.get(58) == b"application error"
    assert "application failed on MsgSeqNum 2" in s.last_error


def test_sent_messages_lists_application_messages_from_the_store(tmp_path):
    s, clock, link = logged_on(tmp_path)
    seqs = [s.send("D", [(11, f"C{i}")] + ORDER[1:]) for i in range(3)]
    s.data_received(incoming(clock, "1", 2, [(112, "T")]))  # our Heartbeat in between
    s.send("D", [(11, "C3")] + ORDER[1:])
    s.store.close()
    store = FileStore(s.cfg.store_path, "never")
    store.open(clock.now)
    again = Session(s.cfg, store, RecordingApp(), clock)
    got = [(seq, m.get(11)) for seq, m in again.sent_messages(seqs[1])]
    assert got == [(seqs[1], b"C1"), (seqs[2], b"C2"), (seqs[2] + 2, b"C3")]
    store.close()


def test_gap_fill_for_our_own_logon_stands_alone(tmp_path):
    """Answering a ResendRequest that starts at our Logon: the Logon's number is gap-filled on
    its own, the numbers after it in another gap fill."""
    s, clock = make_session(tmp_path, role="initiator")
    link = FakeLink()
    s.connected(link)                                              # our Logon: 1
    s.data_received(incoming(clock, "A", 3, [(98, 0), (108, 30)]))  # theirs, too high: we ask (2)
    link.sent.clear()
    s.data_received(incoming(clock, "2", 4, [(7, 1), (16, 0)]))
    fills = [(m.seq_num, m.get(36)) for m in (wire.parse(x, validate=False) for x in link.sent)]
    assert fills == [(1, b"2"), (2, b"3")]
