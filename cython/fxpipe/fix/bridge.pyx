"""FIX <-> fxpipe events: an OrderIntent becomes a NewOrderSingle, OrderCancelRequest or
OrderCancelReplaceRequest in a caller's buffer; an ExecutionReport becomes an OrderUpdate (and
a Fill when it reports an execution, a bust or a correction); an OrderCancelReject an
OrderUpdate; market data W/X a top-of-book Quote. ClOrdIDs are fxpipe's int64 ids written in
decimal; a report whose ClOrdID is not such a number (not ours) keeps cl_ord_id 0 for the OMS
to treat as a report for an unknown order. Venue ids longer than FIX_ID_LEN are refused
(reason 5), never cut."""
from libc.stdint cimport int32_t, int64_t
from libc.string cimport memset

from fxpipe.fix.fields cimport FixHeaderInfo, FixId, fix_fail, fix_read_header, id_set
from fxpipe.fix.marketdata cimport MdEntry, fix_decode_md_snapshot, fix_top_of_book
from fxpipe.fix.orders cimport (
    ExecutionReport,
    OrderCancelReject,
    OrderRequest,
    fix_decode_execution_report,
    fix_decode_order_cancel_reject,
    fix_encode_order,
)
from fxpipe.fix.scan cimport REASON_VALUE_OUT_OF_RANGE, fix_value
from fxpipe.fix.values cimport VALUE_OK, fix_format_uint, fix_parse_uint
from fxpipe.model.events cimport (
    EVT_FILL,
    EVT_ORDER_UPDATE,
    EVT_QUOTE,
    FLAG_POSS_DUP,
    FLAG_SNAPSHOT,
    INTENT_CANCEL,
    INTENT_NEW,
    INTENT_REPLACE,
    ORD_TYPE_LIMIT,
    QUOTE_FIRM,
    REPORT_CANCEL_REJECT,
    REPORT_EXECUTION,
    event_init,
    fix_id_set,
)


cdef inline void id_from_int(FixId* d, int64_t v) noexcept nogil:
    d.len = <unsigned char>fix_format_uint(d.s, <unsigned long long>v)
    d.s[d.len] = 0


cdef inline int64_t int_from_id(const FixId* v) noexcept nogil:
    cdef int64_t out = 0
    if v.len == 0 or fix_parse_uint(v.s, v.len, &out) != VALUE_OK:
        return 0
    return out


cdef inline int copy_id(FixIndex* ix, char* dst, const FixId* src, int32_t tag) noexcept nogil:
    """src into an event's id field; an id longer than the field is refused (reason 5)."""
    if fix_id_set(dst, src.s, src.len) != 0:
        return fix_fail(ix, REASON_VALUE_OUT_OF_RANGE, tag, ix.n)
    return 0


cdef inline unsigned short reject_reason(int64_t v) noexcept nogil:
    """OrdRejReason / CxlRejReason as the event's 16 bits; absent (-1) or beyond them is 0."""
    return <unsigned short>(v if 0 <= v <= 65535 else 0)


cdef inline void update_init(OrderUpdate* u, unsigned short flags, int64_t ts_venue_ns,
                             const FixId* cl_ord_id, const FixId* orig_cl_ord_id) noexcept nogil:
    """The part of an OrderUpdate every report (8 or 9) fills the same way."""
    event_init(u, EVT_ORDER_UPDATE)
    u.hdr.flags = flags
    u.hdr.ts_venue_ns = ts_venue_ns
    u.cl_ord_id = int_from_id(cl_ord_id)
    u.orig_cl_ord_id = int_from_id(orig_cl_ord_id)


cdef Py_ssize_t fix_encode_intent(char* buf, Py_ssize_t cap, const FixTemplate* t, int64_t seq,
                                  int64_t sending_ns, const OrderIntent* intent,
                                  const char* symbol, Py_ssize_t symbol_len,
                                  Py_ssize_t* start) noexcept nogil:
    """-2 when the intent cannot be a valid request (unknown action, no ids, no symbol)."""
    cdef OrderRequest o
    cdef char mt
    if intent.action == INTENT_NEW:
        mt = b'D'
    elif intent.action == INTENT_CANCEL:
        mt = b'F'
    elif intent.action == INTENT_REPLACE:
        mt = b'G'
    else:
        return -2
    if intent.cl_ord_id <= 0 or (mt != b'D' and intent.orig_cl_ord_id <= 0):
        return -2
    memset(&o, 0, sizeof(OrderRequest))
    if id_set(&o.symbol, symbol, symbol_len) != 0:
        return -2
    id_from_int(&o.cl_ord_id, intent.cl_ord_id)
    if mt != b'D':
        id_from_int(&o.orig_cl_ord_id, intent.orig_cl_ord_id)
    o.side = <char>intent.side
    o.ord_type = <char>intent.ord_type
    o.time_in_force = <char>intent.time_in_force
    o.handl_inst = b'1'
    o.order_qty_e2 = intent.qty_e2
    o.price_e8 = intent.price_e8 if intent.ord_type == ORD_TYPE_LIMIT else -1
    o.transact_time_ns = sending_ns
    return fix_encode_order(buf, cap, t, mt, seq, sending_ns, &o, start)


cdef inline unsigned short dup_flags(const FixIndex* ix) noexcept nogil:
    """FLAG_POSS_DUP when the header says PossDupFlag=Y or PossResend=Y."""
    cdef unsigned int i
    for i in range(3, ix.n - 1):
        if ((ix.fields[i].tag == 43 or ix.fields[i].tag == 97) and ix.fields[i].len == 1
                and fix_value(ix, i)[0] == b'Y'):
            return FLAG_POSS_DUP
    return 0


cdef inline int header_flags(FixIndex* ix, int64_t* sending_ns, unsigned short* flags) noexcept nogil:
    cdef FixHeaderInfo h
    cdef int rc = fix_read_header(ix, &h)
    if rc:
        return rc
    sending_ns[0] = h.sending_time_ns
    flags[0] = FLAG_POSS_DUP if (h.poss_dup == b'Y' or h.poss_resend == b'Y') else 0
    return 0


cdef int fix_execution_report_events(FixIndex* ix, OrderUpdate* u, Fill* f, bint* has_fill) noexcept nogil:
    """OrderUpdate always; Fill (has_fill set) for an execution (ExecType 1/2 with LastShares),
    a bust (ExecTransType 1) or a correction (ExecTransType 2)."""
    cdef ExecutionReport e
    cdef int64_t sending_ns
    cdef unsigned short flags
    cdef int rc = fix_decode_execution_report(ix, &e)
    if rc:
        return rc
    # SendingTime is read only when TransactTime is absent: the common report skips it.
    if e.transact_time_ns:
        sending_ns = e.transact_time_ns
        flags = dup_flags(ix)
    else:
        rc = header_flags(ix, &sending_ns, &flags)
        if rc:
            return rc
    update_init(u, flags, sending_ns, &e.cl_ord_id, &e.orig_cl_ord_id)
    u.order_qty_e2 = e.order_qty_e2 if e.order_qty_e2 >= 0 else 0
    u.price_e8 = e.price_e8 if e.price_e8 >= 0 else 0
    u.cum_qty_e2 = e.cum_qty_e2
    u.leaves_qty_e2 = e.leaves_qty_e2
    u.avg_px_e8 = e.avg_px_e8
    u.reject_reason = reject_reason(e.ord_rej_reason)
    u.ord_status = <unsigned char>e.ord_status
    u.exec_type = <unsigned char>e.exec_type
    u.exec_trans_type = <unsigned char>e.exec_trans_type
    u.report_kind = REPORT_EXECUTION
    u.side = <unsigned char>e.side
    u.ord_type = <unsigned char>e.ord_type
    u.time_in_force = <unsigned char>e.time_in_force
    rc = copy_id(ix, u.order_id, &e.order_id, 37)
    if rc:
        return rc
    has_fill[0] = (e.exec_trans_type == b'1' or e.exec_trans_type == b'2'
                   or ((e.exec_type == b'1' or e.exec_type == b'2') and e.last_qty_e2 > 0))
    if not has_fill[0]:
        return 0
    event_init(f, EVT_FILL)
    f.hdr.flags = flags
    f.hdr.ts_venue_ns = u.hdr.ts_venue_ns
    f.cl_ord_id = u.cl_ord_id
    f.last_qty_e2 = e.last_qty_e2
    f.last_px_e8 = e.last_px_e8
    f.side = <unsigned char>e.side
    f.exec_trans_type = <unsigned char>e.exec_trans_type
    rc = copy_id(ix, f.exec_id, &e.exec_id, 17)
    if rc:
        return rc
    if e.exec_ref_id.len:
        return copy_id(ix, f.exec_ref_id, &e.exec_ref_id, 19)
    return 0


cdef int fix_cancel_reject_event(FixIndex* ix, OrderUpdate* u) noexcept nogil:
    cdef OrderCancelReject r
    cdef int64_t sending_ns
    cdef unsigned short flags
    cdef int rc = fix_decode_order_cancel_reject(ix, &r)
    if rc == 0:
        rc = header_flags(ix, &sending_ns, &flags)
    if rc:
        return rc
    update_init(u, flags, sending_ns, &r.cl_ord_id, &r.orig_cl_ord_id)
    u.ord_status = <unsigned char>r.ord_status
    u.report_kind = REPORT_CANCEL_REJECT
    u.cxl_rej_response_to = <unsigned char>r.cxl_rej_response_to
    u.reject_reason = reject_reason(r.cxl_rej_reason)
    return copy_id(ix, u.order_id, &r.order_id, 37)


cdef inline void apply_side(const MdEntry* e, int64_t* px_e8, int64_t* size_e2) noexcept nogil:
    if e.update_action == b'2':
        px_e8[0] = -1
        size_e2[0] = 0
    elif e.px_e8 >= 0:
        px_e8[0] = e.px_e8
        size_e2[0] = e.size_e2 if e.size_e2 > 0 else 0


cdef void apply_top_of_book(const MarketDataSnapshot* s, TopOfBook* book) noexcept nogil:
    """An X of a top-of-book stream (MarketDepth=1): new/change replace a side, delete empties
    it. Deeper books need an MDEntryID-keyed book, which is the feed's, not the codec's."""
    cdef unsigned int k
    cdef const MdEntry* e
    for k in range(s.n_entries):
        e = &s.entries[k]
        if e.entry_type == b'0':
            apply_side(e, &book.bid_px_e8, &book.bid_size_e2)
        elif e.entry_type == b'1':
            apply_side(e, &book.ask_px_e8, &book.ask_size_e2)


cdef int fix_market_data_quote(FixIndex* ix, MarketDataSnapshot* scratch, TopOfBook* book,
                               Quote* q) noexcept nogil:
    """W replaces book with the snapshot's best bid/offer; X applies to book (see
    apply_top_of_book). q gets the result; a side without a price has qty 0 (absent)."""
    cdef int64_t sending_ns
    cdef unsigned short flags
    cdef int rc = fix_decode_md_snapshot(ix, scratch)
    if rc == 0:
        rc = header_flags(ix, &sending_ns, &flags)
    if rc:
        return rc
    if scratch.msg_type == b'W':
        fix_top_of_book(scratch, book)
        flags |= FLAG_SNAPSHOT
    else:
        apply_top_of_book(scratch, book)
    event_init(q, EVT_QUOTE)
    q.hdr.flags = flags
    q.hdr.ts_venue_ns = sending_ns
    q.quote_cond = QUOTE_FIRM
    if book.bid_px_e8 >= 0 and book.bid_size_e2 > 0:
        q.bid_px_e8 = book.bid_px_e8
        q.bid_qty_e2 = book.bid_size_e2
    if book.ask_px_e8 >= 0 and book.ask_size_e2 > 0:
        q.ask_px_e8 = book.ask_px_e8
        q.ask_qty_e2 = book.ask_size_e2
    return 0


# --- Python wrappers (tools and tests): event bytes in and out ---------------------------

from fxpipe.fix.codec cimport fix_error, fix_index_bytes
from fxpipe.fix.encoder cimport Encoder
from fxpipe.fix.scan cimport FixField
from fxpipe.model.events cimport EVENT_SIZE, Event

cdef FixField g_fields[1024]
cdef char g_out[4096]
cdef MarketDataSnapshot g_scratch


cdef bytes parse_into(FixIndex* ix, object raw, bint validate):
    return fix_index_bytes(ix, g_fields, 1024, raw, validate)


def intent_to_fix(Encoder enc, int64_t seq, int64_t sending_ns, intent, symbol):
    """The FIX request for one OrderIntent event (192 bytes: bytes or a numpy record)."""
    cdef bytes raw = bytes(memoryview(intent).cast("B")) if not isinstance(intent, bytes) else intent
    cdef Event ev
    cdef Py_ssize_t start = 0, n
    if len(raw) != EVENT_SIZE:
        raise ValueError(f"intent_to_fix: an event is {EVENT_SIZE} bytes, got {len(raw)}")
    memcpy_event(&ev, raw)
    sym = symbol.encode("ascii") if isinstance(symbol, str) else bytes(symbol)
    n = fix_encode_intent(g_out, 4096, &enc.t, seq, sending_ns, &ev.intent, sym, len(sym), &start)
    if n == -2:
        raise ValueError("intent_to_fix: the intent has no valid action, ClOrdID (and "
                         "OrigClOrdID for cancel/replace) or symbol")
    if n < 0:
        raise ValueError("intent_to_fix: message too large")
    return g_out[start:start + n]


cdef void memcpy_event(Event* ev, bytes raw):
    cdef const char* p = raw
    cdef Py_ssize_t i
    for i in range(EVENT_SIZE):
        ev.raw[i] = <unsigned char>p[i]


def execution_report_to_events(raw, bint validate=True):
    """(OrderUpdate bytes, Fill bytes or None) of one ExecutionReport."""
    cdef FixIndex ix
    cdef Event u, f
    cdef bint has_fill = False
    keep = parse_into(&ix, raw, validate)  # noqa: F841  (ix points into it)
    rc = fix_execution_report_events(&ix, &u.update, &f.fill, &has_fill)
    if rc:
        raise fix_error(rc, &ix, 0)
    return (<char*>u.raw)[:EVENT_SIZE], ((<char*>f.raw)[:EVENT_SIZE] if has_fill else None)


def cancel_reject_to_event(raw, bint validate=True):
    cdef FixIndex ix
    cdef Event u
    keep = parse_into(&ix, raw, validate)  # noqa: F841
    rc = fix_cancel_reject_event(&ix, &u.update)
    if rc:
        raise fix_error(rc, &ix, 0)
    return (<char*>u.raw)[:EVENT_SIZE]


cdef class QuoteBook:
    """Top of book of one symbol's market-data stream, for market_data_to_quote."""
    cdef TopOfBook book

    def __init__(self):
        self.book.bid_px_e8 = -1
        self.book.ask_px_e8 = -1
        self.book.bid_size_e2 = 0
        self.book.ask_size_e2 = 0

    def quote(self, raw, bint validate=True):
        """Quote event bytes after applying one W or X message."""
        cdef FixIndex ix
        cdef Event q
        keep = parse_into(&ix, raw, validate)  # noqa: F841
        rc = fix_market_data_quote(&ix, &g_scratch, &self.book, &q.quote)
        if rc:
            raise fix_error(rc, &ix, 0)
        return (<char*>q.raw)[:EVENT_SIZE]
