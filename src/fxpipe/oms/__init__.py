"""fxpipe.oms: the order management system's order book: order state with FIX 4.2 meaning,
ClOrdID chains, intents checked against the order, venue reports applied exactly (fills
idempotent by ExecID, busts and corrections as explicit deltas, overfills and unknown orders
as alarms), UNKNOWN for orders in flight when a session drops, and a state hash for replay.

The C-level API the oms stage cimports is cython/fxpipe/oms/{book,intents,reports}.pxd; the
Python view (OrderBook) is for tests, tools, replay and status. The stage that chains risk, the
book and positions is fxpipe.oms.stage.OmsStage; its I/O (FIX order sessions, journal,
recovery) is fxpipe.oms.gateway.OrderGateway; each venue's wire is in fxpipe.oms.venues.
"""
from fxpipe.oms.enums import (
    CL_ORD_ID_SPAN,
    MAX_OMS_PREFIX,
    Alarm,
    Disposition,
    ExecState,
    Refusal,
    RequestState,
    VenueState,
    Verdict,
)
from fxpipe.oms.results import IntentResult, OrderView, ReportResult, RequestView
from fxpipe.oms.view import OrderBook

__all__ = [
    "CL_ORD_ID_SPAN", "MAX_OMS_PREFIX", "Alarm", "Disposition", "ExecState", "IntentResult",
    "OrderBook", "OrderView", "Refusal", "ReportResult", "RequestState", "RequestView",
    "VenueState", "Verdict",
]
