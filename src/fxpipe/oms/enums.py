"""The OMS order book's vocabulary for Python: what an intent and a report came to, and the
alarms a report raises. The values are the C enums of cython/fxpipe/oms/book.pxd (a test
checks each against the compiled module)."""
from __future__ import annotations

from enum import IntEnum, IntFlag


class Verdict(IntEnum):
    SEND = 1        # send IntentResult.send, arm the timeout at deadline_ns
    REFUSED = 2     # nothing to send; IntentResult.update tells the strategy why


class Refusal(IntEnum):
    NONE = 0
    INVALID = 1
    DUPLICATE_CL_ORD_ID = 2
    UNKNOWN_ORDER = 3
    ORDER_DONE = 4
    CANCEL_PENDING = 5
    REPLACE_PENDING = 6
    NOT_ACKNOWLEDGED = 7
    STATUS_UNKNOWN = 8
    QTY_BELOW_FILLED = 9
    NO_CHANGE = 10
    VENUE_DOWN = 11
    VENUE_UNRECONCILED = 12
    IDS_EXHAUSTED = 13
    OUT_OF_MEMORY = 14
    VENUE_MISMATCH = 15
    NO_ROUTE = 16


class Disposition(IntEnum):
    APPLIED = 1
    DUPLICATE = 2
    STALE = 3
    UNKNOWN_ORDER = 4
    INVALID = 5


class Alarm(IntFlag):
    NONE = 0
    OVERFILL = 1
    UNKNOWN_ORDER = 2
    DUPLICATE_MISMATCH = 4
    EXEC_REF_CONFLICT = 8
    STATE_CONFLICT = 16
    INVALID_REPORT = 32
    OUT_OF_MEMORY = 64


class RequestState(IntEnum):
    PENDING = 1
    ACCEPTED = 2
    REJECTED = 3
    REPLACED = 4
    UNKNOWN = 5
    CLOSED = 6


class ExecState(IntEnum):
    STANDING = 1
    BUSTED = 2
    CORRECTED = 3
    BUST = 4


class VenueState(IntEnum):
    UP = 0
    DOWN = 1
    RECONCILING = 2


# ClOrdID = prefix * CL_ORD_ID_SPAN + counter (book.pxd)
CL_ORD_ID_SPAN = 1_000_000_000_000
MAX_OMS_PREFIX = 9_223_370
