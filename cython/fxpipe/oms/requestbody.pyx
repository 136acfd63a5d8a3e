# cython: language_level=3, boundscheck=False, wraparound=False
"""A venue adapter's order request, rendered in C from the request's bytes: what
VenueAdapter.request_body (fxpipe.oms.venues.adapters) is, once per order on the order path.

The fields that depend only on the venue, the instrument and the action (HandlInst, the venue's
symbol, its extra tags) are rendered once by the adapter in Python and kept; what changes per
request is read from the OrderIntent's C struct and written by the encoder's order_body, with
no struct unpack into nine Python objects and no 13-argument Python call.
"""
from libc.stdint cimport int64_t

from fxpipe.fix.encoder cimport order_body_c
from fxpipe.model.events cimport INTENT_CANCEL, INTENT_NEW, INTENT_REPLACE, ORD_TYPE_LIMIT, OrderIntent, copy_event

cdef dict _MSG_TYPE = {INTENT_NEW: "D", INTENT_CANCEL: "F", INTENT_REPLACE: "G"}


def request_body(adapter, refdata, req, int64_t now_ns):
    """(MsgType, body rendered) of the request the stage sent (its OrderIntent's bytes, with its
    ClOrdIDs), TransactTime now_ns; byte for byte what the encoder makes of request()'s pairs."""
    cdef OrderIntent it
    copy_event(req, &it, "a request")
    msg_type = _MSG_TYPE.get(it.action)
    if msg_type is None:
        raise ValueError(f"request {it.cl_ord_id}: action {it.action} is not a new order, a cancel or a replace")
    cdef dict by_key = adapter._fixed       # typed: a C lookup, not a method call through Python
    fixed = by_key.get((it.hdr.instrument_id, it.action))
    if fixed is None or fixed[0] is not refdata:
        fixed = adapter._fixed_fields(refdata, it.hdr.instrument_id, it.action)
    return msg_type, order_body_c(it.action == INTENT_NEW, it.action == INTENT_CANCEL, it.orig_cl_ord_id,
                                  it.cl_ord_id, fixed[1], it.side, now_ns, it.qty_e2, it.ord_type,
                                  it.ord_type == ORD_TYPE_LIMIT, it.price_e8, fixed[2], it.time_in_force)
