"""FIX 4.2 code values the venue needs beyond the codec's vocabulary (fxpipe.fix.enums: Side,
OrdType, TimeInForce, ExecType, OrdStatus, ExecTransType, CxlRejResponseTo): the reasons it
gives when it refuses something, and which order states are final."""
from __future__ import annotations

import enum

from fxpipe.fix.enums import OrdStatus


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


class MDReqRejReason(enum.StrEnum):
    UNKNOWN_SYMBOL = "0"
    DUPLICATE_MDREQID = "1"
    UNSUPPORTED_SUBSCRIPTION_TYPE = "4"
    UNSUPPORTED_MARKET_DEPTH = "5"
    UNSUPPORTED_MDUPDATETYPE = "6"
    UNSUPPORTED_MDENTRYTYPE = "8"


DONE_STATUSES = frozenset({OrdStatus.FILLED, OrdStatus.CANCELED, OrdStatus.REJECTED, OrdStatus.EXPIRED})
