"""The direct C paths (orders, market data) through their Python wrappers:
what they encode parses as valid FIX 4.2 (ours and simplefix), decodes back to the same
values, and each missing or malformed field gets its reason."""
import pytest
import simplefix
from fix_codec_msgs import T0_NS, execution_report, header, snapshot, wire
from hypothesis import given, settings
from hypothesis import strategies as st

from fxpipe.fix import codec, direct
from fxpipe.fix.enums import SessionRejectReason as R

ENC = codec.Encoder("FXPIPE", "LP1")
NOS = dict(cl_ord_id="c-1", symbol="EUR/USD", side="1", ord_type="2", time_in_force="3",
           order_qty_e2=500000000, price_e8=108345000, currency="EUR", account="desk-7")


def simplefix_pairs(raw):
    p = simplefix.FixParser()
    p.append_buffer(raw)
    return {int(t): v for t, v in p.get_message().pairs}


def check_roundtrip(raw, decoded, expected):
    codec.parse(raw)                      # valid FIX 4.2, dictionary rules included
    for k, v in expected.items():
        assert decoded[k] == v, k


@settings(max_examples=100, deadline=None)
@given(st.sampled_from("DG"), st.integers(1, 10**13), st.integers(1, 10**12), st.sampled_from("12"),
       st.sampled_from("0134"), st.integers(1, 2**31 - 1))
def test_order_roundtrip(msg_type, qty, px, side, tif, seq):
    fields = dict(NOS, order_qty_e2=qty, price_e8=px, side=side, time_in_force=tif)
    if msg_type == "G":
        fields.update(orig_cl_ord_id="c-0", order_id="LP-9")
    raw = direct.encode_order(ENC, msg_type, seq, T0_NS, fields)
    d = direct.decode_order(raw)
    check_roundtrip(raw, d, dict(fields, msg_type=msg_type, seq_num=seq, transact_time_ns=T0_NS))
    assert simplefix_pairs(raw) == dict(codec.parse(raw).fields())


def test_cancel_and_status_request():
    raw = direct.encode_order(ENC, "F", 4, T0_NS, dict(cl_ord_id="c-2", orig_cl_ord_id="c-1", symbol="EUR/USD",
                                                       side="1", order_qty_e2=100))
    d = direct.decode_order(raw)
    assert (d["msg_type"], d["orig_cl_ord_id"], d["order_qty_e2"]) == ("F", "c-1", 100)
    raw = direct.encode_order(ENC, "H", 5, T0_NS, dict(cl_ord_id="c-1", symbol="EUR/USD", side="2",
                                                       order_id="LP-1"))
    m = codec.parse(raw)
    assert m.msg_type == "H" and not m.has(60) and m.get_str(37) == "LP-1"


@pytest.mark.parametrize("msg_type,drop", [("D", "side"), ("D", "ord_type"), ("D", "order_qty_e2"),
                                           ("D", "price_e8"), ("F", "orig_cl_ord_id"), ("X", None)])
def test_encode_order_refuses_incomplete(msg_type, drop):
    fields = {k: v for k, v in NOS.items() if k != drop}
    with pytest.raises(ValueError, match="missing"):
        direct.encode_order(ENC, msg_type, 1, T0_NS, fields)


def test_encode_refuses_long_ids_and_floats():
    with pytest.raises(ValueError, match="longer"):
        direct.encode_order(ENC, "D", 1, T0_NS, dict(NOS, cl_ord_id="x" * 47))
    with pytest.raises(TypeError, match="int"):
        direct.encode_order(ENC, "D", 1, T0_NS, dict(NOS, price_e8=1.08345))


def test_execution_report_decode():
    d = direct.decode_execution_report(execution_report(seq=9))
    assert d["seq_num"] == 9
    assert (d["exec_type"], d["ord_status"], d["last_qty_e2"], d["last_px_e8"]) == ("1", "1", 100000000, 108341000)
    assert (d["leaves_qty_e2"], d["cum_qty_e2"], d["avg_px_e8"]) == (400000000, 100000000, 108341000)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**12), st.integers(0, 10**12), st.integers(1, 10**11), st.sampled_from("0124"),
       st.booleans())
def test_execution_report_roundtrip(last, leaves, px, status, poss_dup):
    fields = dict(order_id="LP-1", cl_ord_id="c-1", exec_id="E1", exec_trans_type="0", exec_type=status,
                  ord_status=status, symbol="EUR/USD", side="2", order_qty_e2=last + leaves,
                  last_qty_e2=last, last_px_e8=px, leaves_qty_e2=leaves, cum_qty_e2=last, avg_px_e8=px)
    raw = direct.encode_execution_report(ENC, 3, T0_NS, fields)
    if poss_dup:
        m = codec.parse(raw)
        raw = codec.encode("8", "FXPIPE", "LP1", 3, T0_NS, m.body(), header=[(43, "Y"), (122, codec.format_utc_timestamp(T0_NS))])
    d = direct.decode_execution_report(raw)
    check_roundtrip(raw, d, dict(fields, poss_dup=poss_dup))


@pytest.mark.parametrize("edit,reason,tag", [
    (("151=4000000|", ""), R.REQUIRED_TAG_MISSING, 151),
    (("37=LP-ORD-991", "37=" + "x" * 47), R.VALUE_IS_INCORRECT, 37),
    (("31=1.08341", "31=1.083411234"), R.VALUE_IS_INCORRECT, 31),
    (("20=0", "20=00"), R.INCORRECT_DATA_FORMAT, 20),
])
def test_execution_report_decode_errors(edit, reason, tag):
    from fix_codec_msgs import EXEC_REPORT_BODY
    raw = wire(header("8") + EXEC_REPORT_BODY.replace(*edit))
    with pytest.raises(codec.FixParseError) as exc:
        direct.decode_execution_report(raw, validate=False)
    assert (exc.value.reason, exc.value.ref_tag) == (reason, tag)


def test_decoder_refuses_other_message_type():
    with pytest.raises(codec.FixParseError) as exc:
        direct.decode_execution_report(snapshot())
    assert exc.value.reason == R.INVALID_MSG_TYPE


def test_order_cancel_reject_roundtrip():
    fields = dict(order_id="LP-1", cl_ord_id="c-2", orig_cl_ord_id="c-1", ord_status="2",
                  cxl_rej_response_to="1", cxl_rej_reason=0)
    raw = direct.encode_order_cancel_reject(ENC, 6, T0_NS, fields)
    check_roundtrip(raw, direct.decode_order_cancel_reject(raw), fields)


def test_md_request_roundtrip():
    fields = dict(md_req_id="md-1", subscription_request_type="1", market_depth=1, md_update_type=0,
                  entry_types="01", symbols=["EUR/USD", "USD/JPY"])
    raw = direct.encode_md_request(ENC, 2, T0_NS, fields)
    check_roundtrip(raw, direct.decode_md_request(raw), fields)


def test_md_snapshot_decode_and_top_of_book():
    d = direct.decode_md_snapshot(snapshot())
    assert len(d["entries"]) == 4
    assert (d["bid_px_e8"], d["bid_size_e2"], d["ask_px_e8"], d["ask_size_e2"]) == (108341000, 100000000, 108347000, 100000000)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("01"), st.integers(1, 10**11), st.integers(1, 10**10)), min_size=1, max_size=20))
def test_md_snapshot_roundtrip(levels):
    entries = [dict(entry_type=t, px_e8=p, size_e2=s) for t, p, s in levels]
    raw = direct.encode_md_snapshot(ENC, "W", 8, T0_NS, dict(md_req_id="m", symbol="EUR/USD", entries=entries))
    d = direct.decode_md_snapshot(raw)
    codec.parse(raw)
    assert [(e["entry_type"], e["px_e8"], e["size_e2"]) for e in d["entries"]] == levels
    bids = [p for t, p, _ in levels if t == "0"]
    assert d["bid_px_e8"] == (max(bids) if bids else None)


def test_md_incremental_roundtrip():
    entries = [dict(update_action="1", entry_type="0", px_e8=108340000, size_e2=100, symbol="EUR/USD", entry_id="b1"),
               dict(update_action="2", entry_type="1", symbol="EUR/USD", entry_id="a1")]
    raw = direct.encode_md_snapshot(ENC, "X", 9, T0_NS, dict(md_req_id="m", entries=entries))
    d = direct.decode_md_snapshot(raw)
    codec.parse(raw)
    assert d["entries"][1]["update_action"] == "2" and d["entries"][1]["px_e8"] is None
    assert d["entries"][0]["entry_id"] == "b1"


def test_md_snapshot_count_mismatch():
    raw = wire(header("W") + "55=EUR/USD|268=3|269=0|270=1.1|269=1|270=1.2|")
    with pytest.raises(codec.FixParseError) as exc:
        direct.decode_md_snapshot(raw, validate=False)
    assert (exc.value.reason, exc.value.ref_tag) == (R.INCORRECT_NUM_IN_GROUP_COUNT, 268)
