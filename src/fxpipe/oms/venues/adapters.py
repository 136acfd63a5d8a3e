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

import struct
from dataclasses import dataclass, field
from typing import Any

from fxpipe.fix.bridge import cancel_reject_to_event, execution_report_to_events
from fxpipe.fix.codec import format_utc_timestamp
from fxpipe.fix.encoder import render
from fxpipe.model import events as ev
from fxpipe.model import numbers
from fxpipe.model.packing import packer
from fxpipe.model.refdata import RefData
from fxpipe.oms.requestbody import request_body as _request_body

_NEW, _CANCEL = int(ev.IntentAction.NEW), int(ev.IntentAction.CANCEL)
_ACTION_MSG = {_NEW: "D", _CANCEL: "F", int(ev.IntentAction.REPLACE): "G"}
_LIMIT = int(ev.OrdType.LIMIT)


def _qty(qty_e2: int) -> str:
    return numbers.format_qty(qty_e2)


_REQUEST_FIELDS = ("instrument_id", "cl_ord_id", "orig_cl_ord_id", "price_e8", "qty_e2", "action", "side",
                   "ord_type", "time_in_force")
_REQUEST = packer(ev.EventType.ORDER_INTENT, _REQUEST_FIELDS)
_HDR = ev.dtype_for(ev.EventType.ORDER_UPDATE).fields
_VENUE_AT, _RECEIVE_AT = _HDR["venue_id"][1], _HDR["ts_receive_ns"][1]
_U16, _I64 = struct.Struct("<H"), struct.Struct("<q")


def _stamped(raw: bytes, venue_id: int, now_ns: int) -> bytearray:
    """A normalised event's bytes with its venue and receive time set."""
    buf = bytearray(raw)
    _U16.pack_into(buf, _VENUE_AT, venue_id)
    _I64.pack_into(buf, _RECEIVE_AT, now_ns)
    return buf


@dataclass(frozen=True)
class VenueAdapter:
    """The ECN profile's wire: slash symbols, HandlInst (21) and TransactTime (60) on a new order."""

    kind: str = "ecn"
    account: str = ""
    # (instrument_id, action) -> (refdata, rendered fixed fields, price decimals): request_body's
    _fixed: dict = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def symbol(self, refdata: RefData, instrument_id: int) -> str:
        return refdata.instrument(instrument_id).symbol

    def request(self, refdata: RefData, req: Any, now_ns: int) -> tuple[str, list]:
        """(MsgType, body) of the request the stage sent (an OrderIntent with its ClOrdIDs)."""
        (instrument_id, cl_ord_id, orig, price_e8, qty_e2, action, side, ord_type,
         tif) = _REQUEST.unpack_from(req if isinstance(req, bytes) else req.tobytes())
        msg_type = _ACTION_MSG[action]
        instr = refdata.instrument(instrument_id)
        body: list = []
        if action != _NEW:
            body.append((41, str(orig)))
        body.append((11, str(cl_ord_id)))
        if action != _CANCEL:
            body.append((21, "1"))
        body += self.extra_tags(instr, action)
        body += [(55, self.symbol(refdata, instrument_id)), (54, chr(side)),
                 (60, format_utc_timestamp(now_ns)), (38, _qty(qty_e2))]
        if action != _CANCEL:
            body.append((40, chr(ord_type)))
            if ord_type == _LIMIT:
                body.append((44, instr.format_price(price_e8)))
            body.append((59, chr(tif)))
        return msg_type, body

    # request_body(refdata, req, now_ns) -> (MsgType, bytes): request() with the body rendered
    # already, byte for byte what the encoder makes of request()'s pairs, in C from the request's
    # bytes (fxpipe.oms.requestbody): the order path's way, one call instead of a list of pairs
    # to build and walk
    request_body = _request_body

    def _fixed_fields(self, refdata: RefData, instrument_id: int, action: int) -> tuple[RefData, bytes, int]:
        """What request_body keeps of an (instrument, action): the fields that depend on nothing
        else (HandlInst unless a cancel, the venue's extra tags, its symbol) rendered, and the
        instrument's price decimals; made again for other reference data."""
        instr = refdata.instrument(instrument_id)
        tags = ([(21, "1")] if action != _CANCEL else []) + self.extra_tags(instr, action)
        fixed = self._fixed[(instrument_id, action)] = (refdata, render([*tags, (55, self.symbol(refdata, instrument_id))]),
                                                        instr.price_decimals)
        return fixed

    def extra_tags(self, instr: Any, action: int) -> list:
        return []

    def status_request(self, refdata: RefData, view: Any) -> list:
        """OrderStatusRequest (H) body for an order (an OrderView)."""
        return [(37, view.order_id or "NONE"), (11, str(view.cl_ord_id)),
                (55, self.symbol(refdata, view.instrument_id)), (54, chr(view.side))]

    def report(self, msg_type: str, raw: bytes, venue_id: int, now_ns: int,
               validate: bool = True) -> tuple[bytearray, bytearray | None]:
        """The normalised (OrderUpdate, Fill or None) of a 35=8 or 35=9, as their bytes.
        validate=False: the message was validated already (by a session that validates what it
        takes), so it is not checked against the dictionary a second time."""
        if msg_type == "8":
            u_raw, f_raw = execution_report_to_events(raw, validate)
        else:
            u_raw, f_raw = cancel_reject_to_event(raw, validate), None
        return (_stamped(u_raw, venue_id, now_ns),
                None if f_raw is None else _stamped(f_raw, venue_id, now_ns))


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
