"""Orders whose state nobody knows (a session drop, a request past its timeout) stay UNKNOWN
until venue evidence says otherwise, and are never taken for rejected; a venue with UNKNOWN
orders takes no new ones. Recovery: the book rebuilt from the journaled input events is the
same book, with the same next ClOrdID, and replaying the same reports again changes nothing."""
from oms_venue import T0_NS, ScriptedVenue, intent

from fxpipe.journal import Journal, JournalReader
from fxpipe.model import events as ev
from fxpipe.oms import Disposition, OrderBook, Refusal, RequestState, VenueState, Verdict

S = ev.OrdStatus
PX = 108_500_000
Q = 100_000_000
TIMEOUT = 2_000_000_000


class Session:
    """The OMS's input stream, recorded as it is applied: what the journal would hold."""

    def __init__(self, prefix=1, venue_id=1):
        self.book = OrderBook(prefix, TIMEOUT)
        self.venue = ScriptedVenue(venue_id)
        self.inputs: list[bytes] = []
        self.outputs: list[bytes] = []

    def submit(self, action, **kw):
        it = intent(action, t=self.venue.now, **kw)
        self.inputs.append(it.tobytes())
        r = self.book.submit(it)
        self.outputs.append(r.update.tobytes())
        if r.sent and action == "D":
            self.venue.take(r.send)
        return r

    def report(self, rep):
        self.inputs.append(rep.update)
        if rep.fill is not None:
            self.inputs.append(rep.fill)
        res = self.book.apply_report(rep.update, rep.fill)
        self.outputs.append(res.update.tobytes())
        self.outputs.extend(f.tobytes() for f in res.fills)
        return res

    def timer(self, cl_ord_id, at_ns):
        t = ev.make(ev.EventType.TIMER, kind=ev.TimerKind.ORDER_TIMEOUT, ref_id=cl_ord_id,
                    deadline_ns=at_ns, timer_id=cl_ord_id)
        self.inputs.append(t.tobytes())
        res = self.book.on_event(t)
        self.outputs.append(res.update.tobytes())
        return res

    def session(self, state, at_ns):
        s = ev.make(ev.EventType.SESSION, venue_id=self.venue.venue_id, ts_receive_ns=at_ns,
                    session_kind=ev.SessionKind.ORDERS, state=state)
        self.inputs.append(s.tobytes())
        return self.book.on_event(s)


def test_orders_in_flight_when_the_session_drops_are_unknown_until_venue_evidence():
    s = Session()
    resting = int(s.submit("D").send["cl_ord_id"])
    s.report(s.venue.ack(resting))
    in_flight = int(s.submit("D").send["cl_ord_id"])
    canceling = int(s.submit("D").send["cl_ord_id"])
    s.report(s.venue.ack(canceling))
    cancel_cl = int(s.submit("F", orig=canceling).send["cl_ord_id"])

    views = s.session(ev.SessionState.DISCONNECTED, s.venue.now)
    assert sorted(int(v["cl_ord_id"]) for v in views) == [in_flight, canceling]
    assert all(v["ord_status"] == S.UNKNOWN for v in views)
    assert s.book.order(resting).status == S.NEW          # nothing was in flight for it
    assert s.book.request(in_flight).state == RequestState.UNKNOWN
    assert s.book.request(cancel_cl).state == RequestState.UNKNOWN
    assert s.submit("D").refusal == Refusal.VENUE_DOWN

    s.session(ev.SessionState.ACTIVE, s.venue.now)
    assert s.book.venue_state(1) == VenueState.RECONCILING
    assert s.submit("D").refusal == Refusal.VENUE_UNRECONCILED
    assert {v.cl_ord_id for v in s.book.open_orders(1)} == {resting, in_flight, canceling}

    # the venue's answers: the new order did arrive (its ack was lost); the cancel did too
    s.venue.ack(in_flight)
    s.report(s.venue.status(in_flight))
    assert s.book.order(in_flight).status == S.NEW
    assert s.book.venue_state(1) == VenueState.RECONCILING
    s.venue.cancel(cancel_cl, canceling)
    s.report(s.venue.status(cancel_cl))
    assert s.book.order(canceling).status == S.CANCELED
    assert s.book.request(cancel_cl).state == RequestState.ACCEPTED
    assert s.book.venue_state(1) == VenueState.UP and not s.book.unknown_orders()
    assert s.submit("D").verdict == Verdict.SEND


def test_resent_stream_resolves_unknown_and_its_fills_count_once():
    s = Session()
    cl = int(s.submit("D").send["cl_ord_id"])
    ack, fill = s.venue.ack(cl), s.venue.fill(cl, 30_000_000, PX)
    s.report(fill)                                    # the fill made it; then the drop
    s.submit("F", orig=cl)
    s.session(ev.SessionState.DISCONNECTED, s.venue.now)
    assert s.book.order(cl).status == S.UNKNOWN and s.book.order(cl).cum_qty_e2 == 30_000_000
    s.session(ev.SessionState.ACTIVE, s.venue.now)
    res = s.report(s.venue.resend(ack))
    assert res.update["ord_status"] == S.PENDING_CANCEL     # known again; its cancel still out
    assert s.report(s.venue.resend(fill)).disposition == Disposition.DUPLICATE
    assert s.book.order(cl).cum_qty_e2 == 30_000_000


def test_unknown_is_not_rejected_a_timed_out_new_order_waits_for_the_venue():
    s = Session()
    r = s.submit("D")
    cl = int(r.send["cl_ord_id"])
    res = s.timer(cl, r.deadline_ns)
    assert res.disposition == Disposition.APPLIED and res.status_request
    assert res.update["ord_status"] == S.UNKNOWN and res.update["flags"] & ev.EventFlag.SYNTHETIC
    assert s.book.order(cl).leaves_qty_e2 == Q            # it may be working at the venue
    assert s.submit("G", orig=cl, qty=Q // 2).refusal == Refusal.STATUS_UNKNOWN
    # the venue never got it: now, and only now, it is rejected
    res = s.report(s.venue.unknown_status(cl))
    assert res.update["ord_status"] == S.REJECTED
    assert s.book.request(cl).state == RequestState.REJECTED


def test_timer_for_a_request_already_answered_changes_nothing():
    s = Session()
    r = s.submit("D")
    cl = int(r.send["cl_ord_id"])
    s.report(s.venue.ack(cl))
    before = s.book.orders()
    res = s.timer(cl, r.deadline_ns)
    assert res.disposition == Disposition.STALE and not res.publish and not res.status_request
    assert s.book.orders() == before and s.book.order(cl).status == S.NEW


def test_timed_out_cancel_that_the_status_answer_does_not_know_is_closed():
    s = Session()
    cl = int(s.submit("D").send["cl_ord_id"])
    s.report(s.venue.ack(cl))
    c = s.submit("F", orig=cl)
    cancel_cl = int(c.send["cl_ord_id"])
    s.timer(cancel_cl, c.deadline_ns)
    assert s.book.order(cl).status == S.UNKNOWN
    res = s.report(s.venue.status(cl))                 # the venue has the order, not the cancel
    assert res.update["ord_status"] == S.NEW
    assert s.book.request(cancel_cl).state == RequestState.CLOSED
    again = s.submit("F", orig=cl)
    assert again.verdict == Verdict.SEND
    # the first cancel reaches the venue after all: its report still finds the order
    res = s.report(s.venue.cancel(cancel_cl, cl))
    assert res.update["ord_status"] == S.CANCELED


def long_session() -> Session:
    """Every kind of input: intents, acks, fills, a duplicate, a bust, a correction, a
    replace, a cancel, a reject, a timeout, a session drop and its reconciliation."""
    s = Session()
    a = int(s.submit("D").send["cl_ord_id"])
    b = int(s.submit("D", side="2", qty=50_000_000).send["cl_ord_id"])
    c = int(s.submit("D", tif="3").send["cl_ord_id"])
    s.report(s.venue.ack(a))
    s.report(s.venue.ack(b))
    f1 = s.venue.fill(a, 20_000_000, PX)
    s.report(f1)
    s.report(f1)
    f2 = s.venue.fill(a, 30_000_000, PX + 3)
    s.report(f2)
    s.report(s.venue.bust(a, f1.f["exec_id"].decode()))
    s.report(s.venue.correct(a, f2.f["exec_id"].decode(), 25_000_000, PX + 1))
    r = s.submit("G", orig=b, side="2", qty=60_000_000, px=PX - 7)
    s.report(s.venue.replace(int(r.send["cl_ord_id"]), b, 60_000_000, PX - 7))
    s.report(s.venue.fill(c, 10_000_000, PX))
    s.report(s.venue.unsolicited_cancel(c))
    d = s.submit("D")
    s.timer(int(d.send["cl_ord_id"]), d.deadline_ns)
    s.submit("F", orig=a)
    s.session(ev.SessionState.DISCONNECTED, s.venue.now)
    s.session(ev.SessionState.ACTIVE, s.venue.now)
    s.report(s.venue.status(int(d.send["cl_ord_id"])))
    s.report(s.venue.reject(int(d.send["cl_ord_id"])))
    s.report(s.venue.status(a))
    s.report(s.venue.phantom_fill(424242, 1_000_000, PX))
    assert s.book.venue_state(1) == VenueState.UP
    return s


def test_rebuild_from_the_journal_gives_the_same_book_and_the_same_next_cl_ord_id(tmp_path):
    live = long_session()
    with Journal.open(tmp_path / "oms-in") as j:
        for i, raw in enumerate(live.inputs):
            j.append(raw[0] | (raw[1] << 8), raw, T0_NS + i)
    journaled = [bytes(r.payload) for r in JournalReader(tmp_path / "oms-in").records()]
    assert journaled == live.inputs
    rebuilt = OrderBook(1, TIMEOUT)
    results = rebuilt.replay(journaled)
    assert rebuilt.state_hash() == live.book.state_hash()
    assert rebuilt.next_cl_ord_id == live.book.next_cl_ord_id
    assert rebuilt.orders() == live.book.orders()
    assert rebuilt.submit(intent("D")).send["cl_ord_id"] == live.book.submit(intent("D")).send["cl_ord_id"]
    replayed_outputs = []
    for res in results:
        if res is None or isinstance(res, list):
            continue
        replayed_outputs.append(res.update.tobytes())
        replayed_outputs.extend(f.tobytes() for f in getattr(res, "fills", []))
    assert replayed_outputs == live.outputs


def test_replaying_the_same_reports_twice_changes_nothing():
    live = long_session()
    book = OrderBook.rebuild(live.inputs, 1, TIMEOUT)
    cum = [o.cum_qty_e2 for o in book.orders()]
    reports = [raw for raw in live.inputs if (raw[0] | (raw[1] << 8)) in (ev.EventType.ORDER_UPDATE,
                                                                           ev.EventType.FILL)]
    results = book.replay(reports)
    assert all(r.disposition != Disposition.APPLIED or not r.fills for r in results)
    assert [o.cum_qty_e2 for o in book.orders()] == cum


def test_counter_is_restored_from_the_highest_cl_ord_id_seen_when_intents_carried_them():
    sent = OrderBook(4)
    ids = [int(sent.submit(intent("D")).send["cl_ord_id"]) for _ in range(5)]
    fresh = OrderBook(4)
    for cl in ids[:3] + [ids[4]]:                        # the sent requests, one missing
        fresh.replay([intent("D", cl_ord_id=cl).tobytes()])
    assert fresh.next_cl_ord_id == ids[4] + 1
    other = OrderBook(4)
    other.observe_cl_ord_id(5 * 10**12 + 77)             # another OMS's id: not ours
    assert other.next_cl_ord_id == 4 * 10**12 + 1


def test_state_hash_differs_when_one_report_differs():
    a, b = long_session(), long_session()
    assert a.book.state_hash() == b.book.state_hash()
    cl = a.book.orders()[0].cl_ord_id
    rep = a.venue.fill(cl, 1_00, PX)
    a.report(rep)
    assert a.book.state_hash() != b.book.state_hash()
