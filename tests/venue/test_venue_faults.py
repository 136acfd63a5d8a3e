"""Every fault the simulator can inject, requested through its control port (as a test or an
operator would) and observed on the wire by an fxpipe client session."""
import json
import time

import pytest
from venue_harness import FixClient, VenueProcess, cancel, new_order

from fxpipe.venue.control import send_command
from fxpipe.venue.faults import KINDS, FaultSpecError, parse


@pytest.fixture
def venue(tmp_path):
    v = VenueProcess(tmp_path, market_extra="step_updates = 0", with_lp=False)
    made = []

    def client(logon=True, **kw):
        c = FixClient(tmp_path / f"c{len(made)}", v.ecn_port, "C1", "ECN1", logon=logon, **kw)
        made.append(c)
        return c

    v.client = client
    yield v
    for c in made:
        c.close()
    v.stop()


def ers(c, cl_ord_id=None):
    return [m for m in c.of_type("8") if cl_ord_id is None or m.get_str(11) == cl_ord_id]


def market(c, cl, qty="1000000"):
    c.send("D", new_order(cl, qty=qty, ord_type="1"))


def test_drop_closes_the_connection_and_the_client_comes_back(venue):
    c = venue.client()
    venue.fault("drop session=C1")
    c.wait(lambda: c.app.logouts, "disconnect")
    assert "closed the connection" in c.app.logouts[0]
    c.wait(lambda: c.app.logons == 2, "reconnect and logon")
    market(c, "AFTER")
    c.wait_for("8", 2, t11="AFTER")


def test_delay_holds_every_outgoing_message(venue):
    c = venue.client()
    venue.fault("delay ms=400 session=C1")
    t0 = time.monotonic()
    market(c, "D1")
    c.wait_for("8", 2, t11="D1")
    assert time.monotonic() - t0 >= 0.35
    t0 = time.monotonic()
    market(c, "D2")
    c.wait_for("8", 2, t11="D2")
    assert time.monotonic() - t0 < 0.35  # the stall is over


def test_delay_logon_answers_late(venue):
    venue.fault("delay_logon ms=600 session=C1")
    t0 = time.monotonic()
    c = venue.client()
    assert time.monotonic() - t0 >= 0.5 and c.app.logons == 1


def test_reject_logon_answers_with_a_logout(venue):
    venue.fault("reject_logon text=\"not today\" session=C1")
    c = venue.client(logon=False)
    c.wait(lambda: c.app.logouts or "35=5" in c.wire_log(), "logout")
    log = c.wire_log()
    assert "IN  8=FIX.4.2" in log and "|35=5|" in log and "58=not today" in log
    assert c.app.logons == 0
    c.wait(lambda: c.app.logons == 1, "the next logon, accepted")  # the fault was for one logon


@pytest.mark.parametrize("mode", ["possresend", "plain"])
def test_duplicate_execution_reports_possresend_and_plain(venue, mode):
    c = venue.client()
    venue.fault(f"duplicate_exec count=1 mode={mode} session=C1")
    market(c, "X1")
    reps = c.wait(lambda: len(ers(c, "X1")) >= 3 and ers(c, "X1"), "ack, copy and fill")
    ack, copy = reps[0], reps[1]
    assert ack.get(17) == copy.get(17) and ack.get(150) == b"0"  # the same ExecID twice
    assert copy.seq_num == ack.seq_num + 1
    assert not copy.has(43)  # PossDupFlag is the session layer's, for a retransmitted number only
    if mode == "possresend":
        assert copy.get(97) == b"Y" and copy.has(122) and not ack.has(97)
    else:
        assert not copy.has(97) and copy.body() == ack.body()


def test_duplicate_execution_report_as_a_real_resend_reuses_the_sequence_number(venue):
    c = venue.client()
    venue.fault("duplicate_exec count=1 mode=resend session=C1")
    market(c, "X2")
    ack, fill = c.wait_for("8", 2, t11="X2")
    c.poll(0.2)
    assert len(ers(c, "X2")) == 2  # the receiver's session layer dropped the retransmission
    copies = [line for line in c.wire_log().splitlines()
              if " IN " in line and f"|34={ack.seq_num}|" in line and "|35=8|" in line]
    assert len(copies) == 2 and "|43=Y|" in copies[1] and "|122=" in copies[1] and "|43=Y|" not in copies[0]
    assert not c.app.logouts


def test_reorder_sends_reports_in_reverse(venue):
    c = venue.client()
    venue.fault("reorder count=2 session=C1")
    market(c, "R1")
    reps = c.wait_for("8", 2, t11="R1")
    assert [m.get_str(150) for m in reps] == ["2", "0"]  # the fill before its ack


def test_fill_before_ack(venue):
    c = venue.client()
    venue.fault("fill_before_ack session=C1")
    market(c, "FB", qty="2000000")
    reps = c.wait_for("8", 3, t11="FB")
    assert [m.get_str(150) for m in reps] == ["1", "2", "0"]
    assert reps[-1].get_str(39) == "0" and reps[-1].get_str(14) == "0"  # the ack is what it was when decided


def test_fill_after_cancel_request(venue):
    c = venue.client()
    c.send("D", new_order("FC", price="1.08497", tif="1"))
    c.wait_for("8", 1, t11="FC")
    venue.fault("fill_after_cancel session=C1")
    c.send("F", cancel("FC-X", "FC"))
    fill = c.wait_for("8", 2, t11="FC")[1]
    rej = c.wait_for("9", 1, t11="FC-X")[0]
    # the market came down to the limit (0.4 pip away) and the resting buy filled there
    assert (fill.get_str(150), fill.get_str(31), fill.get_str(39)) == ("2", "1.08497", "2")
    assert (rej.get_str(102), rej.get_str(39), rej.get_str(434)) == ("0", "2", "1")
    assert c.app.messages.index(fill) < c.app.messages.index(rej)


def test_fill_after_cancel_fills_only_where_the_market_allows(venue):
    c = venue.client()
    c.send("D", new_order("FAR", price="1.00000", tif="1"))  # 850 pips below the market
    c.wait_for("8", 1, t11="FAR")
    venue.fault("fill_after_cancel session=C1")
    c.send("F", cancel("FAR-X", "FAR"))
    (done,) = c.wait_for("8", 1, t11="FAR-X")
    assert (done.get_str(150), done.get_str(39), done.get_str(14)) == ("4", "4", "0")  # cancelled, never filled
    assert not [m for m in ers(c) if m.get_str(150) in ("1", "2")]
    assert any(f["fault"].startswith("fill_after_cancel") for f in json.loads(send_command(venue.control_port,
                                                                                             "faults")))


def test_trade_bust(venue):
    c = venue.client()
    venue.fault("bust after_ms=20 session=C1")
    market(c, "B1", qty="2000000")
    ack, p1, p2, bust = c.wait_for("8", 4, t11="B1")
    assert (bust.get_str(20), bust.get_str(19)) == ("1", p1.get_str(17))
    assert bust.get_str(17) not in {p1.get_str(17), p2.get_str(17)}
    assert (bust.get_str(32), bust.get_str(31)) == (p1.get_str(32), p1.get_str(31))
    assert (bust.get_str(14), bust.get_str(6)) == ("1000000", p2.get_str(31))


def test_trade_correction(venue):
    c = venue.client()
    venue.fault("correct px_pips=0.5 after_ms=20 session=C1")
    market(c, "C1")
    ack, fill, corr = c.wait_for("8", 3, t11="C1")
    assert (corr.get_str(20), corr.get_str(19)) == ("2", fill.get_str(17))
    assert fill.get_str(31) == "1.08501" and corr.get_str(31) == "1.08506" and corr.get_str(6) == "1.08506"
    assert corr.get_str(14) == "1000000"


def test_overfill_is_sent_as_a_normal_fill_beyond_order_qty(venue):
    c = venue.client()
    venue.fault("overfill qty=250000 session=C1")
    market(c, "O1")
    ack, fill, extra = c.wait_for("8", 3, t11="O1")
    assert fill.get_str(39) == "2" and extra.get_str(32) == "250000"
    assert extra.get_scaled(14, 2) > extra.get_scaled(38, 2)
    assert (extra.get_str(14), extra.get_str(38), extra.get_str(151)) == ("1250000", "1000000", "0")


def test_report_for_an_unknown_order(venue):
    c = venue.client()
    venue.fault("unknown_order session=C1")
    (ghost,) = c.wait_for("8", 1)
    assert ghost.get_str(11).startswith("UNKNOWN-") and ghost.get_str(150) == "2"


def test_sequence_gap_is_resent_as_a_gap_fill(venue):
    c = venue.client()
    venue.fault("seq_gap n=3 session=C1")
    c.poll(0.2)
    market(c, "G1")
    c.wait_for("8", 2, t11="G1")
    log = c.wire_log()
    assert "OUT" in log and "|35=2|" in log  # the client asked for the missing numbers
    assert "|35=4|" in log and "|123=Y|" in log  # and got a gap fill for them
    out_resends = [line for line in log.splitlines() if " OUT " in line and "|35=2|" in line]
    assert len(out_resends) == 1
    market(c, "G2")
    c.wait_for("8", 2, t11="G2")


def test_garbled_message_is_dropped_and_the_session_goes_on(venue):
    c = venue.client()
    for kind in ("checksum", "length", "begin"):
        venue.fault(f"garble kind={kind} session=C1")
    c.poll(0.3)
    assert c.events_log().count("garbled") >= 3
    market(c, "AFTER")
    c.wait_for("8", 2, t11="AFTER")
    assert not c.app.logouts


def test_stop_reading_makes_the_venue_a_slow_consumer(venue):
    c = venue.client()
    venue.fault("stop_reading s=1.0 session=C1")
    c.poll(0.1)
    t0 = time.monotonic()
    market(c, "SR")
    c.poll(0.5)
    assert not ers(c, "SR")  # nothing read, nothing answered
    c.wait_for("8", 2, t11="SR")
    assert time.monotonic() - t0 >= 0.8 and not c.app.logouts


def test_scheduled_faults_fire_on_time_and_repeat(venue):
    c = venue.client()
    venue.fault("unknown_order every_s=0.2 session=C1")
    venue.fault("drop at_s=1.0 session=C1")
    t0 = time.monotonic()
    c.wait(lambda: c.app.logouts, "scheduled drop", timeout=5)
    assert time.monotonic() - t0 >= 0.6
    assert len(c.of_type("8")) >= 3  # unknown_order fired every 0.2 s
    pending = [f["fault"] for f in json.loads(send_command(venue.control_port, "faults"))]
    assert any("every_s" in p for p in pending)


def test_after_orders_trigger_counts_the_sessions_orders(venue):
    c = venue.client()
    venue.fault("duplicate_exec mode=plain after_orders=2 session=C1")
    market(c, "A1")
    c.wait_for("8", 2, t11="A1")
    market(c, "A2")
    c.wait(lambda: len(ers(c, "A2")) >= 3, "the second order's reports, one twice")
    assert len(ers(c, "A1")) == 2


def test_every_fault_kind_parses_and_bad_specs_say_why():
    for kind in KINDS:
        assert parse(kind).kind == kind
    for spec, msg in [("explode", "unknown fault"), ("drop now", "not key=value"), ("delay ms=-1", "expected float"),
                      ("seq_gap n=0", "n must be >= 1"), ("garble kind=noise", "checksum, length or begin"),
                      ("drop at_s=1 after_orders=2", "not both"), ("reorder colour=red", "unknown key"),
                      ("", "empty fault spec"), ("duplicate_exec mode=maybe", "possresend, resend, plain")]:
        with pytest.raises(FaultSpecError, match=msg):
            parse(spec)


def test_faults_for_unknown_sessions_are_refused(venue):
    assert "no venue has a client 'NOBODY'" in send_command(venue.control_port, "fault drop session=NOBODY")
    assert send_command(venue.control_port, "fault bogus").startswith("error unknown fault")
    assert send_command(venue.control_port, "launch").startswith("error unknown command")
