"""What fxpipe's FIX vocabulary holds beyond FIX42.xml, read only by the generator (specgen).

FIX42.xml gives every tag, enumeration and SessionRejectReason/BusinessRejectReason code. It
does not give: which enumerations fxpipe exports, the names fxpipe already speaks where they
differ from the XML's descriptions, the reason codes FIX 4.3 gave to checks FIX 4.2 already
requires, the codec's garble codes, the C constant each code is returned as, and the texts an
operator reads. Each of those is declared here once; specgen fails when the XML and these
tables disagree (a code without a text or C constant, a name that is no identifier).
"""
from __future__ import annotations

# The enumerations fxpipe.fix.enums exports, each named as its FIX field. INT fields become
# IntEnum, every other type StrEnum (the wire text: OrdStatus.FILLED == "2").
ENUM_FIELDS = (
    "MsgType",
    "Side",
    "OrdType",
    "TimeInForce",
    "HandlInst",
    "ExecType",
    "OrdStatus",
    "ExecTransType",
    "CxlRejResponseTo",
    "CxlRejReason",
    "OrdRejReason",
    "SettlmntTyp",
    "MDEntryType",
    "MDUpdateAction",
    "MDUpdateType",
    "SubscriptionRequestType",
    "MDReqRejReason",
    "EncryptMethod",
    "SessionRejectReason",
    "BusinessRejectReason",
)

# Member names, by (field, value), where fxpipe keeps its own: the first is the member's name,
# the rest are aliases. Any value not listed is named by the XML's description. The XML's name
# stays as an alias unless it misleads (CxlRejResponseTo 2 answers a cancel/replace request).
MEMBER_NAMES: dict[tuple[str, str], tuple[str, ...]] = {
    ("HandlInst", "1"): ("AUTOMATED_PRIVATE", "AUTOMATED_EXECUTION_NO_INTERVENTION"),
    ("HandlInst", "2"): ("AUTOMATED_PUBLIC", "AUTOMATED_EXECUTION_INTERVENTION_OK"),
    ("HandlInst", "3"): ("MANUAL", "MANUAL_ORDER"),
    ("ExecType", "5"): ("REPLACE", "REPLACED"),
    ("CxlRejResponseTo", "2"): ("ORDER_CANCEL_REPLACE_REQUEST",),
    ("SubscriptionRequestType", "1"): ("SNAPSHOT_PLUS_UPDATES", "SNAPSHOT_AND_UPDATES"),
    ("SubscriptionRequestType", "2"): ("DISABLE", "DISABLE_PREVIOUS_SNAPSHOT"),
    ("SessionRejectReason", "2"): ("TAG_NOT_DEFINED_FOR_MSG_TYPE", "TAG_NOT_DEFINED_FOR_THIS_MESSAGE_TYPE"),
    ("SessionRejectReason", "6"): ("INCORRECT_DATA_FORMAT", "INCORRECT_DATA_FORMAT_FOR_VALUE"),
    # FIX 4.2's own words for OrdRejReason/CxlRejReason 0/2 ("broker option"), and the spellings
    # the venue simulator uses, so it can take these enumerations as they are.
    ("OrdRejReason", "0"): ("BROKER_OPTION", "BROKER_CREDIT"),
    ("CxlRejReason", "2"): ("BROKER_OPTION", "BROKER_CREDIT"),
    ("CxlRejReason", "3"): ("ALREADY_PENDING", "ORDER_ALREADY_IN_PENDING_STATUS"),
    ("MDReqRejReason", "1"): ("DUPLICATE_MD_REQ_ID", "DUPLICATE_MDREQID"),
    ("MDReqRejReason", "4"): ("UNSUPPORTED_SUBSCRIPTION_REQUEST_TYPE", "UNSUPPORTED_SUBSCRIPTION_TYPE"),
    ("MDReqRejReason", "6"): ("UNSUPPORTED_MD_UPDATE_TYPE", "UNSUPPORTED_MDUPDATETYPE"),
    ("MDReqRejReason", "8"): ("UNSUPPORTED_MD_ENTRY_TYPE", "UNSUPPORTED_MDENTRYTYPE"),
}

# Every SessionRejectReason fxpipe knows: (C constant, text). 0..11 are FIX 4.2's (the XML must
# list exactly those); 13..17 are the numbers FIX 4.3 gave to checks FIX 4.2 already requires,
# which a FIX 4.2 Reject says in Text only (enums.fix42_reject_reason).
SESSION_REJECT: dict[int, tuple[str, str]] = {
    0: ("REASON_INVALID_TAG_NUMBER", "invalid tag number"),
    1: ("REASON_REQUIRED_TAG_MISSING", "required tag missing"),
    2: ("REASON_TAG_NOT_DEFINED_FOR_MSG_TYPE", "tag not defined for this message type"),
    3: ("REASON_UNDEFINED_TAG", "undefined tag"),
    4: ("REASON_TAG_WITHOUT_VALUE", "tag specified without a value"),
    5: ("REASON_VALUE_OUT_OF_RANGE", "value is incorrect (out of range) for this tag"),
    6: ("REASON_INCORRECT_DATA_FORMAT", "incorrect data format for value"),
    7: ("REASON_DECRYPTION_PROBLEM", "decryption problem"),
    8: ("REASON_SIGNATURE_PROBLEM", "signature problem"),
    9: ("REASON_COMP_ID_PROBLEM", "CompID problem"),
    10: ("REASON_SENDING_TIME_ACCURACY", "SendingTime accuracy problem"),
    11: ("REASON_INVALID_MSG_TYPE", "invalid MsgType"),
    13: ("REASON_TAG_APPEARS_MORE_THAN_ONCE", "tag appears more than once"),
    14: ("REASON_TAG_OUT_OF_ORDER", "tag specified out of required order"),
    15: ("REASON_GROUP_FIELDS_OUT_OF_ORDER", "repeating group fields out of order"),
    16: ("REASON_INCORRECT_NUM_IN_GROUP", "incorrect NumInGroup count for repeating group"),
    17: ("REASON_SOH_IN_VALUE", "non-data value includes field delimiter (SOH)"),
}
# Python names of the codes FIX42.xml does not have (FIX 4.3's, as FIX 4.3 names them).
SESSION_REJECT_FIX43_NAMES = {
    13: "TAG_APPEARS_MORE_THAN_ONCE",
    14: "TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER",
    15: "REPEATING_GROUP_FIELDS_OUT_OF_ORDER",
    16: "INCORRECT_NUM_IN_GROUP_COUNT",
    17: "NON_DATA_VALUE_INCLUDES_FIELD_DELIMITER",
}
# The C codec returns 0 for success, so reason 0 travels as this code (scan.pxd fix_reason).
C_INVALID_TAG_NUMBER = 3000

# Framing failures: FIX calls such a message garbled and says drop it without a Reject and
# without consuming its MsgSeqNum; the transport resyncs at the next 8=FIX.
# code: (GarbleReason member, C constant, what the member's comment says, text)
GARBLE: dict[int, tuple[str, str, str, str]] = {
    1000: ("BEGIN_STRING", "GARBLED_BEGIN_STRING", "does not start with 8=FIX...<SOH>",
           "garbled: does not start with 8=FIX...<SOH>"),
    1001: ("BODY_LENGTH", "GARBLED_BODY_LENGTH", "9 not second, not digits, or CheckSum not where it says",
           "garbled: BodyLength (9) is not second, not a number, or does not end where CheckSum (10) starts"),
    1002: ("CHECKSUM", "GARBLED_CHECKSUM", "10 malformed or the sum differs",
           "garbled: CheckSum (10) is malformed or does not match the bytes"),
    1003: ("MSG_TYPE_NOT_THIRD", "GARBLED_MSG_TYPE_NOT_THIRD", "35 is not the third field",
           "garbled: MsgType (35) is not the third field"),
    1004: ("TOO_LARGE", "GARBLED_TOO_LARGE", "BodyLength beyond the accepted maximum",
           "garbled: BodyLength (9) is larger than the accepted maximum"),
    1005: ("TRAILING_BYTES", "GARBLED_TRAILING_BYTES", "bytes after CheckSum in what was given as one message",
           "garbled: bytes follow the CheckSum; split the stream with frame_length first"),
    1006: ("INCOMPLETE", "GARBLED_INCOMPLETE", "fewer bytes than BodyLength promises",
           "garbled: fewer bytes than BodyLength (9) promises"),
}
# Well framed, but a BeginString other than the session's: not garbled; FIX says Logout.
UNSUPPORTED_BEGIN_STRING = (1100, "UNSUPPORTED_BEGIN_STRING", "BeginString (8) is not this session's FIX version")

# BusinessRejectReason (380) texts; the XML must list exactly these codes.
BUSINESS_REJECT_TEXT = {
    0: "other",
    1: "unknown ID",
    2: "unknown security",
    3: "unsupported message type",
    4: "application not available",
    5: "conditionally required field missing",
}

# The fields encode() writes itself from its arguments (and the CheckSum it computes); a
# caller passing one is refused, and a resend copies none of them from the stored message.
ENCODER_FIELDS = ("BeginString", "BodyLength", "MsgType", "SenderCompID", "TargetCompID", "MsgSeqNum",
                  "SendingTime", "CheckSum")
