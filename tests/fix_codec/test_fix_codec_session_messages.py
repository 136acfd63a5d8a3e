"""Session messages (A, 0..5, j) have one way onto the wire: the bodies of
fxpipe.fix.session.admin through the template encoder, as the session's outbox sends them.
Each encodes to valid FIX 4.2 (our dictionary and simplefix agree on every field), carries
PossDupFlag and OrigSendingTime in the header when resent, and a session message missing a
required field is refused by the parser with the tag named."""
import pytest
import simplefix
from fix_codec_msgs import T0_NS, header, wire

from fxpipe.fix import codec
from fxpipe.fix.enums import SessionRejectReason as R
from fxpipe.fix.session import admin
from fxpipe.fix.tags import Tag

ENC = codec.Encoder("FXPIPE", "LP1")
ORIG_NS = T0_NS - 10**9


def simplefix_pairs(raw):
    p = simplefix.FixParser()
    p.append_buffer(raw)
    return [(int(t), v) for t, v in p.get_message().pairs]


@pytest.mark.parametrize("msg_type,body", [
    (admin.LOGON, admin.logon(30, reset=True)),
    (admin.LOGON, admin.logon(30, reset=False)),
    (admin.HEARTBEAT, admin.heartbeat("T1")),
    (admin.HEARTBEAT, admin.heartbeat()),
    (admin.TEST_REQUEST, admin.test_request("T2")),
    (admin.RESEND_REQUEST, admin.resend_request(5)),
    (admin.REJECT, admin.reject(7, R.VALUE_IS_INCORRECT, "Value is incorrect", Tag.Side, "D")),
    (admin.REJECT, admin.reject(7, R.TAG_APPEARS_MORE_THAN_ONCE, "Tag appears more than once", Tag.Side, "D")),
    (admin.SEQUENCE_RESET, admin.gap_fill(12)),
    (admin.SEQUENCE_RESET, admin.sequence_reset(40)),
    (admin.LOGOUT, admin.logout("end of day")),
    (admin.BUSINESS_MESSAGE_REJECT, admin.business_reject(7, "Q", admin.UNSUPPORTED_MESSAGE_TYPE, "unsupported")),
])
def test_session_message_encodes_to_valid_fix42(msg_type, body):
    raw = ENC.encode(msg_type, 11, T0_NS, body)
    msg = codec.parse(raw)                       # the dictionary's required fields included
    assert msg.msg_type == msg_type and msg.seq_num == 11
    sent = [(int(t), v if isinstance(v, bytes) else str(v).encode()) for t, v in body]
    assert [f for f in msg.fields() if f[0] in {t for t, _ in body}] == sent
    assert simplefix_pairs(raw) == list(msg.fields())


def test_resent_gap_fill_carries_poss_dup_and_orig_sending_time_in_the_header():
    resend_header = [(admin.POSS_DUP_FLAG, "Y"), (admin.ORIG_SENDING_TIME, codec.format_utc_timestamp(ORIG_NS))]
    raw = ENC.encode(admin.SEQUENCE_RESET, 4, T0_NS, admin.gap_fill(9), resend_header)
    msg = codec.parse(raw)
    assert msg.get_char(Tag.PossDupFlag) == "Y"
    assert msg.get_utc_ns(Tag.OrigSendingTime) == ORIG_NS
    tags = [t for t, _ in msg.fields()]
    assert tags.index(Tag.OrigSendingTime) < tags.index(Tag.GapFillFlag)  # header before body


@pytest.mark.parametrize("msg_type,body,missing", [
    (admin.RESEND_REQUEST, "7=5|", Tag.EndSeqNo),
    (admin.TEST_REQUEST, "", Tag.TestReqID),
    (admin.SEQUENCE_RESET, "123=Y|", Tag.NewSeqNo),
    (admin.LOGON, "98=0|", Tag.HeartBtInt),
    (admin.REJECT, "58=x|", Tag.RefSeqNum),
])
def test_session_message_without_a_required_field_is_refused(msg_type, body, missing):
    with pytest.raises(codec.FixParseError) as exc:
        codec.parse(wire(header(msg_type) + body))
    assert (exc.value.reason, exc.value.ref_tag) == (R.REQUIRED_TAG_MISSING, missing)
