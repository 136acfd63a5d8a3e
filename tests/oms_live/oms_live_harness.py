"""The OMS against the real venue simulator over loopback FIX: the simulator as a process
(tests/venue's VenueProcess, one ECN and one last-look LP), an OrderGateway in the test's own
thread, and waits on conditions with generous bounds (never on sleeps)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from venue_harness import VenueProcess

from fxpipe.model import events as ev
from fxpipe.model.numbers import parse_qty
from fxpipe.oms.gateway import OrderGateway, VenueLink
from fxpipe.oms.stage import OmsStage

ROOT = Path(__file__).resolve().parents[2]
REFDATA = (ROOT / "config" / "refdata.toml").read_text()
ECN, LP = 1, 2          # venue ids of ECN1 and LP1 in config/refdata.toml
WAIT_S = 30.0
LIMITS = """
[global]
max_order_qty = "50000000"
kill_on_overfill = true
"""


def venue(tmp: Path, **kw) -> VenueProcess:
    kw.setdefault("clients", ("FXPIPE",))
    return VenueProcess(tmp / "venue", **kw)


class Oms:
    def __init__(self, tmp: Path, v: Any, limits: str = LIMITS, timeout_ms: int = 3000,
                 reset_on_logon: bool = True, routing: dict | None = None):
        self.tmp = tmp
        self.v = v
        self.outputs: list[Any] = []
        self.stage = OmsStage(REFDATA, limits, prefix=4, request_timeout_ms=timeout_ms, routing=routing)
        links = [VenueLink(ECN, v.ecn_port, "ECN1", kind="ecn"),
                 VenueLink(LP, v.lp_port, "LP1", kind="lp")]
        self.gw = OrderGateway(self.stage, links, tmp / "journal", tmp / "oms-state",
                               on_output=self.outputs.append, reset_on_logon=reset_on_logon)

    def wait(self, pred, what: str, timeout: float = WAIT_S):
        deadline = time.monotonic() + timeout
        while True:
            got = pred()
            if got:
                return got
            if time.monotonic() > deadline:
                seen = [(ev.EventType(int(o["type"])).name, int(o["cl_ord_id"]) if "cl_ord_id" in o.dtype.names else 0)
                        for o in self.outputs[-12:]]
                raise AssertionError(f"no {what} within {timeout} s; last outputs {seen}")
            self.gw.poll(0.01)

    def logged_on(self) -> None:
        self.wait(lambda: self.gw.logged_on(ECN) and self.gw.logged_on(LP), "logon on both venues")

    def order(self, venue_id=ECN, qty="1000000", side="1", ord_type="1", tif="3", price_e8=0,
              strategy=7, instrument=1) -> int:
        """Submit; returns the ClOrdID the stage gave the order (0 if refused)."""
        intent = ev.make(ev.EventType.ORDER_INTENT, venue_id=venue_id, instrument_id=instrument,
                         qty_e2=parse_qty(qty), price_e8=price_e8, action=ev.IntentAction.NEW,
                         side=ord(side), ord_type=ord(ord_type), time_in_force=ord(tif),
                         strategy_id=strategy)
        out = self.gw.submit(intent)
        sends = [o for o in out if int(o["type"]) == ev.EventType.ORDER_INTENT]
        return int(sends[0]["cl_ord_id"]) if sends else 0

    def cancel(self, cl: int) -> tuple[int, list[Any]]:
        """(ClOrdID of the cancel sent, or 0; the stage's outputs)."""
        return self._request(cl, ev.IntentAction.CANCEL, 0, 0)

    def replace(self, cl: int, qty: str, price_e8: int) -> tuple[int, list[Any]]:
        return self._request(cl, ev.IntentAction.REPLACE, parse_qty(qty), price_e8)

    def _request(self, cl: int, action: int, qty_e2: int, price_e8: int) -> tuple[int, list[Any]]:
        view = self.stage.book.order(cl)
        intent = ev.make(ev.EventType.ORDER_INTENT, venue_id=view.venue_id, instrument_id=view.instrument_id,
                         orig_cl_ord_id=cl, qty_e2=qty_e2 or view.order_qty_e2,
                         price_e8=price_e8 or view.price_e8, action=action, side=view.side,
                         ord_type=view.ord_type, time_in_force=view.time_in_force,
                         strategy_id=view.strategy_id)
        out = self.gw.submit(intent)
        sends = [o for o in out if int(o["type"]) == ev.EventType.ORDER_INTENT]
        return (int(sends[0]["cl_ord_id"]) if sends else 0), list(out)

    def status(self, cl: int) -> int:
        view = self.stage.book.order(cl)
        return int(view.status) if view is not None else -1

    def done(self, cl: int) -> bool:
        return self.status(cl) in (ev.OrdStatus.FILLED, ev.OrdStatus.CANCELED, ev.OrdStatus.REJECTED,
                                   ev.OrdStatus.EXPIRED, ev.OrdStatus.DONE_FOR_DAY)

    def of(self, t: int) -> list[Any]:
        return [o for o in self.outputs if int(o["type"]) == t]

    def close(self) -> None:
        self.gw.close()
