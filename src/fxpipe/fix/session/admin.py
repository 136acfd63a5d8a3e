"""Session-level (admin) message vocabulary of FIX 4.2: types, tags and bodies (the MsgType and
SessionRejectReason values themselves are defined in fxpipe.fix.enums).

The bodies built here are lists of (tag, value) in the order the spec lists the fields; the
session hands them to the codec's encode with the header it owns.
"""
from __future__ import annotations

from fxpipe.fix.enums import ADMIN_MSG_TYPES, BusinessRejectReason, MsgType, fix42_reject_reason
from fxpipe.fix.tags import ENCODER_TAGS, HEADER_TAGS, Tag

# MsgType values of the session layer, as plain str (defined once, in fxpipe.fix.enums);
# everything else is an application message.
LOGON = MsgType.LOGON.value
HEARTBEAT = MsgType.HEARTBEAT.value
TEST_REQUEST = MsgType.TEST_REQUEST.value
RESEND_REQUEST = MsgType.RESEND_REQUEST.value
REJECT = MsgType.REJECT.value
SEQUENCE_RESET = MsgType.SEQUENCE_RESET.value
LOGOUT = MsgType.LOGOUT.value
ADMIN_TYPES = ADMIN_MSG_TYPES
assert ADMIN_TYPES == {LOGON, HEARTBEAT, TEST_REQUEST, RESEND_REQUEST, REJECT, SEQUENCE_RESET, LOGOUT}

# Tags the session reads or writes, as plain int (defined once, in fxpipe.fix.tags).
BEGIN_STRING, BODY_LENGTH, CHECK_SUM = Tag.BeginString.value, Tag.BodyLength.value, Tag.CheckSum.value
BEGIN_SEQ_NO, END_SEQ_NO = Tag.BeginSeqNo.value, Tag.EndSeqNo.value
MSG_SEQ_NUM, MSG_TYPE, NEW_SEQ_NO = Tag.MsgSeqNum.value, Tag.MsgType.value, Tag.NewSeqNo.value
POSS_DUP_FLAG, REF_SEQ_NUM = Tag.PossDupFlag.value, Tag.RefSeqNum.value
SENDER_COMP_ID, SENDING_TIME, TARGET_COMP_ID = Tag.SenderCompID.value, Tag.SendingTime.value, Tag.TargetCompID.value
TEXT = Tag.Text.value
POSS_RESEND = Tag.PossResend.value
ENCRYPT_METHOD, HEART_BT_INT = Tag.EncryptMethod.value, Tag.HeartBtInt.value
TEST_REQ_ID = Tag.TestReqID.value
ORIG_SENDING_TIME = Tag.OrigSendingTime.value
GAP_FILL_FLAG = Tag.GapFillFlag.value
RESET_SEQ_NUM_FLAG = Tag.ResetSeqNumFlag.value
REF_TAG_ID, REF_MSG_TYPE, SESSION_REJECT_REASON = (Tag.RefTagID.value, Tag.RefMsgType.value,
                                                   Tag.SessionRejectReason.value)
BUSINESS_MESSAGE_REJECT = MsgType.BUSINESS_MESSAGE_REJECT.value
BUSINESS_REJECT_REASON = Tag.BusinessRejectReason.value
UNSUPPORTED_MESSAGE_TYPE = BusinessRejectReason.UNSUPPORTED_MESSAGE_TYPE.value
# Third-party routing (reverse routing of replies).
ON_BEHALF_OF_COMP_ID, ON_BEHALF_OF_SUB_ID, ON_BEHALF_OF_LOCATION_ID = (
    Tag.OnBehalfOfCompID.value, Tag.OnBehalfOfSubID.value, Tag.OnBehalfOfLocationID.value)
DELIVER_TO_COMP_ID, DELIVER_TO_SUB_ID, DELIVER_TO_LOCATION_ID = (
    Tag.DeliverToCompID.value, Tag.DeliverToSubID.value, Tag.DeliverToLocationID.value)

# HEADER_TAGS (from fxpipe.fix.tags): the FIX 4.2 header tags, what a resend keeps as header.
# Header fields a resend writes itself: the encoder's own, and PossDupFlag and OrigSendingTime;
# a resend must not repeat them from the stored message.
ENCODER_HEADER_TAGS = (ENCODER_TAGS & HEADER_TAGS) | {POSS_DUP_FLAG, ORIG_SENDING_TIME}


def logon(heartbeat_s: int, reset: bool) -> list:
    body: list[tuple[int, int | str]] = [(ENCRYPT_METHOD, 0), (HEART_BT_INT, heartbeat_s)]
    if reset:
        body.append((RESET_SEQ_NUM_FLAG, "Y"))
    return body


def heartbeat(test_req_id: bytes | str | None = None) -> list:
    return [(TEST_REQ_ID, test_req_id)] if test_req_id else []


def test_request(test_req_id: str) -> list:
    return [(TEST_REQ_ID, test_req_id)]


def resend_request(begin: int, end: int = 0) -> list:
    # FIX 4.2: EndSeqNo 0 means "everything after BeginSeqNo".
    return [(BEGIN_SEQ_NO, begin), (END_SEQ_NO, end)]


def reject(ref_seq: int, reason: int, text: str, ref_tag: int | None = None, ref_msg_type: str | None = None) -> list:
    body: list = [(REF_SEQ_NUM, ref_seq)]
    if ref_tag:
        body.append((REF_TAG_ID, ref_tag))
    if ref_msg_type:
        body.append((REF_MSG_TYPE, ref_msg_type))
    code = fix42_reject_reason(int(reason))
    if code is not None:
        body.append((SESSION_REJECT_REASON, code))
    else:
        # FIX 4.3's reasons 13..17 (duplicate tag, tag out of order...) have no FIX 4.2 code,
        # and a 4.2 counterparty may reject an unknown 373: the reason goes in Text alone.
        text = f"{text} (reason {int(reason)})" if text else f"reason {int(reason)}"
    if text:
        body.append((TEXT, text))
    return body


def business_reject(ref_seq: int, ref_msg_type: str, reason: int, text: str) -> list:
    return [(REF_SEQ_NUM, ref_seq), (REF_MSG_TYPE, ref_msg_type), (BUSINESS_REJECT_REASON, reason), (TEXT, text)]


def gap_fill(new_seq_no: int) -> list:
    return [(GAP_FILL_FLAG, "Y"), (NEW_SEQ_NO, new_seq_no)]


def sequence_reset(new_seq_no: int) -> list:
    return [(NEW_SEQ_NO, new_seq_no)]


def logout(text: str = "") -> list:
    return [(TEXT, text)] if text else []
