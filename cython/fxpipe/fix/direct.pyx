"""Python face of the direct message paths: dicts in, bytes out (encode_*), bytes in, dicts out
(decode_*), each a thin shell over one C function of orders.pxd / marketdata.pxd.
Keys are the struct field names (cl_ord_id, order_qty_e2, price_e8, ...); ids are str, chars
are one-character str, prices and quantities exact scaled ints. For tools, tests and Python
callers that want typed values without going through FixMessage accessors one by one."""
from libc.stdint cimport int64_t, uint32_t
from libc.string cimport memset

from fxpipe.fix.codec cimport fix_error, fix_index_bytes
from fxpipe.fix.encoder cimport Encoder
from fxpipe.fix.fields cimport (
    FixHeaderInfo,
    char_str,
    fix_read_header,
    id_str,
    py_char,
    py_id,
)
from fxpipe.fix.orders cimport (
    ExecutionReport,
    OrderCancelReject,
    OrderRequest,
    fix_decode_execution_report,
    fix_decode_order,
    fix_decode_order_cancel_reject,
    fix_encode_execution_report,
    fix_encode_order,
    fix_encode_order_cancel_reject,
)
from fxpipe.fix.scan cimport FixField, FixIndex
from fxpipe.fix.marketdata cimport (
    MD_MAX_ENTRIES,
    MD_MAX_ENTRY_TYPES,
    MD_MAX_SYMBOLS,
    MarketDataRequest,
    MarketDataSnapshot,
    MdEntry,
    TopOfBook,
    fix_decode_md_request,
    fix_decode_md_snapshot,
    fix_encode_md_request,
    fix_encode_md_snapshot,
    fix_top_of_book,
)

cdef enum:
    FIELDS_CAP = 1024
    OUT_CAP = 16384

cdef FixField g_fields[FIELDS_CAP]
cdef char g_out[OUT_CAP]


cdef bytes index_of(FixIndex* ix, object raw, bint validate):
    """Indexes raw into the module's field storage; returns the bytes ix points into, which the
    caller keeps referenced while it reads ix."""
    return fix_index_bytes(ix, g_fields, FIELDS_CAP, raw, validate)


cdef dict header_dict(int rc, FixIndex* ix):
    """The header of a message its direct decoder returned rc for: raises unless rc is 0."""
    cdef FixHeaderInfo h
    if rc == 0:
        rc = fix_read_header(ix, &h)
    if rc:
        raise fix_error(rc, ix, 0)
    return {"seq_num": h.seq_num, "sending_time_ns": h.sending_time_ns,
            "orig_sending_time_ns": h.orig_sending_time_ns or None,
            "poss_dup": char_str(h.poss_dup) == "Y", "poss_resend": char_str(h.poss_resend) == "Y"}


cdef bytes finish(Py_ssize_t n, Py_ssize_t start, str what):
    if n == -2:
        raise ValueError(f"{what}: a field this message type requires is missing")
    if n < 0:
        raise ValueError(f"{what}: message larger than {OUT_CAP} bytes")
    return g_out[start:start + n]


cdef int64_t opt_int(dict d, str key, int64_t unset) except? -9:
    v = d.get(key)
    if v is None:
        return unset
    if type(v) is not int:
        raise TypeError(f"{key}: {v!r} must be an int (scaled, e.g. price_e8)")
    return v


cdef inline object opt(int64_t v):
    """None for an optional number the decoder left unset (negative)."""
    return v if v >= 0 else None


# --- orders -------------------------------------------------------------------------------

def encode_order(Encoder enc, msg_type, int64_t seq, int64_t sending_ns, dict o):
    """NewOrderSingle / OrderCancelRequest / OrderCancelReplaceRequest / OrderStatusRequest."""
    cdef OrderRequest r
    cdef Py_ssize_t start = 0, n
    memset(&r, 0, sizeof(r))
    py_id(&r.cl_ord_id, o.get("cl_ord_id"), "cl_ord_id")
    py_id(&r.orig_cl_ord_id, o.get("orig_cl_ord_id"), "orig_cl_ord_id")
    py_id(&r.order_id, o.get("order_id"), "order_id")
    py_id(&r.symbol, o.get("symbol"), "symbol")
    py_id(&r.account, o.get("account"), "account")
    py_id(&r.currency, o.get("currency"), "currency")
    r.side = py_char(o.get("side"), "side", True)
    r.ord_type = py_char(o.get("ord_type"), "ord_type", True)
    r.time_in_force = py_char(o.get("time_in_force"), "time_in_force", True)
    r.handl_inst = py_char(o.get("handl_inst"), "handl_inst", True)
    r.order_qty_e2 = opt_int(o, "order_qty_e2", -1)
    r.price_e8 = opt_int(o, "price_e8", -1)
    r.transact_time_ns = opt_int(o, "transact_time_ns", sending_ns)
    r.expire_time_ns = opt_int(o, "expire_time_ns", 0)
    mt = py_char(msg_type, "msg_type", False)
    n = fix_encode_order(g_out, OUT_CAP, &enc.t, mt, seq, sending_ns, &r, &start)
    return finish(n, start, f"encode_order({msg_type!r})")


def decode_order(raw, bint validate=True):
    cdef FixIndex ix
    cdef OrderRequest r
    keep = index_of(&ix, raw, validate)  # noqa: F841  (ix points into it)
    rc = fix_decode_order(&ix, &r)
    d = header_dict(rc, &ix)
    d.update(msg_type=chr(ix.buf[ix.fields[2].off]), cl_ord_id=id_str(&r.cl_ord_id),
             orig_cl_ord_id=id_str(&r.orig_cl_ord_id), order_id=id_str(&r.order_id),
             symbol=id_str(&r.symbol), account=id_str(&r.account), currency=id_str(&r.currency),
             side=char_str(r.side), ord_type=char_str(r.ord_type),
             time_in_force=char_str(r.time_in_force), handl_inst=char_str(r.handl_inst),
             order_qty_e2=opt(r.order_qty_e2),
             price_e8=opt(r.price_e8),
             transact_time_ns=r.transact_time_ns or None, expire_time_ns=r.expire_time_ns or None)
    return d


def encode_execution_report(Encoder enc, int64_t seq, int64_t sending_ns, dict o):
    cdef ExecutionReport e
    cdef Py_ssize_t start = 0, n
    memset(&e, 0, sizeof(e))
    py_id(&e.order_id, o.get("order_id"), "order_id")
    py_id(&e.cl_ord_id, o.get("cl_ord_id"), "cl_ord_id")
    py_id(&e.orig_cl_ord_id, o.get("orig_cl_ord_id"), "orig_cl_ord_id")
    py_id(&e.exec_id, o.get("exec_id"), "exec_id")
    py_id(&e.exec_ref_id, o.get("exec_ref_id"), "exec_ref_id")
    py_id(&e.symbol, o.get("symbol"), "symbol")
    py_id(&e.currency, o.get("currency"), "currency")
    e.exec_trans_type = py_char(o.get("exec_trans_type", "0"), "exec_trans_type", False)
    e.exec_type = py_char(o.get("exec_type"), "exec_type", True)
    e.ord_status = py_char(o.get("ord_status"), "ord_status", True)
    e.side = py_char(o.get("side"), "side", True)
    e.ord_type = py_char(o.get("ord_type"), "ord_type", True)
    e.time_in_force = py_char(o.get("time_in_force"), "time_in_force", True)
    e.ord_rej_reason = opt_int(o, "ord_rej_reason", -1)
    e.order_qty_e2 = opt_int(o, "order_qty_e2", -1)
    e.price_e8 = opt_int(o, "price_e8", -1)
    e.last_qty_e2 = opt_int(o, "last_qty_e2", 0)
    e.last_px_e8 = opt_int(o, "last_px_e8", 0)
    e.leaves_qty_e2 = opt_int(o, "leaves_qty_e2", 0)
    e.cum_qty_e2 = opt_int(o, "cum_qty_e2", 0)
    e.avg_px_e8 = opt_int(o, "avg_px_e8", 0)
    e.transact_time_ns = opt_int(o, "transact_time_ns", sending_ns)
    n = fix_encode_execution_report(g_out, OUT_CAP, &enc.t, seq, sending_ns, &e, &start)
    return finish(n, start, "encode_execution_report")


def decode_execution_report(raw, bint validate=True):
    cdef FixIndex ix
    cdef ExecutionReport e
    keep = index_of(&ix, raw, validate)  # noqa: F841  (ix points into it)
    rc = fix_decode_execution_report(&ix, &e)
    d = header_dict(rc, &ix)
    d.update(order_id=id_str(&e.order_id), cl_ord_id=id_str(&e.cl_ord_id),
             orig_cl_ord_id=id_str(&e.orig_cl_ord_id), exec_id=id_str(&e.exec_id),
             exec_ref_id=id_str(&e.exec_ref_id), symbol=id_str(&e.symbol), currency=id_str(&e.currency),
             exec_trans_type=char_str(e.exec_trans_type), exec_type=char_str(e.exec_type),
             ord_status=char_str(e.ord_status), side=char_str(e.side), ord_type=char_str(e.ord_type),
             time_in_force=char_str(e.time_in_force),
             ord_rej_reason=opt(e.ord_rej_reason),
             order_qty_e2=opt(e.order_qty_e2),
             price_e8=opt(e.price_e8),
             last_qty_e2=e.last_qty_e2, last_px_e8=e.last_px_e8, leaves_qty_e2=e.leaves_qty_e2,
             cum_qty_e2=e.cum_qty_e2, avg_px_e8=e.avg_px_e8, transact_time_ns=e.transact_time_ns or None)
    return d


def encode_order_cancel_reject(Encoder enc, int64_t seq, int64_t sending_ns, dict o):
    cdef OrderCancelReject r
    cdef Py_ssize_t start = 0, n
    memset(&r, 0, sizeof(r))
    py_id(&r.order_id, o.get("order_id"), "order_id")
    py_id(&r.cl_ord_id, o.get("cl_ord_id"), "cl_ord_id")
    py_id(&r.orig_cl_ord_id, o.get("orig_cl_ord_id"), "orig_cl_ord_id")
    r.ord_status = py_char(o.get("ord_status"), "ord_status", True)
    r.cxl_rej_response_to = py_char(o.get("cxl_rej_response_to"), "cxl_rej_response_to", True)
    r.cxl_rej_reason = opt_int(o, "cxl_rej_reason", -1)
    n = fix_encode_order_cancel_reject(g_out, OUT_CAP, &enc.t, seq, sending_ns, &r, &start)
    return finish(n, start, "encode_order_cancel_reject")


def decode_order_cancel_reject(raw, bint validate=True):
    cdef FixIndex ix
    cdef OrderCancelReject r
    keep = index_of(&ix, raw, validate)  # noqa: F841  (ix points into it)
    rc = fix_decode_order_cancel_reject(&ix, &r)
    d = header_dict(rc, &ix)
    d.update(order_id=id_str(&r.order_id), cl_ord_id=id_str(&r.cl_ord_id),
             orig_cl_ord_id=id_str(&r.orig_cl_ord_id), ord_status=char_str(r.ord_status),
             cxl_rej_response_to=char_str(r.cxl_rej_response_to),
             cxl_rej_reason=opt(r.cxl_rej_reason))
    return d


# --- market data --------------------------------------------------------------------------

def encode_md_request(Encoder enc, int64_t seq, int64_t sending_ns, dict o):
    """MarketDataRequest: md_req_id, subscription_request_type, market_depth, md_update_type,
    entry_types (e.g. "01"), symbols (list)."""
    cdef MarketDataRequest r
    cdef Py_ssize_t start = 0, n
    memset(&r, 0, sizeof(r))
    py_id(&r.md_req_id, o.get("md_req_id"), "md_req_id")
    r.subscription_request_type = py_char(o.get("subscription_request_type"), "subscription_request_type", True)
    r.market_depth = opt_int(o, "market_depth", 1)
    r.md_update_type = opt_int(o, "md_update_type", -1)
    types = o.get("entry_types", "01")
    symbols = o.get("symbols", ())
    if len(types) > MD_MAX_ENTRY_TYPES or len(symbols) > MD_MAX_SYMBOLS:
        raise ValueError(f"encode_md_request: at most {MD_MAX_ENTRY_TYPES} entry types and "
                         f"{MD_MAX_SYMBOLS} symbols")
    for k, c in enumerate(types):
        r.entry_types[k] = py_char(c, "entry_types", False)
    r.n_entry_types = len(types)
    for k, sym in enumerate(symbols):
        py_id(&r.symbols[k], sym, "symbols")
    r.n_symbols = len(symbols)
    n = fix_encode_md_request(g_out, OUT_CAP, &enc.t, seq, sending_ns, &r, &start)
    return finish(n, start, "encode_md_request")


def decode_md_request(raw, bint validate=True):
    cdef FixIndex ix
    cdef MarketDataRequest r
    keep = index_of(&ix, raw, validate)  # noqa: F841  (ix points into it)
    rc = fix_decode_md_request(&ix, &r)
    d = header_dict(rc, &ix)
    d.update(md_req_id=id_str(&r.md_req_id), subscription_request_type=char_str(r.subscription_request_type),
             market_depth=r.market_depth, md_update_type=opt(r.md_update_type),
             entry_types="".join(chr(r.entry_types[k]) for k in range(r.n_entry_types)),
             symbols=[id_str(&r.symbols[k]) for k in range(r.n_symbols)])
    return d


cdef MarketDataSnapshot g_snapshot


def encode_md_snapshot(Encoder enc, msg_type, int64_t seq, int64_t sending_ns, dict o):
    """W (md_req_id, symbol, entries) or X (md_req_id, entries with update_action, entry_id,
    symbol); each entry a dict of entry_type, px_e8, size_e2 (and the X keys)."""
    cdef MarketDataSnapshot* s = &g_snapshot
    cdef MdEntry* e
    cdef Py_ssize_t start = 0, n
    entries = o.get("entries", ())
    if len(entries) > MD_MAX_ENTRIES:
        raise ValueError(f"encode_md_snapshot: at most {MD_MAX_ENTRIES} entries")
    memset(s, 0, sizeof(MarketDataSnapshot))
    s.msg_type = py_char(msg_type, "msg_type", False)
    py_id(&s.md_req_id, o.get("md_req_id"), "md_req_id")
    py_id(&s.symbol, o.get("symbol"), "symbol")
    for k, ent in enumerate(entries):
        e = &s.entries[k]
        e.entry_type = py_char(ent.get("entry_type"), "entry_type", True)
        e.update_action = py_char(ent.get("update_action"), "update_action", True)
        e.px_e8 = opt_int(ent, "px_e8", -1)
        e.size_e2 = opt_int(ent, "size_e2", -1)
        py_id(&e.entry_id, ent.get("entry_id"), "entry_id")
        py_id(&e.symbol, ent.get("symbol"), "symbol")
    s.n_entries = len(entries)
    n = fix_encode_md_snapshot(g_out, OUT_CAP, &enc.t, seq, sending_ns, s, &start)
    return finish(n, start, f"encode_md_snapshot({msg_type!r})")


def decode_md_snapshot(raw, bint validate=True):
    """W or X as a dict with its entries and the top of book (best bid/offer) they give."""
    cdef FixIndex ix
    cdef MarketDataSnapshot* s = &g_snapshot
    cdef TopOfBook top
    cdef MdEntry* e
    keep = index_of(&ix, raw, validate)  # noqa: F841  (ix points into it)
    rc = fix_decode_md_snapshot(&ix, s)
    d = header_dict(rc, &ix)
    fix_top_of_book(s, &top)
    entries = []
    for k in range(s.n_entries):
        e = &s.entries[k]
        entries.append(dict(entry_type=char_str(e.entry_type), update_action=char_str(e.update_action),
                            px_e8=opt(e.px_e8),
                            size_e2=opt(e.size_e2),
                            entry_id=id_str(&e.entry_id), symbol=id_str(&e.symbol)))
    d.update(msg_type=chr(s.msg_type), md_req_id=id_str(&s.md_req_id), symbol=id_str(&s.symbol),
             entries=entries,
             bid_px_e8=opt(top.bid_px_e8), bid_size_e2=top.bid_size_e2,
             ask_px_e8=opt(top.ask_px_e8), ask_size_e2=top.ask_size_e2)
    return d
