"""FIX 4.2 code values the venue speaks, named as the spec names them; each member's value is
the character that travels on the wire."""
from __future__ import annotations

import enum


class Side(enum.StrEnum):
    BUY = "1"
    SELL = "2"


class OrdType(enum.StrEnum):
    MARKET = "1"
    LIMIT = "2"


class TimeInForce(enum.StrEnum):
    DAY = "0"
    GTC = "1"
    IOC = "3"
    FOK = "4"


class ExecType(enum.StrEnum):
    NEW = "0"
    PARTIAL_FILL = "1"
    FILL = "2"
    DONE_FOR_DAY = "3"
    CANCELED = "4"
    REPLACE = "5"
    PENDING_CANCEL = "6"
    REJECTED = "8"
    PENDING_NEW = "A"
    EXPIRED = "C"
    PENDING_REPLACE = "E"


class OrdStatus(enum.StrEnum):
    NEW = "0"
    PARTIALLY_FILLED = "1"
    FILLED = "2"
    CANCELED = "4"
    PENDING_CANCEL = "6"
    REJECTED = "8"
    PENDING_NEW = "A"
    EXPIRED = "C"
    PENDING_REPLACE = "E"


class ExecTransType(enum.StrEnum):
    NEW = "0"
    CANCEL = "1"
    CORRECT = "2"
    STATUS = "3"


class OrdRejReason(enum.IntEnum):
    BROKER_OPTION = 0
    UNKNOWN_SYMBOL = 1
    EXCHANGE_CLOSED = 2
    ORDER_EXCEEDS_LIMIT = 3
    TOO_LATE_TO_ENTER = 4
    UNKNOWN_ORDER = 5
    DUPLICATE_ORDER = 6


class CxlRejReason(enum.IntEnum):
    TOO_LATE_TO_CANCEL = 0
    UNKNOWN_ORDER = 1
    BROKER_OPTION = 2
    ALREADY_PENDING = 3


class CxlRejResponseTo(enum.StrEnum):
    CANCEL = "1"
    REPLACE = "2"


class MDReqRejReason(enum.StrEnum):
    UNKNOWN_SYMBOL = "0"
    DUPLICATE_MDREQID = "1"
    UNSUPPORTED_SUBSCRIPTION_TYPE = "4"
    UNSUPPORTED_MARKET_DEPTH = "5"
    UNSUPPORTED_MDUPDATETYPE = "6"
    UNSUPPORTED_MDENTRYTYPE = "8"


DONE_STATUSES = frozenset({OrdStatus.FILLED, OrdStatus.CANCELED, OrdStatus.REJECTED, OrdStatus.EXPIRED})
