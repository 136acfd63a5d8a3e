"""Every way a message can fail, and the reason each gets: SessionRejectReason for a Reject,
GarbleReason for a message FIX says to drop, plus the tag and MsgSeqNum a Reject refers to."""
import pytest
from fix_codec_msgs import EXEC_REPORT_BODY, NEW_ORDER_BODY, execution_report, header, wire

from fxpipe.fix import codec
from fxpipe.fix.enums import UNSUPPORTED_BEGIN_STRING, GarbleReason, SessionRejectReason, fix42_reject_reason
from fxpipe.fix.errors import FixParseError

R = SessionRejectReason


def reject(raw, **kw):
    with pytest.raises(codec.FixParseError) as exc:
        codec.parse(raw, **kw)
    return exc.value


def test_fix_parse_error_is_a_value_error_from_codec():
    assert codec.FixParseError is FixParseError
    assert issubclass(codec.FixParseError, ValueError)


@pytest.mark.parametrize("raw,reason", [
    (b"9=FIX.4.2\x019=5\x0135=0\x0110=000\x01", GarbleReason.BEGIN_STRING),
    (b"8=FIX.4.2\x0135=0\x019=5\x0110=000\x01", GarbleReason.BODY_LENGTH),
    (b"8=FIX.4.2\x019=x5\x0135=0\x0110=000\x01", GarbleReason.BODY_LENGTH),
    (b"8=FIX.4.2\x019=123456789\x0135=0\x0110=000\x01", GarbleReason.TOO_LARGE),
    (execution_report()[:-3] + b"99\x01", GarbleReason.CHECKSUM),
    (execution_report()[:-4] + b"1x\x01", GarbleReason.CHECKSUM),
    (execution_report() + b"8", GarbleReason.TRAILING_BYTES),
    (execution_report()[:-1], GarbleReason.INCOMPLETE),
    (b"", GarbleReason.INCOMPLETE),
])
def test_garbled_framing(raw, reason):
    err = reject(raw)
    assert err.reason == reason
    assert err.garbled
    assert "drop it without a Reject" in str(err)


def test_body_length_off_by_one_is_garbled():
    raw = execution_report()
    body_len = int(raw.split(b"\x01")[1][2:])
    bad = raw.replace(b"9=%d" % body_len, b"9=%d" % (body_len - 1), 1)
    err = reject(bad)
    assert err.garbled and err.reason in (GarbleReason.BODY_LENGTH, GarbleReason.CHECKSUM)


def test_msg_type_not_third_is_garbled():
    raw = wire("49=LP1|35=8|56=FXPIPE|34=7|52=20231114-22:13:20|")
    assert reject(raw).reason == GarbleReason.MSG_TYPE_NOT_THIRD


def test_other_fix_version_is_not_garbled_but_unsupported():
    err = reject(wire(header("0"), begin="FIX.4.4"))
    assert err.reason == UNSUPPORTED_BEGIN_STRING and not err.garbled
    assert "Logout" in str(err)


@pytest.mark.parametrize("missing", [49, 56, 34, 52])
def test_required_header_fields(missing):
    fields = {49: "LP1", 56: "FXPIPE", 34: "7", 52: "20231114-22:13:20"}
    del fields[missing]
    raw = wire("35=0|" + "".join(f"{t}={v}|" for t, v in fields.items()))
    err = reject(raw, validate=False)
    assert (err.reason, err.ref_tag, err.ref_msg_type) == (R.REQUIRED_TAG_MISSING, missing, "0")
    assert err.ref_seq_num == (None if missing == 34 else 7)
    if missing == 34:
        assert "Logout" in str(err)


@pytest.mark.parametrize("field,reason", [
    ("34=0", R.VALUE_IS_INCORRECT), ("34=x7", R.INCORRECT_DATA_FORMAT),
    ("52=20231114 22:13:20", R.INCORRECT_DATA_FORMAT), ("52=20231131-22:13:20", R.INCORRECT_DATA_FORMAT),
    ("49=", R.TAG_SPECIFIED_WITHOUT_A_VALUE),
])
def test_header_field_formats(field, reason):
    tag = field.split("=")[0]
    base = {"49": "LP1", "56": "FXPIPE", "34": "7", "52": "20231114-22:13:20"}
    base[tag] = field.split("=", 1)[1]
    raw = wire("35=0|" + "".join(f"{t}={v}|" for t, v in base.items()))
    err = reject(raw, validate=False)
    assert err.reason == reason and err.ref_tag == int(tag)


@pytest.mark.parametrize("msg_type", ["I", "ZZ", "8X"])
def test_invalid_msg_type(msg_type):
    err = reject(wire(header(msg_type)), validate=False)
    assert err.reason == R.INVALID_MSG_TYPE and err.ref_msg_type == msg_type and err.ref_seq_num == 7


def order(body: str) -> bytes:
    return wire(header("D") + body)


@pytest.mark.parametrize("body,reason,tag", [
    ("abc=1|" + NEW_ORDER_BODY, R.INVALID_TAG_NUMBER, None),
    ("011=1|" + NEW_ORDER_BODY, R.INVALID_TAG_NUMBER, None),
    ("1234567890=1|" + NEW_ORDER_BODY, R.INVALID_TAG_NUMBER, None),
    (NEW_ORDER_BODY.replace("55=EUR/USD|", ""), R.REQUIRED_TAG_MISSING, 55),
    (NEW_ORDER_BODY + "31=1.0|", R.TAG_NOT_DEFINED_FOR_MSG_TYPE, 31),
    (NEW_ORDER_BODY + "4999=1|", R.UNDEFINED_TAG, 4999),
    (NEW_ORDER_BODY + "58=|", R.TAG_SPECIFIED_WITHOUT_A_VALUE, 58),
    (NEW_ORDER_BODY.replace("54=1", "54=Z"), R.VALUE_IS_INCORRECT, 54),
    (NEW_ORDER_BODY.replace("59=3", "59=33"), R.INCORRECT_DATA_FORMAT, 59),
    (NEW_ORDER_BODY.replace("38=5000000", "38=5e6"), R.INCORRECT_DATA_FORMAT, 38),
    (NEW_ORDER_BODY.replace("60=20231114-22:13:20.123", "60=20231114-22:13:20.1"), R.INCORRECT_DATA_FORMAT, 60),
    (NEW_ORDER_BODY + "18=1 Z|", R.VALUE_IS_INCORRECT, 18),
    (NEW_ORDER_BODY + "55=GBP/USD|", R.TAG_APPEARS_MORE_THAN_ONCE, 55),
    (NEW_ORDER_BODY + "49=LP2|", R.TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER, 49),
    (NEW_ORDER_BODY + "93=3|89=sig|58=after trailer|", R.TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER, 58),
    (NEW_ORDER_BODY + "95=9|96=abc|", R.INCORRECT_DATA_FORMAT, 96),
    (NEW_ORDER_BODY + "432=20231399|", R.INCORRECT_DATA_FORMAT, 432),
])
def test_body_validation(body, reason, tag):
    err = reject(order(body))
    assert err.reason == reason
    assert err.ref_tag == tag
    assert err.ref_msg_type == "D" and err.ref_seq_num == 7
    assert not err.garbled
    assert "Reject" in str(err)


def test_tag_too_long_is_invalid_even_without_validation():
    assert reject(order("12345678901=1|" + NEW_ORDER_BODY), validate=False).reason == R.INVALID_TAG_NUMBER


@pytest.mark.parametrize("entries,reason,tag", [
    ("268=2|269=0|270=1.1|269=1|", R.REQUIRED_TAG_MISSING, 270),
    ("268=3|269=0|270=1.1|269=1|270=1.2|", R.INCORRECT_NUM_IN_GROUP_COUNT, 268),
    ("268=1|269=0|270=1.1|269=1|270=1.2|", R.INCORRECT_NUM_IN_GROUP_COUNT, 268),
    ("268=1|270=1.1|269=0|", R.REPEATING_GROUP_FIELDS_OUT_OF_ORDER, 270),
    ("268=1|269=0|270=1.1|270=1.2|", R.TAG_APPEARS_MORE_THAN_ONCE, 270),
    ("268=x|269=0|270=1.1|", R.INCORRECT_DATA_FORMAT, 268),
    ("268=1|269=Z|270=1.1|", R.VALUE_IS_INCORRECT, 269),
    ("", R.REQUIRED_TAG_MISSING, 268),
])
def test_md_entries_group_rules(entries, reason, tag):
    err = reject(wire(header("W") + "55=EUR/USD|" + entries))
    assert (err.reason, err.ref_tag) == (reason, tag)


def test_group_fields_in_any_order_after_the_delimiter():
    m = codec.parse(wire(header("W") + "55=EUR/USD|268=1|269=0|271=1000000|270=1.1|"))
    assert m.groups(268)[0].get_scaled(271, 2) == 100000000


def test_incremental_refresh_group():
    raw = wire(header("X") + "262=md1|268=2|279=0|269=0|55=EUR/USD|270=1.08|271=1000000|"
                             "279=2|269=1|55=EUR/USD|270=1.09|")
    entries = codec.parse(raw).groups(268)
    assert [e.get_char(279) for e in entries] == ["0", "2"]


def test_nested_group_new_order_list():
    body = ("66=L1|394=3|68=2|73=2|11=a|67=1|55=EUR/USD|54=1|78=2|79=acc1|80=10|"
            "79=acc2|80=20|11=b|67=2|55=EUR/USD|54=2|")
    m = codec.parse(wire(header("E") + body))
    orders = m.groups(73)
    assert [o.get_str(11) for o in orders] == ["a", "b"]
    assert [a.get_str(79) for a in orders[0].groups(78)] == ["acc1", "acc2"]
    bad = wire(header("E") + body.replace("78=2", "78=3"))
    err = reject(bad)
    assert err.ref_tag == 78
    assert err.reason == R.INCORRECT_NUM_IN_GROUP_COUNT


def test_user_defined_tags_are_accepted():
    m = codec.parse(order(NEW_ORDER_BODY + "5001=desk-7|9999=x|"))
    assert m.get_str(5001) == "desk-7"


def test_user_defined_message_type_has_no_per_message_rules():
    # No required or allowed fields are known for a user-defined MsgType; field rules still hold.
    assert codec.parse(wire(header("U7") + "9001=1|44=1.5|")).msg_type == "U7"
    assert reject(wire(header("U7") + "9001=1|44=1.5.5|")).reason == R.INCORRECT_DATA_FORMAT


def test_execution_report_reject_names_seq_num():
    raw = wire(header("8", seq=41) + EXEC_REPORT_BODY.replace("39=1|", ""))
    err = reject(raw)
    assert (err.reason, err.ref_tag, err.ref_seq_num) == (R.REQUIRED_TAG_MISSING, 39, 41)
    assert "OrdStatus" in str(err) and "ExecutionReport" in str(err) and "MsgSeqNum 41" in str(err)


def test_fix42_reject_reason_has_no_4_3_codes():
    assert fix42_reject_reason(R.REQUIRED_TAG_MISSING) == 1
    assert fix42_reject_reason(R.INVALID_MSG_TYPE) == 11
    assert fix42_reject_reason(R.TAG_APPEARS_MORE_THAN_ONCE) is None


def test_error_pickles_with_its_fields():
    import pickle
    err = reject(order(NEW_ORDER_BODY.replace("54=1", "54=Z")))
    back = pickle.loads(pickle.dumps(err))
    assert (back.reason, back.ref_tag, back.ref_msg_type, back.ref_seq_num) == (5, 54, "D", 7)


def test_reject_text_is_plain_fix_wording_and_the_exception_keeps_the_detail():
    exc = reject(wire(header("D") + NEW_ORDER_BODY.replace("54=1|", "54=Z|")))
    assert exc.reject_text == "Value is incorrect (out of range) for this tag: tag 54 (Side)"
    # Our own logs and exceptions keep where it was and what the session does about it.
    assert "at byte" in str(exc) and "MsgSeqNum 7" in str(exc) and "Reject" in str(exc)
    missing = reject(wire(header("D") + NEW_ORDER_BODY.replace("55=EUR/USD|", "")))
    assert missing.reject_text == "Required tag missing: tag 55 (Symbol)"
