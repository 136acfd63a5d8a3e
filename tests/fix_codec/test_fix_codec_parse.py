"""parse(): the happy paths and typed accessors over typical FX messages."""
import pytest
from fix_codec_msgs import (
    T0_NS,
    execution_report,
    header,
    new_order_single,
    snapshot,
    wire,
)

from fxpipe.fix import codec
from fxpipe.fix.enums import ExecType, OrdStatus, Side
from fxpipe.fix.tags import Tag


def test_execution_report_typed_accessors():
    raw = execution_report(seq=12)
    m = codec.parse(raw)
    assert m.msg_type == "8"
    assert m.seq_num == 12
    assert m.raw is raw
    assert m.get(Tag.ClOrdID) == b"ord-20231114-000042"
    assert m.get_str(Tag.Symbol) == "EUR/USD"
    assert m.get_char(Tag.ExecType) == ExecType.PARTIAL_FILL
    assert m.get_char(Tag.OrdStatus) == OrdStatus.PARTIALLY_FILLED
    assert m.get_char(Tag.Side) == Side.BUY
    assert m.get_scaled(Tag.LastPx, 8) == 108341000
    assert m.get_scaled(Tag.LastShares, 2) == 100000000
    assert m.get_scaled(Tag.LeavesQty, 2) == 400000000
    assert m.get_int(Tag.MsgSeqNum) == 12
    assert m.get_utc_ns(Tag.SendingTime) == T0_NS
    assert m.get_utc_ns(Tag.TransactTime) == T0_NS - 3_000_000
    assert m.has(Tag.AvgPx) and not m.has(Tag.Text)
    assert m.get(Tag.Text) is None and m.get_int(Tag.Text, 5) == 5


def test_fields_in_wire_order_include_framing_fields():
    m = codec.parse(new_order_single())
    tags = [t for t, _ in m.fields()]
    assert tags[:3] == [8, 9, 35] and tags[-1] == 10
    assert dict(m.fields())[Tag.Price] == b"1.08345"
    assert len(m) == len(tags)


def test_body_excludes_header_and_trailer():
    m = codec.parse(new_order_single())
    body = m.body()
    assert body[0] == (11, b"ord-20231114-000042")
    assert {t for t, _ in body}.isdisjoint({8, 9, 35, 49, 56, 34, 52, 10})


def test_snapshot_groups():
    m = codec.parse(snapshot())
    entries = m.groups(Tag.NoMDEntries)
    assert [e.get_char(269) for e in entries] == ["0", "0", "1", "1"]
    assert [e.get_scaled(270, 8) for e in entries] == [108341000, 108340000, 108347000, 108349000]
    assert entries[1].get_scaled(271, 2) == 300000000
    assert entries[0].fields() == [(269, b"0"), (270, b"1.08341"), (271, b"1000000")]


def test_groups_entry_outlives_message():
    entries = codec.parse(snapshot()).groups(Tag.NoMDEntries)
    import gc
    gc.collect()
    assert entries[3].get(270) == b"1.08349"


def test_groups_of_a_custom_group_need_first_tag():
    raw = wire(header("U1") + "9000=2|9001=a|9002=x|9001=b|9002=y|58=end|")
    m = codec.parse(raw)
    with pytest.raises(ValueError, match="first_tag"):
        m.groups(9000)
    entries = m.groups(9000, first_tag=9001, members=[9002])
    assert [e.get_str(9002) for e in entries] == ["x", "y"]
    assert m.groups(9999) == []


def test_groups_count_mismatch_is_reason_16():
    raw = wire(header("U1") + "9000=3|9001=a|9001=b|")
    with pytest.raises(codec.FixParseError) as exc:
        codec.parse(raw).groups(9000, first_tag=9001, members=[])
    assert exc.value.reason == 16


def test_parse_accepts_bytearray_and_memoryview_by_copying():
    raw = execution_report()
    ba = bytearray(raw)
    m = codec.parse(ba)
    ba[:] = b"x" * len(ba)
    assert m.get_str(55) == "EUR/USD"
    assert codec.parse(memoryview(raw)).seq_num == 7


def test_parse_range_within_a_stream_buffer():
    a, b = execution_report(1), execution_report(2)
    stream = a + b
    m = codec.parse(stream, start=len(a), end=len(a) + len(b))
    assert m.seq_num == 2
    assert m.raw == b
    with pytest.raises(ValueError, match="outside"):
        codec.parse(stream, start=5, end=len(stream) + 1)


def test_validate_false_skips_the_dictionary_but_not_the_header():
    raw = wire(header("D") + "11=x|")          # NewOrderSingle without its required fields
    assert codec.parse(raw, validate=False).get_str(11) == "x"
    with pytest.raises(codec.FixParseError):
        codec.parse(raw)
    no_seq = wire("35=D|49=A|56=B|52=20231114-22:13:20|11=x|")
    with pytest.raises(codec.FixParseError) as exc:
        codec.parse(no_seq, validate=False)
    assert exc.value.ref_tag == 34


def test_many_fields_spill_to_the_heap():
    entries = "".join(f"269={i % 2}|270=1.{i:04d}|271=1000000|" for i in range(200))
    raw = wire(header("W") + f"55=EUR/USD|268=200|{entries}")
    m = codec.parse(raw)
    assert len(m.groups(268)) == 200
    assert m.groups(268)[199].get(270) == b"1.0199"


def test_data_field_may_contain_soh():
    raw = wire(header("B") + "148=headline|33=1|58=line|95=5|96=a\x01b=c|")
    m = codec.parse(raw)
    assert m.get(96) == b"a\x01b=c"


def test_typed_accessor_errors_carry_a_reason():
    raw = wire(header("U1") + "9001=abc|9002=1.123456789|9003=20231399-00:00:00|")
    m = codec.parse(raw)
    with pytest.raises(codec.FixParseError) as exc:
        m.get_int(9001)
    assert exc.value.reason == 6 and exc.value.ref_tag == 9001
    with pytest.raises(codec.FixParseError) as exc:
        m.get_scaled(9002, 8)
    assert exc.value.reason == 5 and "exactly" in str(exc.value)
    assert m.get_scaled(9002, 9) == 1123456789
    with pytest.raises(codec.FixParseError):
        m.get_utc_ns(9003)
    with pytest.raises(codec.FixParseError):
        m.get_char(9001)


@pytest.mark.parametrize("text,scale,expected", [
    ("1.08345", 8, 108345000), ("-0.5", 2, -50), ("1000000", 2, 100000000),
    ("1.50000000000", 2, 150), ("007", 0, 7), (".25", 2, 25), ("3.", 1, 30),
    ("92233720368.54775807", 8, 9223372036854775807),
    ("-92233720368.54775807", 8, -9223372036854775807),
])
def test_get_scaled_exact(text, scale, expected):
    m = codec.parse(wire(header("U1") + f"9001={text}|"))
    assert m.get_scaled(9001, scale) == expected


# The shared conversion (fxpipe.model.numbers) keeps |value| <= INT64_MAX, so INT64_MIN is out.
@pytest.mark.parametrize("text", ["92233720368.54775808", "-92233720368.54775808", "1e5", "1.2.3", "-", ".", "+1"])
def test_get_scaled_rejects(text):
    m = codec.parse(wire(header("U1") + f"9001={text}|"))
    with pytest.raises(codec.FixParseError):
        m.get_scaled(9001, 8)


@pytest.mark.parametrize("text,ns", [
    ("19700101-00:00:00", 0),
    ("20231114-22:13:20.123", T0_NS),
    ("20231114-22:13:20.123456", T0_NS + 456_000),
    ("20231114-22:13:20.123456789", T0_NS + 456_789),
    ("20240229-00:00:00", 1_709_164_800_000_000_000),
    ("19691231-23:59:59.999", -1_000_000),
])
def test_get_utc_ns(text, ns):
    m = codec.parse(wire(header("U1") + f"9001={text}|"))
    assert m.get_utc_ns(9001) == ns
