"""The outbox reads the clock it was given: a test's or a replay's clock as it is, the wall
clock (time.time_ns) read in C, with the same values."""
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
