"""What the Python view of the order book hands back: the outcome of an intent, of a venue
report or timer, and read-only snapshots of an order and of one ClOrdID's request. Events come
as their 192 bytes (`*_raw`, ready for a ring or the journal) and, on access, as numpy records
of fxpipe.model.events."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fxpipe.model import events as ev
from fxpipe.oms.enums import Alarm, Disposition, Refusal, RequestState, Verdict


@dataclass(frozen=True, slots=True)
class IntentResult:
    verdict: Verdict
    refusal: Refusal
    order_index: int
    deadline_ns: int          # arm TIMER_ORDER_TIMEOUT(ref_id=send cl_ord_id) for then; 0 = none
    send_raw: bytes | None    # the OrderIntent to send (192 bytes), None when refused
    update_raw: bytes         # the OrderUpdate: the order's view, or the refusal

    @property
    def send(self) -> Any:
        """The request to send as an OrderIntent record, or None."""
        return ev.read(self.send_raw) if self.send_raw is not None else None

    @property
    def update(self) -> Any:
        return ev.read(self.update_raw)

    @property
    def sent(self) -> bool:
        return self.verdict == Verdict.SEND


@dataclass(frozen=True, slots=True)
class ReportResult:
    disposition: Disposition
    alarms: Alarm
    order_index: int
    publish: bool             # update is the order's new view, for the exec ring
    status_request: bool      # ask the venue with an OrderStatusRequest
    alarm_observed: int
    alarm_limit: int
    update_raw: bytes         # OrderUpdate (the report itself when nothing was applied)
    fill_raws: tuple[bytes, ...] = ()   # Fills: signed position deltas

    @property
    def update(self) -> Any:
        return ev.read(self.update_raw)

    @property
    def fills(self) -> list:
        return [ev.read(f) for f in self.fill_raws]

    @property
    def fill_qty_e2(self) -> int:
        return sum(int(f["last_qty_e2"]) for f in self.fills)


@dataclass(frozen=True, slots=True)
class OrderView:
    index: int
    root_cl_ord_id: int
    cl_ord_id: int
    status: int               # OrdStatus the OMS publishes
    base_status: int
    order_qty_e2: int
    price_e8: int
    cum_qty_e2: int
    leaves_qty_e2: int
    avg_px_e8: int
    notional_e10: int
    venue_cum_qty_e2: int
    pending_cancel: int       # ClOrdID of the cancel in flight, 0 if none
    pending_replace: int
    acked: bool
    overfilled: bool
    venue_id: int
    instrument_id: int
    strategy_id: int
    side: int
    ord_type: int
    time_in_force: int
    reject_reason: int
    order_id: str
    last_event_ns: int
    chain: tuple[int, ...]    # every ClOrdID of the order, in the order they were made


@dataclass(frozen=True, slots=True)
class RequestView:
    cl_ord_id: int
    orig_cl_ord_id: int
    kind: int                 # IntentAction (0: learned from a venue report)
    state: RequestState
    qty_e2: int
    price_e8: int
    deadline_ns: int
    order_root_cl_ord_id: int
