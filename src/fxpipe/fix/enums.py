"""FIX 4.2 enumerations the engine and the OMS speak: message types, session reject reasons, the
codec's garble codes, and the order and market-data values of the hot messages.

Values are the wire text ("8", "1", ...) as StrEnum, or int for numeric codes, so
`msg.get_str(Tag.OrdStatus) == OrdStatus.PARTIALLY_FILLED` reads as the spec does.
"""
from __future__ import annotations

from enum import IntEnum, StrEnum


class MsgType(StrEnum):
    HEARTBEAT = "0"
    TEST_REQUEST = "1"
    RESEND_REQUEST = "2"
    REJECT = "3"
    SEQUENCE_RESET = "4"
    LOGOUT = "5"
    EXECUTION_REPORT = "8"
    ORDER_CANCEL_REJECT = "9"
    LOGON = "A"
    NEW_ORDER_SINGLE = "D"
    ORDER_CANCEL_REQUEST = "F"
    ORDER_CANCEL_REPLACE_REQUEST = "G"
    ORDER_STATUS_REQUEST = "H"
    MARKET_DATA_REQUEST = "V"
    MARKET_DATA_SNAPSHOT_FULL_REFRESH = "W"
    MARKET_DATA_INCREMENTAL_REFRESH = "X"
    MARKET_DATA_REQUEST_REJECT = "Y"
    BUSINESS_MESSAGE_REJECT = "j"


ADMIN_MSG_TYPES = frozenset({"0", "1", "2", "3", "4", "5", "A"})


class SessionRejectReason(IntEnum):
    """SessionRejectReason (373). FIX 4.2 enumerates 0..11; 13..17 are the numbers FIX 4.3
    gave to checks that FIX 4.2 already requires (see fix42_reject_reason)."""

    INVALID_TAG_NUMBER = 0
    REQUIRED_TAG_MISSING = 1
    TAG_NOT_DEFINED_FOR_MSG_TYPE = 2
    UNDEFINED_TAG = 3
    TAG_SPECIFIED_WITHOUT_A_VALUE = 4
    VALUE_IS_INCORRECT = 5
    INCORRECT_DATA_FORMAT = 6
    DECRYPTION_PROBLEM = 7
    SIGNATURE_PROBLEM = 8
    COMP_ID_PROBLEM = 9
    SENDING_TIME_ACCURACY_PROBLEM = 10
    INVALID_MSG_TYPE = 11
    TAG_APPEARS_MORE_THAN_ONCE = 13
    TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER = 14
    REPEATING_GROUP_FIELDS_OUT_OF_ORDER = 15
    INCORRECT_NUM_IN_GROUP_COUNT = 16
    NON_DATA_VALUE_INCLUDES_FIELD_DELIMITER = 17


def fix42_reject_reason(reason: int) -> int | None:
    """The value to put in SessionRejectReason (373) of a FIX 4.2 Reject, or None when FIX 4.2
    has no code for it (13..17): then say it in Text (58) only, as FIX 4.2 counterparties may
    reject an unknown 373 value."""
    return reason if 0 <= reason <= 11 else None


class GarbleReason(IntEnum):
    """FixParseError.reason for framing failures. FIX: a garbled message is dropped without a
    Reject and without consuming its MsgSeqNum; the transport resyncs at the next 8=FIX."""

    BEGIN_STRING = 1000        # does not start with 8=FIX...<SOH>
    BODY_LENGTH = 1001         # 9 not second / not digits / CheckSum not where it says
    CHECKSUM = 1002            # 10 malformed or the sum differs
    MSG_TYPE_NOT_THIRD = 1003
    TOO_LARGE = 1004           # BodyLength beyond the accepted maximum
    TRAILING_BYTES = 1005      # bytes after CheckSum in what was passed as one message
    INCOMPLETE = 1006          # fewer bytes than BodyLength promises


# Well framed, but a BeginString other than the session's: not garbled; FIX says Logout.
UNSUPPORTED_BEGIN_STRING = 1100


class Side(StrEnum):
    BUY = "1"
    SELL = "2"


class OrdType(StrEnum):
    MARKET = "1"
    LIMIT = "2"
    STOP = "3"
    STOP_LIMIT = "4"
    PREVIOUSLY_QUOTED = "D"


class TimeInForce(StrEnum):
    DAY = "0"
    GOOD_TILL_CANCEL = "1"
    IMMEDIATE_OR_CANCEL = "3"
    FILL_OR_KILL = "4"
    GOOD_TILL_DATE = "6"


class HandlInst(StrEnum):
    AUTOMATED_PRIVATE = "1"
    AUTOMATED_PUBLIC = "2"
    MANUAL = "3"


class ExecType(StrEnum):
    NEW = "0"
    PARTIAL_FILL = "1"
    FILL = "2"
    DONE_FOR_DAY = "3"
    CANCELED = "4"
    REPLACE = "5"
    PENDING_CANCEL = "6"
    STOPPED = "7"
    REJECTED = "8"
    SUSPENDED = "9"
    PENDING_NEW = "A"
    CALCULATED = "B"
    EXPIRED = "C"
    RESTATED = "D"
    PENDING_REPLACE = "E"


class OrdStatus(StrEnum):
    NEW = "0"
    PARTIALLY_FILLED = "1"
    FILLED = "2"
    DONE_FOR_DAY = "3"
    CANCELED = "4"
    REPLACED = "5"
    PENDING_CANCEL = "6"
    STOPPED = "7"
    REJECTED = "8"
    SUSPENDED = "9"
    PENDING_NEW = "A"
    CALCULATED = "B"
    EXPIRED = "C"
    ACCEPTED_FOR_BIDDING = "D"
    PENDING_REPLACE = "E"


class ExecTransType(StrEnum):
    NEW = "0"
    CANCEL = "1"
    CORRECT = "2"
    STATUS = "3"


class CxlRejResponseTo(StrEnum):
    ORDER_CANCEL_REQUEST = "1"
    ORDER_CANCEL_REPLACE_REQUEST = "2"


class MDEntryType(StrEnum):
    BID = "0"
    OFFER = "1"
    TRADE = "2"


class MDUpdateAction(StrEnum):
    NEW = "0"
    CHANGE = "1"
    DELETE = "2"


class SubscriptionRequestType(StrEnum):
    SNAPSHOT = "0"
    SNAPSHOT_PLUS_UPDATES = "1"
    DISABLE = "2"


class EncryptMethod(IntEnum):
    NONE = 0
