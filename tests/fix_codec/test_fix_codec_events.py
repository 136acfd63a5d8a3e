"""FIX <-> fxpipe events: OrderIntent -> D/F/G, ExecutionReport -> OrderUpdate (+ Fill),
OrderCancelReject -> OrderUpdate, W/X -> Quote; checked through fxpipe.model.events."""
import pytest
from fix_codec_msgs import T0_NS, header, wire

from fxpipe.fix import bridge, codec, direct
from fxpipe.model import events as ev

ENC = codec.Encoder("FXPIPE", "LP1")
LP = codec.Encoder("LP1", "FXPIPE")


def intent(**kw):
    base = dict(cl_ord_id=1700000000000042, price_e8=108345000, qty_e2=500000000,
                action=ev.IntentAction.NEW, side=ev.Side.BUY, ord_type=ev.OrdType.LIMIT,
                time_in_force=ev.TimeInForce.IOC)
    base.update(kw)
    return ev.make(ev.EventType.ORDER_INTENT, **base).tobytes()


def test_new_order_from_intent():
    raw = bridge.intent_to_fix(ENC, 3, T0_NS, intent(), "EUR/USD")
    d = direct.decode_order(raw)
    assert (d["msg_type"], d["cl_ord_id"], d["symbol"], d["side"], d["ord_type"], d["time_in_force"]) == \
        ("D", "1700000000000042", "EUR/USD", "1", "2", "3")
    assert (d["order_qty_e2"], d["price_e8"], d["transact_time_ns"]) == (500000000, 108345000, T0_NS)


def test_cancel_and_replace_from_intent():
    raw = bridge.intent_to_fix(ENC, 4, T0_NS, intent(action=ev.IntentAction.CANCEL, cl_ord_id=43,
                                                     orig_cl_ord_id=42), "EUR/USD")
    d = direct.decode_order(raw)
    assert (d["msg_type"], d["cl_ord_id"], d["orig_cl_ord_id"]) == ("F", "43", "42")
    raw = bridge.intent_to_fix(ENC, 5, T0_NS, intent(action=ev.IntentAction.REPLACE, cl_ord_id=44,
                                                     orig_cl_ord_id=43, price_e8=108350000), "EUR/USD")
    assert direct.decode_order(raw)["price_e8"] == 108350000


def test_market_intent_has_no_price():
    raw = bridge.intent_to_fix(ENC, 3, T0_NS, intent(ord_type=ev.OrdType.MARKET, price_e8=0), "EUR/USD")
    assert not codec.parse(raw).has(44)


def without_action():
    # events.make refuses an unknown action; a corrupt slot can still hold one.
    raw = bytearray(intent())
    raw[ev.dtype_for(ev.EventType.ORDER_INTENT).fields["action"][1]] = 0
    return bytes(raw)


@pytest.mark.parametrize("raw", [without_action(), intent(cl_ord_id=0),
                                 intent(action=ev.IntentAction.CANCEL, orig_cl_ord_id=0)])
def test_invalid_intent_is_refused(raw):
    with pytest.raises(ValueError, match="intent_to_fix"):
        bridge.intent_to_fix(ENC, 3, T0_NS, raw, "EUR/USD")


def report(**kw):
    fields = dict(order_id="LP-1", cl_ord_id="42", exec_id="E-7", exec_trans_type="0", exec_type="1",
                  ord_status="1", symbol="EUR/USD", side="1", order_qty_e2=500000000, price_e8=108345000,
                  last_qty_e2=100000000, last_px_e8=108341000, leaves_qty_e2=400000000,
                  cum_qty_e2=100000000, avg_px_e8=108341000, ord_type="2", time_in_force="3")
    fields.update(kw)
    return direct.encode_execution_report(LP, 9, T0_NS, fields)


def test_partial_fill_gives_update_and_fill():
    u, f = bridge.execution_report_to_events(report())
    upd, fill = ev.read(u), ev.read(f)
    assert upd["type"] == ev.EventType.ORDER_UPDATE and fill["type"] == ev.EventType.FILL
    assert (upd["cl_ord_id"], upd["cum_qty_e2"], upd["leaves_qty_e2"], upd["avg_px_e8"]) == \
        (42, 100000000, 400000000, 108341000)
    assert upd["ord_status"] == ev.OrdStatus.PARTIALLY_FILLED
    assert upd["report_kind"] == ev.ReportKind.EXECUTION
    assert upd["order_id"] == b"LP-1"
    assert (fill["last_qty_e2"], fill["last_px_e8"], fill["exec_id"]) == (100000000, 108341000, b"E-7")
    assert upd["ts_venue_ns"] == T0_NS and upd["flags"] == 0


def test_ack_has_no_fill():
    u, f = bridge.execution_report_to_events(report(exec_type="0", ord_status="0", last_qty_e2=0,
                                                    last_px_e8=0, cum_qty_e2=0, avg_px_e8=0))
    assert f is None and ev.read(u)["exec_type"] == ev.ExecType.NEW


def test_bust_gives_fill_with_exec_ref_id():
    u, f = bridge.execution_report_to_events(report(exec_trans_type="1", exec_id="E-8", exec_ref_id="E-7"))
    fill = ev.read(f)
    assert fill["exec_trans_type"] == ev.ExecTransType.CANCEL and fill["exec_ref_id"] == b"E-7"


def test_poss_dup_report_is_flagged():
    m = codec.parse(report())
    raw = codec.encode("8", "LP1", "FXPIPE", 9, T0_NS, m.body(), header=[(43, "Y"), (122, codec.format_utc_timestamp(T0_NS))])
    u, f = bridge.execution_report_to_events(raw)
    assert ev.read(u)["flags"] & ev.EventFlag.POSS_DUP and ev.read(f)["flags"] & ev.EventFlag.POSS_DUP


def test_report_for_someone_elses_order_keeps_cl_ord_id_zero():
    u, _ = bridge.execution_report_to_events(report(cl_ord_id="manual-ticket-1"))
    assert ev.read(u)["cl_ord_id"] == 0


def test_order_id_longer_than_event_field_is_refused():
    raw = report(order_id="L" * 41)
    with pytest.raises(codec.FixParseError) as exc:
        bridge.execution_report_to_events(raw)
    assert (exc.value.reason, exc.value.ref_tag) == (5, 37)


def test_cancel_reject_event():
    raw = direct.encode_order_cancel_reject(LP, 10, T0_NS, dict(order_id="LP-1", cl_ord_id="43", orig_cl_ord_id="42",
                                                                ord_status="2", cxl_rej_response_to="1", cxl_rej_reason=0))
    upd = ev.read(bridge.cancel_reject_to_event(raw))
    assert (upd["report_kind"], upd["cl_ord_id"], upd["orig_cl_ord_id"], upd["ord_status"]) == \
        (ev.ReportKind.CANCEL_REJECT, 43, 42, ev.OrdStatus.FILLED)
    assert upd["cxl_rej_response_to"] == ev.CxlRejResponseTo.CANCEL


def test_quotes_from_snapshot_then_incremental_top_of_book():
    book = bridge.QuoteBook()
    w = wire(header("W") + "55=EUR/USD|268=2|269=0|270=1.0834|271=1000000|269=1|270=1.0835|271=2000000|")
    q = ev.read(book.quote(w))
    assert (q["bid_px_e8"], q["bid_qty_e2"], q["ask_px_e8"], q["ask_qty_e2"]) == (108340000, 100000000, 108350000, 200000000)
    assert q["flags"] & ev.EventFlag.SNAPSHOT
    x = wire(header("X", 8) + "268=2|279=1|269=0|55=EUR/USD|270=1.08345|271=3000000|279=2|269=1|55=EUR/USD|")
    q = ev.read(book.quote(x))
    assert (q["bid_px_e8"], q["bid_qty_e2"], q["ask_px_e8"], q["ask_qty_e2"]) == (108345000, 300000000, 0, 0)
    assert not q["flags"] & ev.EventFlag.SNAPSHOT
