"""Venue adapters: one per venue profile the simulator serves (ECN, last-look LP). An adapter
owns a venue's quirks on the way out — symbol format, the tags it requires, TimeInForce it
takes — and on the way in turns its 35=8 / 35=9 into the normalised OrderUpdate [+ Fill]
events of fxpipe.model (venue id and receive time set), which is all the oms stage sees.

What the two profiles report the same way is left to the order book, which is built for it:
LastShares is this execution and CumQty the venue's running total on both (the book sums
distinct ExecIDs and keeps the venue's CumQty only for reconciliation); an IOC remainder is
cancelled either by its own Canceled report (ECN) or folded into the last fill's OrdStatus=4
(LP, `ioc_remainder = "on_fill"`); a last-look reject is a plain reject after the New, with
OrdRejReason 0 or 99 (Other), accepted by the codec.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fxpipe.fix.bridge import cancel_reject_to_event, execution_report_to_events
from fxpipe.fix.codec import format_utc_timestamp
from fxpipe.model import events as ev
from fxpipe.model import numbers
from fxpipe.model.refdata import RefData

_ACTION_MSG = {int(ev.IntentAction.NEW): "D", int(ev.IntentAction.CANCEL): "F",
               int(ev.IntentAction.REPLACE): "G"}


def _qty(qty_e2: int) -> str:
    return numbers.format_qty(qty_e2)


@dataclass(frozen=True)
class VenueAdapter:
    """The ECN profile's wire: slash symbols, HandlInst (21) and TransactTime (60) on a new order."""

    kind: str = "ecn"
    account: str = ""

    def symbol(self, refdata: RefData, instrument_id: int) -> str:
        return refdata.instrument(instrument_id).symbol

    def request(self, refdata: RefData, req: Any, now_ns: int) -> tuple[str, list]:
        """(MsgType, body) of the request the stage sent (an OrderIntent with its ClOrdIDs)."""
        action = int(req["action"])
        msg_type = _ACTION_MSG[action]
        instr = refdata.instrument(int(req["instrument_id"]))
        body: list = []
        if action != ev.IntentAction.NEW:
            body.append((41, str(int(req["orig_cl_ord_id"]))))
        body.append((11, str(int(req["cl_ord_id"]))))
        if action != ev.IntentAction.CANCEL:
            body.append((21, "1"))
        body += self.extra_tags(instr, action)
        body += [(55, self.symbol(refdata, instr.id)), (54, chr(int(req["side"]))),
                 (60, format_utc_timestamp(now_ns)), (38, _qty(int(req["qty_e2"])))]
        if action != ev.IntentAction.CANCEL:
            body.append((40, chr(int(req["ord_type"]))))
            if int(req["ord_type"]) == ev.OrdType.LIMIT:
                body.append((44, instr.format_price(int(req["price_e8"]))))
            body.append((59, chr(int(req["time_in_force"]))))
        return msg_type, body

    def extra_tags(self, instr: Any, action: int) -> list:
        return []

    def status_request(self, refdata: RefData, view: Any) -> list:
        """OrderStatusRequest (H) body for an order (an OrderView)."""
        return [(37, view.order_id or "NONE"), (11, str(view.cl_ord_id)),
                (55, self.symbol(refdata, view.instrument_id)), (54, chr(view.side))]

    def report(self, msg_type: str, raw: bytes, venue_id: int, now_ns: int) -> tuple[Any, Any | None]:
        """The normalised (OrderUpdate, Fill or None) of a 35=8 or 35=9."""
        if msg_type == "8":
            u_raw, f_raw = execution_report_to_events(raw)
        else:
            u_raw, f_raw = cancel_reject_to_event(raw), None
        update = ev.read(bytearray(u_raw))
        update["venue_id"] = venue_id
        update["ts_receive_ns"] = now_ns
        fill = None
        if f_raw is not None:
            fill = ev.read(bytearray(f_raw))
            fill["venue_id"] = venue_id
            fill["ts_receive_ns"] = now_ns
        return update, fill


class EcnAdapter(VenueAdapter):
    pass


@dataclass(frozen=True)
class LastLookAdapter(VenueAdapter):
    """The last-look LP's wire: concatenated symbols (EURUSD), Account (1) and Currency (15)
    required on a new order; it takes IOC and FOK only (a DAY or GTC order is the venue's to
    refuse, so the refusal is journaled evidence like any other)."""

    kind: str = "lp"
    account: str = "FXPIPE"

    def symbol(self, refdata: RefData, instrument_id: int) -> str:
        return refdata.instrument(instrument_id).symbol.replace("/", "")

    def extra_tags(self, instr: Any, action: int) -> list:
        if action == ev.IntentAction.CANCEL:
            return []
        return [(1, self.account), (15, instr.base)]


ADAPTERS = {"ecn": EcnAdapter, "lp": LastLookAdapter}


def adapter_for(kind: str, account: str = "") -> VenueAdapter:
    try:
        cls = ADAPTERS[kind]
    except KeyError:
        raise ValueError(f"no venue adapter for kind {kind!r} (known: {', '.join(ADAPTERS)})") from None
    return cls(account=account) if account else cls()
