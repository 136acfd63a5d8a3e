"""The order gateway with a venue that is not there: a request the stage makes while the order
session is not logged on is journaled, not sent, and logged; nothing crashes, and the order
waits in PENDING_NEW for its timeout and the status request after the logon."""
from __future__ import annotations

import logging

from oms_live_harness import ECN, LIMITS, REFDATA
from venue_harness import free_port

from fxpipe.model import events as ev
from fxpipe.model.numbers import parse_qty
from fxpipe.oms.gateway import OrderGateway, VenueLink
from fxpipe.oms.stage import OmsStage


def test_request_while_the_session_is_not_logged_on_is_logged_not_sent(tmp_path, caplog):
    stage = OmsStage(REFDATA, LIMITS, prefix=6, request_timeout_ms=3000)
    gw = OrderGateway(stage, [VenueLink(ECN, free_port(), "ECN1")], tmp_path / "journal", tmp_path / "state")
    try:
        # the stage hears the session is up (as after a logon) while the socket is not
        gw.control(ev.make(ev.EventType.SESSION, venue_id=ECN, session_kind=ev.SessionKind.ORDERS,
                           state=ev.SessionState.ACTIVE, prev_state=ev.SessionState.LOGON_SENT,
                           reason=ev.SessionReason.LOGON))
        with caplog.at_level(logging.WARNING, logger="fxpipe.oms.gateway"):
            out = gw.submit(ev.make(ev.EventType.ORDER_INTENT, venue_id=ECN, instrument_id=1,
                                    qty_e2=parse_qty("1000000"), action=ev.IntentAction.NEW,
                                    side=ev.Side.BUY, ord_type=ev.OrdType.MARKET,
                                    time_in_force=ev.TimeInForce.IOC, strategy_id=7))
        sends = [o for o in out if int(o["type"]) == ev.EventType.ORDER_INTENT]
        assert len(sends) == 1 and gw.sent == 0
        cl = int(sends[0]["cl_ord_id"])
        assert f"request {cl} to venue {ECN} not sent" in caplog.text
        assert stage.book.order(cl).status == ev.OrdStatus.PENDING_NEW
    finally:
        gw.close()
