"""A last-look LP rejects with OrdRejReason 103=99 (Other, FIX 4.3), outside FIX 4.2's list:
the codec must take the report (a session Reject would lose the order's outcome) and the
order book must end REJECTED with reason 99."""
from __future__ import annotations

import pytest
from oms_venue import T0_NS, VENUE_ENC, intent

from fxpipe.fix import bridge, codec, direct
from fxpipe.fix.errors import FixParseError
from fxpipe.model import events as ev
from fxpipe.oms import OrderBook


def reject_report(cl: int, reason: str) -> bytes:
    fields = dict(order_id="LP-1", cl_ord_id=str(cl), exec_id="E1", exec_trans_type="0",
                  exec_type="8", ord_status="8", symbol="EUR/USD", side="1",
                  order_qty_e2=100_000_000, ord_type="2", time_in_force="0", last_qty_e2=0,
                  last_px_e8=0, leaves_qty_e2=0, cum_qty_e2=0, avg_px_e8=0,
                  price_e8=108_500_000, ord_rej_reason=int(reason))
    return direct.encode_execution_report(VENUE_ENC, 1, T0_NS, fields)


def test_last_look_reject_reason_99_is_accepted_and_applied():
    book = OrderBook(1)
    cl = int(book.submit(intent()).send["cl_ord_id"])
    update, fill = bridge.execution_report_to_events(reject_report(cl, "99"))
    assert fill is None
    assert ev.read(update)["reject_reason"] == 99
    book.apply_report(update)
    order = book.order(cl)
    assert order.status == ev.OrdStatus.REJECTED and order.reject_reason == 99


def test_reason_99_passes_the_generic_parser_and_cancel_reject_too():
    msg = codec.parse(reject_report(1_000_000_000_001, "99"))
    assert msg.get(103) in ("99", b"99", 99)
    raw = direct.encode_order_cancel_reject(VENUE_ENC, 2, T0_NS, dict(
        order_id="LP-1", cl_ord_id="1000000000002", orig_cl_ord_id="1000000000001",
        ord_status="0", cxl_rej_response_to="1", cxl_rej_reason=99))
    assert ev.read(bridge.cancel_reject_to_event(raw))["reject_reason"] == 99


def test_other_out_of_list_reasons_are_still_refused():
    with pytest.raises(FixParseError, match="103"):
        bridge.execution_report_to_events(reject_report(1_000_000_000_001, "42"))
