"""Every name other modules import from the FIX vocabulary keeps working with the value it had
when each module held its own copy: fxpipe.fix.enums members, the session's admin constants and
the reason texts (Reject Text and FixParseError messages read them)."""
import enum

import pytest

from fxpipe.fix import enums, spec42
from fxpipe.fix.reasons import REASON_TEXT
from fxpipe.fix.session import admin
from fxpipe.fix.tags import Tag

ENUM_MEMBERS = {
    "CxlRejResponseTo": {"ORDER_CANCEL_REQUEST": "1", "ORDER_CANCEL_REPLACE_REQUEST": "2"},
    "EncryptMethod": {"NONE": 0},
    "ExecTransType": {"NEW": "0", "CANCEL": "1", "CORRECT": "2", "STATUS": "3"},
    "ExecType": {"NEW": "0", "PARTIAL_FILL": "1", "FILL": "2", "DONE_FOR_DAY": "3", "CANCELED": "4", "REPLACE": "5", "PENDING_CANCEL": "6", "STOPPED": "7", "REJECTED": "8", "SUSPENDED": "9", "PENDING_NEW": "A", "CALCULATED": "B", "EXPIRED": "C", "RESTATED": "D", "PENDING_REPLACE": "E"},
    "GarbleReason": {"BEGIN_STRING": 1000, "BODY_LENGTH": 1001, "CHECKSUM": 1002, "MSG_TYPE_NOT_THIRD": 1003, "TOO_LARGE": 1004, "TRAILING_BYTES": 1005, "INCOMPLETE": 1006},
    "HandlInst": {"AUTOMATED_PRIVATE": "1", "AUTOMATED_PUBLIC": "2", "MANUAL": "3"},
    "MDEntryType": {"BID": "0", "OFFER": "1", "TRADE": "2"},
    "MDUpdateAction": {"NEW": "0", "CHANGE": "1", "DELETE": "2"},
    "MsgType": {"HEARTBEAT": "0", "TEST_REQUEST": "1", "RESEND_REQUEST": "2", "REJECT": "3", "SEQUENCE_RESET": "4", "LOGOUT": "5", "EXECUTION_REPORT": "8", "ORDER_CANCEL_REJECT": "9", "LOGON": "A", "NEW_ORDER_SINGLE": "D", "ORDER_CANCEL_REQUEST": "F", "ORDER_CANCEL_REPLACE_REQUEST": "G", "ORDER_STATUS_REQUEST": "H", "MARKET_DATA_REQUEST": "V", "MARKET_DATA_SNAPSHOT_FULL_REFRESH": "W", "MARKET_DATA_INCREMENTAL_REFRESH": "X", "MARKET_DATA_REQUEST_REJECT": "Y", "BUSINESS_MESSAGE_REJECT": "j"},
    "OrdStatus": {"NEW": "0", "PARTIALLY_FILLED": "1", "FILLED": "2", "DONE_FOR_DAY": "3", "CANCELED": "4", "REPLACED": "5", "PENDING_CANCEL": "6", "STOPPED": "7", "REJECTED": "8", "SUSPENDED": "9", "PENDING_NEW": "A", "CALCULATED": "B", "EXPIRED": "C", "ACCEPTED_FOR_BIDDING": "D", "PENDING_REPLACE": "E"},
    "OrdType": {"MARKET": "1", "LIMIT": "2", "STOP": "3", "STOP_LIMIT": "4", "PREVIOUSLY_QUOTED": "D"},
    "SessionRejectReason": {"INVALID_TAG_NUMBER": 0, "REQUIRED_TAG_MISSING": 1, "TAG_NOT_DEFINED_FOR_MSG_TYPE": 2, "UNDEFINED_TAG": 3, "TAG_SPECIFIED_WITHOUT_A_VALUE": 4, "VALUE_IS_INCORRECT": 5, "INCORRECT_DATA_FORMAT": 6, "DECRYPTION_PROBLEM": 7, "SIGNATURE_PROBLEM": 8, "COMP_ID_PROBLEM": 9, "SENDING_TIME_ACCURACY_PROBLEM": 10, "INVALID_MSG_TYPE": 11, "TAG_APPEARS_MORE_THAN_ONCE": 13, "TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER": 14, "REPEATING_GROUP_FIELDS_OUT_OF_ORDER": 15, "INCORRECT_NUM_IN_GROUP_COUNT": 16, "NON_DATA_VALUE_INCLUDES_FIELD_DELIMITER": 17},
    "Side": {"BUY": "1", "SELL": "2"},
    "SubscriptionRequestType": {"SNAPSHOT": "0", "SNAPSHOT_PLUS_UPDATES": "1", "DISABLE": "2"},
    "TimeInForce": {"DAY": "0", "GOOD_TILL_CANCEL": "1", "IMMEDIATE_OR_CANCEL": "3", "FILL_OR_KILL": "4", "GOOD_TILL_DATE": "6"},
}
ADMIN_CONSTANTS = {
    "LOGON": "A", "HEARTBEAT": "0", "TEST_REQUEST": "1", "RESEND_REQUEST": "2",
    "REJECT": "3", "SEQUENCE_RESET": "4", "LOGOUT": "5", "BEGIN_STRING": 8,
    "BODY_LENGTH": 9, "CHECK_SUM": 10, "BEGIN_SEQ_NO": 7, "END_SEQ_NO": 16,
    "MSG_SEQ_NUM": 34, "MSG_TYPE": 35, "NEW_SEQ_NO": 36, "POSS_DUP_FLAG": 43,
    "REF_SEQ_NUM": 45, "SENDER_COMP_ID": 49, "SENDING_TIME": 52, "TARGET_COMP_ID": 56,
    "TEXT": 58, "POSS_RESEND": 97, "ENCRYPT_METHOD": 98, "HEART_BT_INT": 108,
    "TEST_REQ_ID": 112, "ORIG_SENDING_TIME": 122, "GAP_FILL_FLAG": 123, "RESET_SEQ_NUM_FLAG": 141,
    "REF_TAG_ID": 371, "REF_MSG_TYPE": 372, "SESSION_REJECT_REASON": 373,
}
ADMIN_TAG_SETS = {
    "ADMIN_MSG_TYPES": ["0", "1", "2", "3", "4", "5", "A"],
    "ADMIN_TYPES": ["0", "1", "2", "3", "4", "5", "A"],
    "HEADER_TAGS": [8, 9, 34, 35, 43, 49, 50, 52, 56, 57, 90, 91, 97, 115, 116, 122, 128, 129, 142, 143, 144, 145, 212, 213, 347, 369, 370],
    "ENCODER_HEADER_TAGS": [8, 9, 34, 35, 43, 49, 52, 56, 122],
}
REASON_TEXTS = {
    0: "invalid tag number",
    1: "required tag missing",
    2: "tag not defined for this message type",
    3: "undefined tag",
    4: "tag specified without a value",
    5: "value is incorrect (out of range) for this tag",
    6: "incorrect data format for value",
    9: "CompID problem",
    10: "SendingTime accuracy problem",
    11: "invalid MsgType",
    13: "tag appears more than once",
    14: "tag specified out of required order",
    15: "repeating group fields out of order",
    16: "incorrect NumInGroup count for repeating group",
    17: "non-data value includes field delimiter (SOH)",
    1000: "garbled: does not start with 8=FIX...<SOH>",
    1001: "garbled: BodyLength (9) is not second, not a number, or does not end where CheckSum (10) starts",
    1002: "garbled: CheckSum (10) is malformed or does not match the bytes",
    1003: "garbled: MsgType (35) is not the third field",
    1004: "garbled: BodyLength (9) is larger than the accepted maximum",
    1005: "garbled: bytes follow the CheckSum; split the stream with frame_length first",
    1006: "garbled: fewer bytes than BodyLength (9) promises",
    1100: "BeginString (8) is not this session's FIX version",
}


@pytest.mark.parametrize("cls", sorted(ENUM_MEMBERS))
def test_enum_members_keep_their_names_and_values(cls):
    members = getattr(enums, cls).__members__
    assert {name: members[name].value for name in ENUM_MEMBERS[cls]} == ENUM_MEMBERS[cls]


def test_canonical_names_are_unchanged():
    # The first name of a value stays the one fxpipe used, so .name and repr read as before.
    for cls, members in ENUM_MEMBERS.items():
        e = getattr(enums, cls)
        for name, value in members.items():
            assert e(value).name == name, (cls, name)


def test_admin_constants_keep_type_and_value():
    for name, value in ADMIN_CONSTANTS.items():
        got = getattr(admin, name)
        assert got == value and type(got) is type(value), name
    for name, tags in ADMIN_TAG_SETS.items():
        assert sorted(getattr(admin, name)) == tags, name


def test_reason_texts_are_unchanged():
    assert {code: REASON_TEXT[code] for code in REASON_TEXTS} == REASON_TEXTS


def test_tag_names_every_fix42_field_once():
    assert {m.name: m.value for m in Tag} == {name: tag for tag, (name, _, _) in spec42.FIELDS.items()}
    assert issubclass(Tag, enum.IntEnum) and Tag.MsgSeqNum == 34
