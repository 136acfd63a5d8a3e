"""The C codec, the Python enums and the reason texts speak one vocabulary: every failure code
compiled into the scanner is the value of the Python enum member it stands for, every code has
its text, and the tag sets the C hot paths test are the ones fxpipe.fix.tags names."""
import pytest

from fxpipe.fix import codec, scan, spec42
from fxpipe.fix.enums import (
    UNSUPPORTED_BEGIN_STRING,
    BusinessRejectReason,
    GarbleReason,
    SessionRejectReason,
    fix42_reject_reason,
)
from fxpipe.fix.errors import FixParseError
from fxpipe.fix.reasons import BUSINESS_REJECT_TEXT, GARBLE_CODES, REASON_TEXT
from fxpipe.fix.session import admin
from fxpipe.fix.tags import DATA_LENGTH_TAG, ENCODER_TAGS, HEADER_TAGS, TRAILER_TAGS, Tag

T0_NS = 1_700_000_000_123_000_000


def _python_codes() -> dict[str, int]:
    codes = {f"SessionRejectReason.{m.name}": int(m) for m in SessionRejectReason}
    codes |= {f"GarbleReason.{m.name}": int(m) for m in GarbleReason}
    codes["UNSUPPORTED_BEGIN_STRING"] = UNSUPPORTED_BEGIN_STRING
    return codes


def test_c_failure_codes_are_the_python_enum_values():
    assert scan.C_FAILURE_CODES == _python_codes()


def test_every_failure_code_has_its_text_and_no_text_is_orphaned():
    assert set(REASON_TEXT) == set(_python_codes().values())
    assert all(REASON_TEXT.values())
    assert GARBLE_CODES == {int(g) for g in GarbleReason}


def test_business_reject_reasons_are_fix42s_with_their_texts():
    fix42 = {int(v) for v in spec42.FIELDS[Tag.BusinessRejectReason][2]}
    assert {int(m) for m in BusinessRejectReason} == fix42 == set(BUSINESS_REJECT_TEXT)


def test_session_reject_reasons_of_fix42_go_in_373_the_later_ones_in_text():
    fix42 = {int(v) for v in spec42.FIELDS[Tag.SessionRejectReason][2]}
    assert fix42 == set(range(12))
    for reason in SessionRejectReason:
        assert fix42_reject_reason(reason) == (int(reason) if reason in fix42 else None)
    body = dict(admin.reject(9, SessionRejectReason.TAG_APPEARS_MORE_THAN_ONCE, "dup", 55))
    assert admin.SESSION_REJECT_REASON not in body and "reason 13" in body[admin.TEXT]


@pytest.mark.parametrize("raw,reason", [
    (b"8=FIX.4.2\x019=5\x0135=0\x0110=000\x01", GarbleReason.CHECKSUM),
    (b"8=FIX.4.4\x019=5\x0135=0\x0110=", GarbleReason.INCOMPLETE),
])
def test_the_codec_raises_the_codes_and_texts_of_the_vocabulary(raw, reason):
    with pytest.raises(FixParseError) as info:
        codec.parse(raw)
    assert info.value.reason == reason
    assert REASON_TEXT[reason] in str(info.value)


def test_a_reject_reason_from_the_c_validator_carries_its_text():
    raw = codec.encode("D", "A", "B", 3, T0_NS, [(11, "c1"), (21, "1"), (55, "EUR/USD"), (54, "Z"),
                                                 (60, "20231114-22:13:20"), (40, "1")])
    with pytest.raises(FixParseError) as info:
        codec.parse(raw)
    assert info.value.reason == SessionRejectReason.VALUE_IS_INCORRECT
    assert REASON_TEXT[SessionRejectReason.VALUE_IS_INCORRECT] in str(info.value)


def test_data_fields_in_c_are_fix42s_data_fields():
    data = {tag for tag, (_, ftype, _) in spec42.FIELDS.items() if ftype == "DATA"}
    lengths = {tag for tag, (_, ftype, _) in spec42.FIELDS.items() if ftype == "LENGTH"}
    assert set(DATA_LENGTH_TAG) == data
    assert set(DATA_LENGTH_TAG.values()) == lengths
    assert scan.C_DATA_LENGTH_TAG == DATA_LENGTH_TAG
    assert scan.C_LENGTH_TAGS == lengths


def test_the_encoders_own_tags_are_one_set():
    assert scan.C_ENCODER_TAGS == ENCODER_TAGS
    assert ENCODER_TAGS <= HEADER_TAGS | TRAILER_TAGS
    # What a resend must not copy from the stored message: the encoder's own header fields and
    # the two it adds itself, nothing else.
    assert admin.ENCODER_HEADER_TAGS == (ENCODER_TAGS & HEADER_TAGS) | {Tag.PossDupFlag, Tag.OrigSendingTime}
    assert admin.HEADER_TAGS == HEADER_TAGS


@pytest.mark.parametrize("tag", sorted(ENCODER_TAGS))
def test_encode_refuses_every_tag_it_writes_itself(tag):
    with pytest.raises(ValueError, match="written by encode"):
        codec.encode("0", "A", "B", 1, T0_NS, [(tag, "1")])
    with pytest.raises(ValueError, match="written by encode"):
        codec.encode("0", "A", "B", 1, T0_NS, [], header=[(tag, "1")])


def test_encode_takes_every_other_header_tag():
    others = sorted(HEADER_TAGS - ENCODER_TAGS - set(DATA_LENGTH_TAG) - set(DATA_LENGTH_TAG.values()))
    raw = codec.encode("0", "A", "B", 1, T0_NS, [], header=[(t, "Y") for t in others])
    assert [t for t, _ in codec.parse(raw, validate=False).fields()][7:-1] == others
