"""The outbox reads the clock it was given (a test's or a replay's clock as it is, the wall
clock, time.time_ns, read in C with the same values), and calls its store's C methods only
while the store's class keeps them."""
import time

from test_fix_session_resend import ORDER, logged_on

from fxpipe.fix.session import wire


def sending_time(raw: bytes) -> str:
    return wire.parse(raw, validate=False).get_str(52)


def test_sending_time_and_last_sent_come_from_the_clock_the_session_was_given(tmp_path):
    s, clock, link = logged_on(tmp_path)
    clock.now += 1_234_000_000
    s.send("D", ORDER)
    assert s.outbox.last_sent == clock.now
    assert sending_time(link.sent[-1]) == wire.format_utc_timestamp(clock.now)


def test_the_wall_clock_read_in_c_gives_what_time_time_ns_gives(tmp_path):
    s, _, link = logged_on(tmp_path)
    s.outbox.clock = time.time_ns
    before = time.time_ns()
    s.send("D", ORDER)
    after = time.time_ns()
    assert before <= s.outbox.last_sent <= after
    stamp = sending_time(link.sent[-1])
    assert wire.format_utc_timestamp(before) <= stamp <= wire.format_utc_timestamp(after)


def test_a_store_method_replaced_on_its_class_is_called_even_after_sends_went_through_c(tmp_path, monkeypatch):
    """The outbox logs through the store's C log_sent while FileStore keeps StoreLog's; once the
    class's method is replaced (a subclass's override, a test's wrapper), the replacement is
    what runs, from the next send on."""
    from fxpipe.fix.session.store import FileStore

    s, _, link = logged_on(tmp_path)
    s.send("D", ORDER)                       # through C: the type's method checked and kept
    calls = []
    log_sent = FileStore.log_sent

    def counted(self, seq, raw):
        calls.append(seq)
        return log_sent(self, seq, raw)
    monkeypatch.setattr(FileStore, "log_sent", counted)
    s.send("D", ORDER)
    s.send("D", ORDER)
    assert calls == [s.store.next_sender - 2, s.store.next_sender - 1]
    monkeypatch.undo()
    s.send("D", ORDER)
    assert len(calls) == 2 and len(link.sent) >= 4
