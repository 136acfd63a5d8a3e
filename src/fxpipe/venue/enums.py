"""Which order states the venue treats as final. The FIX code values it sends (OrdRejReason,
CxlRejReason, MDReqRejReason, OrdStatus, ...) are the codec's, in fxpipe.fix.enums."""
from __future__ import annotations

from fxpipe.fix.enums import OrdStatus

DONE_STATUSES = frozenset({OrdStatus.FILLED, OrdStatus.CANCELED, OrdStatus.REJECTED, OrdStatus.EXPIRED})
