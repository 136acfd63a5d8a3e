"""OpsView over a recorded stream: every part of the snapshot, from the events alone."""
from __future__ import annotations

import json

import numpy as np
import pytest
from opsdata import MS, T0, stream

import fxpipe.model.events as ev
from fxpipe.model.refdata import load_refdata
from fxpipe.ops.view import SMALL_BATCH, OpsView, as_record


def near(hdr_value, exact):
    """HDR percentiles hold 3 significant digits."""
    return abs(hdr_value - exact) <= exact // 1000 + 1


@pytest.fixture(scope="module")
def snap():
    v = OpsView(load_refdata())
    for e in stream():
        v.on_event(e)
    return v.snapshot()


def test_counts_and_rates_come_from_event_time(snap):
    by = snap["events"]["by_type"]
    assert snap["events"]["total"] == len(stream())
    assert by["ORDER_UPDATE"]["count"] == 7 and by["FILL"]["count"] == 4 and by["CONTROL"]["count"] == 4
    # the last event is 1.5 s after the start: the rate is that of the last whole second (T0+0 s: none)
    assert snap["events"]["last_event_ns"] == T0 + 1_500 * MS
    assert by["LATENCY_SAMPLE"]["rate_per_s"] == 0 and by["QUOTE"]["rate_per_s"] == 1


def test_orders_by_status_count_each_order_once(snap):
    o = snap["orders"]
    assert o["open"] == 1 and o["open_by_status"] == {"PENDING_NEW": 1}
    assert o["done_by_status"] == {"FILLED": 1, "REJECTED": 1}         # the repeated FILLED counts once
    assert o["updates"] == 7 and o["rejects"] == 1


def test_fills_busts_and_corrections(snap):
    f = snap["fills"]
    assert (f["count"], f["busts"], f["corrections"]) == (3, 1, 1)
    assert f["qty_e2"] == 140_000_000 and f["qty"] == "1400000"
    assert f["by_instrument"] == [{"instrument": "EUR/USD", "side": "BUY", "count": 3, "qty_e2": 140_000_000,
                                   "qty": "1400000"}]
    last = f["last"][-1]
    assert last["exec_id"] == "E4" and last["trans"] == "CORRECT" and last["venue"] == "ECN1"
    assert last["display"] == "BUY 400000 EUR/USD @ 1.08501"


def test_positions_keep_every_field_and_give_currency_exposure(snap):
    p = {(r["strategy_id"], r["instrument"]): r for r in snap["positions"]}
    eur = p[(7, "EUR/USD")]
    assert eur["net_qty_e2"] == 100_000_000 and eur["net_qty"] == "1000000"
    assert eur["avg_px_e8"] == 108_501_200 and eur["avg_px"] == "1.085012"
    assert eur["unrealized_pnl_e4"] == -12_000_000 and eur["unrealized_pnl"] == "-1200.00"
    assert (eur["turnover_e4"], eur["fill_count"], eur["cause_seq"], eur["rpt_ccy"]) == (10_850_120_000, 2, 12, "USD")
    assert eur["reason"] == "FILL" and eur["mark_status"] == "OK"
    jpy = p[(0, "USD/JPY")]
    assert jpy["net_qty_e2"] == -50_000_000 and jpy["reason"] == "MARK"
    exposure = {(r["strategy_id"], r["ccy"]): r["amount_e4"] for r in snap["exposure"]}
    # long 1,000,000 EUR at 1.085012: EUR +1,000,000, USD -1,085,012
    assert exposure[(7, "EUR")] == 1_000_000_0000 and exposure[(7, "USD")] == -1_085_012_0000
    # short 500,000 USD at 151.253: USD -500,000, JPY +75,626,500
    assert exposure[(0, "USD")] == -500_000_0000 and exposure[(0, "JPY")] == 75_626_500_0000


def test_pnl_by_currency_and_in_the_reporting_currency(snap):
    (ccy,) = snap["pnl"]["by_currency"]
    assert ccy["strategy_id"] == 7 and ccy["ccy"] == "USD" and ccy["realized_e4"] == 25_000
    assert ccy["realized"] == "2.50" and ccy["unrealized_rpt"] == "-1200.00" and ccy["commission"] == "0.50"
    (total,) = snap["pnl"]["total"]
    assert total["mark_status"] == "MISSING" and total["missing_ccy"] == "JPY" and total["missing_count"] == 1


def test_risk_state_kill_switch_stops_pauses_and_rejects(snap):
    r = snap["risk"]
    assert r["kill_switch"]["global"] is True and r["kill_switch"]["since_ns"] == T0 + 12 * MS
    assert r["kill_switch"]["stopped_strategies"] == {"8": T0 + 13 * MS}
    assert r["paused_strategies"] == {"9": T0 + 11 * MS}                # a pause is not a stop
    assert r["rejects"] == {"MAX_ORDER_QTY": 2, "PRICE_COLLAR": 1}
    last = r["last_reject"]["MAX_ORDER_QTY"]
    assert last["cl_ord_id"] == 13 and last["observed_text"] == "30000000" and last["limit_text"] == "10000000"
    (lim,) = r["limits_set"]
    assert lim["limit_id"] == "MAX_ORDER_QTY" and lim["observed"] == 1_000_000_000 and lim["limit"] == 500_000_000


def test_sessions_state_since_and_a_drop_is_an_alarm(snap):
    (s,) = snap["sessions"]
    assert s["venue"] == "ECN1" and s["kind"] == "ORDERS" and s["state"] == "DISCONNECTED"
    assert s["prev_state"] == "ACTIVE" and s["reason"] == "HEARTBEAT_TIMEOUT" and s["since_ns"] == T0 + 1_500 * MS
    assert (s["next_sender_seq"], s["next_target_seq"], s["changes"]) == (40, 35, 2)
    assert snap["alarms"]["counts"] == {"kill_switch": 1, "risk_alarm": 1, "session_down": 1, "strategy_stopped": 1}
    assert [a["kind"] for a in snap["alarms"]["recent"]] == ["risk_alarm", "kill_switch", "strategy_stopped",
                                                             "session_down"]


def test_latency_per_hop_from_the_stamps(snap):
    hops = snap["latency"]["hops"]
    assert hops["receive_to_decode"]["count"] == 2 and hops["receive_to_decode"]["max_ns"] == 800
    assert hops["decode_to_decide"]["count"] == 1 and hops["decode_to_decide"]["negative"] == 1
    assert near(hops["decode_to_decide"]["p50_ns"], 5_000)
    assert near(hops["decide_to_risk"]["p99_ns"], 2_000) and near(hops["risk_to_send"]["p50_ns"], 13_000)
    assert hops["tick_to_trade"]["sum_ns"] == 20_800                  # sums and buckets are exact
    assert dict(map(tuple, hops["risk_to_send"]["buckets"]))[20_000] == 1
    s = snap["latency"]["samples"]["send_to_ack"]
    assert s["count"] == 2 and s["sum_ns"] == 1_000_000
    assert near(s["max_ns"], 750_000)


def test_control_answers_by_request_id_even_when_the_answer_came_first(snap):
    req = snap["requests"]
    assert req["501"]["command"] == "SET_LIMIT" and req["501"]["issued_by"] == "alice"
    assert req["501"]["state"] == "done" and req["501"]["answers"][0]["action"] == "LIMIT_SET"
    assert req["502"]["seen"] and req["502"]["command"] == "PAUSE" and req["502"]["state"] == "done"
    assert req["503"]["answers"][0]["action"] == "KILL_SWITCH_ON"
    assert req["504"]["state"] == "refused" and req["504"]["ccy"] == "XXX"


def test_snapshot_is_json_and_the_same_for_the_same_stream(snap):
    again = OpsView(load_refdata())
    for e in stream():
        again.on_event(e)
    assert json.loads(json.dumps(snap)) == again.snapshot()


def test_raw_ring_slots_give_the_same_view_as_records():
    buf = np.concatenate([np.frombuffer(e.tobytes(), dtype=np.uint8) for e in stream()]).reshape(-1, ev.SLOT_SIZE)
    a, b = OpsView(load_refdata()), OpsView(load_refdata())
    a.on_batch(buf)
    b.on_batch(stream())
    assert a.snapshot() == b.snapshot()


def test_bad_slots_are_refused_with_what_is_wrong():
    with pytest.raises(ValueError, match="192 bytes, got 10"):
        as_record(b"\x01" * 10)
    bad = bytearray(ev.SLOT_SIZE)
    bad[0] = 77
    with pytest.raises(ValueError, match="unknown event type 77"):
        OpsView().on_event(bytes(bad))


def test_without_refdata_ids_are_shown_as_numbers():
    v = OpsView()
    for e in stream():
        v.on_event(e)
    s = v.snapshot()
    assert s["sessions"][0]["venue"] == "#1" and s["exposure"] == []
    assert {p["instrument"] for p in s["positions"]} == {"#1", "#3"}


def test_alarm_hook_gets_each_alarm():
    seen = []
    v = OpsView(alarm_hook=lambda kind, text, fields: seen.append(kind))
    for e in stream():
        v.on_event(e)
    assert seen == ["risk_alarm", "kill_switch", "strategy_stopped", "session_down"]


def test_pause_of_every_strategy_is_no_kill_switch_whatever_the_order_of_rings():
    A, C = ev.RiskAction, ev.ControlCommand
    v = OpsView()
    for sid in (7, 9):       # both answers before the Control itself
        v.on_event(ev.make(ev.EventType.RISK, check=ev.RiskCheck.KILL_SWITCH, action=A.STRATEGY_STOPPED,
                           strategy_id=sid, cl_ord_id=600, observed=C.PAUSE, ts_receive_ns=T0))
    v.on_event(ev.make(ev.EventType.CONTROL, command=C.PAUSE, request_id=600, ts_receive_ns=T0))
    # a pause replayed from a journal written before request ids: still a pause
    v.on_event(ev.make(ev.EventType.RISK, check=ev.RiskCheck.KILL_SWITCH, action=A.STRATEGY_STOPPED,
                       strategy_id=11, observed=C.PAUSE, ts_receive_ns=T0))
    r = v.snapshot()["risk"]
    assert r["paused_strategies"] == {"7": T0, "9": T0, "11": T0}
    assert r["kill_switch"]["stopped_strategies"] == {}
    assert len(v.snapshot()["requests"]["600"]["answers"]) == 2


@pytest.mark.parametrize("size", [1, 7, SMALL_BATCH, SMALL_BATCH + 1, 10_000])
def test_a_rings_batches_count_and_rate_as_one_by_one_whatever_their_size(size):
    """Batches up to SMALL_BATCH slots are taken event by event, larger ones in bulk; both give
    the view the same counts, rates and state as one event at a time."""
    quotes = [ev.make(ev.EventType.QUOTE, instrument_id=1, venue_id=1, bid_px_e8=1, ask_px_e8=2,
                      ts_receive_ns=T0 + k * 7 * MS if k % 5 else 0, ts_venue_ns=T0 + k * 6 * MS)
              for k in range(400)]
    events = quotes[:150] + stream() + quotes[150:]
    slots = np.concatenate([np.frombuffer(e.tobytes(), dtype=np.uint8) for e in events]).reshape(-1, ev.SLOT_SIZE)
    batched, single = OpsView(load_refdata()), OpsView(load_refdata())
    for lo in range(0, len(slots), size):
        batched.on_batch(slots[lo:lo + size])
    for e in events:
        single.on_event(e)
    assert batched.snapshot() == single.snapshot()
    assert batched.snapshot()["events"]["by_type"]["QUOTE"]["count"] == 401


def test_percentiles_agree_with_the_hdr_library():
    from fxpipe.ops.view import HopHistogram

    h = HopHistogram()
    for k in range(1, 2000):
        h.record(k * k * 37 % 9_000_017)
    assert h.percentiles((50.0, 90.0, 99.0, 99.9, 100.0)) == \
        [int(h.hist.get_value_at_percentile(p)) for p in (50.0, 90.0, 99.0, 99.9, 100.0)]


def test_the_publisher_takes_a_rings_batch_whole_and_still_hurries_an_answer(tmp_path):
    from fxpipe.ops.host import OpsPublisher

    slots = np.concatenate([np.frombuffer(e.tobytes(), dtype=np.uint8) for e in stream()]).reshape(-1, ev.SLOT_SIZE)
    types = slots[:, :2].copy().view("<u2").ravel()
    quiet = slots[types != ev.EventType.CONTROL]
    prefix = f"opsb{tmp_path.name[-12:]}"
    bulk = OpsPublisher(prefix + "a", load_refdata(), raise_alarms=False)
    one = OpsPublisher(prefix + "b", load_refdata(), raise_alarms=False)
    try:
        bulk.on_batch(quiet)
        for i in range(len(quiet)):
            one.on_event(quiet[i].tobytes())
        assert bulk.view.snapshot() == one.view.snapshot()
        assert bulk.view.urgent == one.view.urgent
        bulk.view.urgent = False
        bulk.on_batch(slots[types == ev.EventType.CONTROL][:1])
        assert bulk.view.urgent      # an operator's command: published at once, not at the tick
    finally:
        bulk.close()
        one.close()
