"""encode, Encoder and format_utc_timestamp: what they write, and what they refuse."""
import pytest
from fix_codec_msgs import T0, T0_NS, checksum

from fxpipe.fix import codec
from fxpipe.fix.tags import Tag

BODY = [(11, "ord-1"), (21, b"1"), (55, "EUR/USD"), (54, "1"), (60, T0), (38, 1000000), (40, "2"),
        (44, "1.08345"), (59, "3")]


def test_encode_layout_body_length_and_checksum():
    raw = codec.encode("D", "FXPIPE", "LP1", 7, T0_NS, BODY)
    text = raw.decode().replace("\x01", "|")
    assert text.startswith("8=FIX.4.2|9=")
    assert f"|35=D|49=FXPIPE|56=LP1|34=7|52={T0}|11=ord-1|" in text
    head, rest = raw.split(b"\x01", 2)[:2], raw.split(b"\x01", 2)[2]
    body_len = int(head[1][2:])
    assert rest[body_len:body_len + 3] == b"10="
    assert raw[-4:-1] == checksum(raw[:-7])
    m = codec.parse(raw)
    assert m.get_int(38) == 1000000 and m.get_scaled(44, 8) == 108345000


def test_encode_header_fields_follow_sending_time():
    raw = codec.encode("8", "LP1", "FXPIPE", 3, T0_NS, [(37, "o"), (17, "e"), (20, "0"), (150, "0"),
                       (39, "0"), (55, "EUR/USD"), (54, "1"), (151, "1"), (14, "0"), (6, "0")],
                       header=[(Tag.PossDupFlag, True), (Tag.OrigSendingTime, T0)])
    assert b"\x0152=20231114-22:13:20.123\x0143=Y\x01122=" + T0.encode() + b"\x0137=o" in raw
    m = codec.parse(raw)
    assert m.get(43) == b"Y"


def test_encoder_template_matches_encode():
    enc = codec.Encoder("FXPIPE", "LP1")
    assert enc.encode("D", 7, T0_NS, BODY) == codec.encode("D", "FXPIPE", "LP1", 7, T0_NS, BODY)
    sub = codec.Encoder("FXPIPE", "LP1", header=[(50, "desk1"), (57, "fx")], frac_digits=6)
    raw = sub.encode("0", 1, T0_NS + 456_000, [])
    assert b"56=LP1\x0150=desk1\x0157=fx\x0134=1\x0152=20231114-22:13:20.123456\x01" in raw
    assert codec.parse(raw).msg_type == "0"


def test_encode_grows_for_large_messages():
    big = "x" * 100_000
    raw = codec.encode("B", "A", "B", 1, T0_NS, [(148, "h"), (33, 1), (58, big)])
    assert codec.parse(raw).get_str(58) == big


def test_encode_data_field_with_soh():
    raw = codec.encode("B", "A", "B", 1, T0_NS, [(148, "h"), (33, 1), (58, "l"), (95, 3), (96, b"a\x01b")])
    assert codec.parse(raw).get(96) == b"a\x01b"


@pytest.mark.parametrize("body,match", [
    ([(44, 1.08345)], "float"),
    ([(44, None)], "NoneType"),
    ([(58, "")], "empty"),
    ([(58, "a\x01b")], "SOH"),
    ([(34, 9)], "written by encode"),
    ([(10, "000")], "written by encode"),
    ([(0, "x")], "positive"),
    ([("58", "x")], "positive"),
])
def test_encode_refuses(body, match):
    with pytest.raises((TypeError, ValueError), match=match):
        codec.encode("D", "A", "B", 1, T0_NS, body)


@pytest.mark.parametrize("kw,match", [
    (dict(sender_comp_id=""), "sender_comp_id"),
    (dict(target_comp_id="a\x01"), "target_comp_id"),
    (dict(msg_seq_num=0), "MsgSeqNum"),
    (dict(msg_type=""), "MsgType"),
])
def test_encode_refuses_bad_header(kw, match):
    args = dict(msg_type="0", sender_comp_id="A", target_comp_id="B", msg_seq_num=1, sending_time_ns=T0_NS,
                body=[])
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        codec.encode(**args)


@pytest.mark.parametrize("ns,millis,text", [
    (0, True, "19700101-00:00:00.000"),
    (T0_NS, True, T0),
    (T0_NS + 999_999, True, T0),               # truncated, never rounded up
    (T0_NS, False, "20231114-22:13:20"),
    (-1, True, "19691231-23:59:59.999"),
    (951_782_400_000_000_000, True, "20000229-00:00:00.000"),
])
def test_format_utc_timestamp(ns, millis, text):
    assert codec.format_utc_timestamp(ns, millis) == text



def test_format_utc_timestamp_agrees_with_the_calendar_in_and_across_seconds():
    """The calendar part is worked out once a second and copied after that: stamps of the same
    second, of the next one, of one long ago and back again, and before 1970, each as the
    calendar has it."""
    import datetime as dt
    import random

    epoch = dt.datetime(1970, 1, 1)
    rnd = random.Random(11)
    base = [T0_NS, -1, 0, 951_782_400_000_000_000, -5_000_000_000_000_000_000, 9_000_000_000_000_000_000]
    stamps = []
    for b in base + [rnd.randrange(-9 * 10**18, 9 * 10**18) for _ in range(300)]:
        stamps += [b, b + 1, b + 999_999_999, b - 1, b + rnd.randrange(0, 10**9), b]
    rnd.shuffle(stamps)
    stamps += sorted(stamps[:200])
    for ns in stamps:
        sec, frac = divmod(ns, 10**9)
        want = (epoch + dt.timedelta(seconds=sec)).strftime("%Y%m%d-%H:%M:%S")
        assert codec.format_utc_timestamp(ns, False) == want, ns
        assert codec.format_utc_timestamp(ns, True) == f"{want}.{frac // 10**6:03d}", ns


def test_format_utc_timestamp_range():
    with pytest.raises(ValueError, match="1678"):
        codec.format_utc_timestamp(-(2**63))


def test_encode_reuses_templates_per_comp_ids_and_takes_bytearray():
    a = codec.encode("0", "A", "B", 1, T0_NS, [])
    b = codec.encode("0", "A", "C", 1, T0_NS, [])
    assert b"56=B\x01" in a and b"56=C\x01" in b
    assert codec.encode("0", bytearray(b"A"), "B", 1, T0_NS, []) == a
