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


# --- depth books of a FIX market-data subscription (the feed stage's FIX source) -----------

from cpython.mem cimport PyMem_Calloc, PyMem_Free
from libc.stdint cimport uint16_t
from libc.string cimport memcmp, memmove


cdef enum:
    MD_BOOK_DEPTH = 16           # levels a side a book keeps (Quote.level is one byte)

# what MarketDataBooks.apply found
APPLIED = 0                      # applied; the quotes are the books the message changed
OTHER_REQUEST = 1                # for another MDReqID (an old subscription): nothing applied
UNKNOWN_SYMBOL = 2               # entries for symbols not subscribed were skipped; the rest applied
BROKEN = 3                       # a book could not take the message (an incremental before its
                                 # snapshot, a position that is not there, crossed or disordered
                                 # levels): that book is dropped until the next snapshot

ctypedef struct MdLevel:
    int64_t px_e8
    int64_t size_e2

ctypedef struct MdLadder:
    int n_bids
    int n_asks
    int has_book
    int changed
    uint16_t flags
    int64_t ts_venue_ns
    int64_t md_seq
    MdLevel bids[MD_BOOK_DEPTH]
    MdLevel asks[MD_BOOK_DEPTH]


cdef int ladder_insert(MdLevel* side, int* n, int idx, int depth, const MdEntry* e) noexcept nogil:
    if idx > n[0] or e.px_e8 < 0:
        return -1
    if idx >= depth:
        return 0                 # beyond the depth kept: nothing shown changes
    if n[0] == depth:
        n[0] -= 1                # the deepest level falls off
    memmove(&side[idx + 1], &side[idx], (n[0] - idx) * sizeof(MdLevel))
    side[idx].px_e8 = e.px_e8
    side[idx].size_e2 = e.size_e2 if e.size_e2 > 0 else 0
    n[0] += 1
    return 0


cdef int ladder_change(MdLevel* side, int n, int idx, const MdEntry* e) noexcept nogil:
    if idx >= n or e.px_e8 < 0:
        return -1
    side[idx].px_e8 = e.px_e8
    side[idx].size_e2 = e.size_e2 if e.size_e2 > 0 else 0
    return 0


cdef int ladder_delete(MdLevel* side, int* n, int idx) noexcept nogil:
    if idx >= n[0]:
        return -1
    memmove(&side[idx], &side[idx + 1], (n[0] - idx - 1) * sizeof(MdLevel))
    n[0] -= 1
    return 0


cdef bint ladder_sound(const MdLadder* b) noexcept nogil:
    """Bids strictly falling, offers strictly rising, best bid below best offer."""
    cdef int k
    for k in range(1, b.n_bids):
        if b.bids[k].px_e8 >= b.bids[k - 1].px_e8:
            return False
    for k in range(1, b.n_asks):
        if b.asks[k].px_e8 <= b.asks[k - 1].px_e8:
            return False
    return not (b.n_bids and b.n_asks and b.bids[0].px_e8 >= b.asks[0].px_e8)


cdef int apply_entry(MdLadder* b, const MdEntry* e, int depth) noexcept nogil:
    """One X entry by MDEntryPositionNo (absent: 1, a top-of-book stream): new inserts at the
    position, change replaces it, delete removes it; -1 when the book has no such position."""
    cdef MdLevel* side
    cdef int* n
    cdef int idx = <int>(e.position_no - 1) if e.position_no > 0 else 0
    if e.position_no > MD_BOOK_DEPTH * 4:
        return -1
    if e.entry_type == b'0':
        side, n = b.bids, &b.n_bids
    elif e.entry_type == b'1':
        side, n = b.asks, &b.n_asks
    else:
        return 0                 # trades and the like: not part of the book
    if e.update_action == b'0':
        return ladder_insert(side, n, idx, depth, e)
    if idx >= depth:
        return 0
    if e.update_action == b'1':
        return ladder_change(side, n[0], idx, e)
    if e.update_action == b'2':
        return ladder_delete(side, n, idx)
    return -1


cdef int load_snapshot(MdLadder* b, const MarketDataSnapshot* s, int depth) noexcept nogil:
    """A W replaces the book; entries must come best first per side (positions 1, 2, ...)."""
    cdef unsigned int k
    cdef const MdEntry* e
    cdef MdLevel* side
    cdef int* n
    cdef int seen_b = 0, seen_a = 0
    cdef int* seen
    b.n_bids = 0
    b.n_asks = 0
    for k in range(s.n_entries):
        e = &s.entries[k]
        if e.entry_type == b'0':
            side, n, seen = b.bids, &b.n_bids, &seen_b
        elif e.entry_type == b'1':
            side, n, seen = b.asks, &b.n_asks, &seen_a
        else:
            continue
        if e.position_no > 0 and e.position_no != seen[0] + 1:
            return -1
        seen[0] += 1
        if n[0] < depth:
            side[n[0]].px_e8 = e.px_e8
            side[n[0]].size_e2 = e.size_e2 if e.size_e2 > 0 else 0
            n[0] += 1
    return 0


cdef void write_ladder(const MdLadder* b, uint16_t venue_id, uint16_t instrument_id,
                       int64_t ts_receive_ns, int64_t first_seq, Quote* out, int n) noexcept nogil:
    cdef int k
    for k in range(n):
        event_init(&out[k], EVT_QUOTE)
        out[k].hdr.sequence = first_seq + k if first_seq > 0 else 0
        out[k].hdr.flags = b.flags
        out[k].hdr.venue_id = venue_id
        out[k].hdr.instrument_id = instrument_id
        out[k].hdr.ts_venue_ns = b.ts_venue_ns
        out[k].hdr.ts_receive_ns = ts_receive_ns
        if k < b.n_bids and b.bids[k].size_e2 > 0:
            out[k].bid_px_e8 = b.bids[k].px_e8
            out[k].bid_qty_e2 = b.bids[k].size_e2
        if k < b.n_asks and b.asks[k].size_e2 > 0:
            out[k].ask_px_e8 = b.asks[k].px_e8
            out[k].ask_qty_e2 = b.asks[k].size_e2
        out[k].md_seq = b.md_seq
        out[k].level = <unsigned char>k
        out[k].quote_cond = QUOTE_FIRM


cdef class MarketDataBooks:
    """The books of one market-data subscription, one per symbol, up to `depth` levels a side:
    a W (MarketDataSnapshotFullRefresh) replaces its symbol's book, an X
    (MarketDataIncrementalRefresh) applies each entry to its symbol's book by MDEntryPositionNo.
    apply() decodes in C and returns the changed books as Quote events (192 bytes each, one per
    level, best first) with venue, instrument, SendingTime (ts_venue_ns), the message's
    MsgSeqNum (md_seq) and the snapshot / possible-duplicate flags set. A book that cannot take
    a message, or that ends crossed or out of order, is dropped (never quoted) until the next
    snapshot of its symbol."""
    cdef MdLadder* books
    cdef uint16_t* ids
    cdef int n_books
    cdef readonly int depth
    cdef dict slots              # venue symbol (bytes) -> book index
    cdef readonly long messages, snapshots, incrementals, broken, unknown_symbols, other_requests
    cdef readonly str problem    # what the last apply() other than APPLIED found

    def __cinit__(self, symbols, int depth=1):
        pairs = sorted((int(i), s.encode("ascii") if isinstance(s, str) else bytes(s)) for s, i in dict(symbols).items())
        if not pairs:
            raise ValueError("MarketDataBooks: no symbols")
        if not 1 <= depth <= MD_BOOK_DEPTH:
            raise ValueError(f"MarketDataBooks: depth {depth} outside 1..{MD_BOOK_DEPTH}")
        if len({i for i, _ in pairs}) != len(pairs):
            raise ValueError("MarketDataBooks: two symbols for one instrument id")
        self.n_books = len(pairs)
        self.depth = depth
        self.books = <MdLadder*>PyMem_Calloc(self.n_books, sizeof(MdLadder))
        self.ids = <uint16_t*>PyMem_Calloc(self.n_books, sizeof(uint16_t))
        if self.books == NULL or self.ids == NULL:
            raise MemoryError()
        self.slots = {}
        for k, (iid, sym) in enumerate(pairs):
            if not 0 < iid < 65536:
                raise ValueError(f"MarketDataBooks: instrument id {iid} of {sym!r} is not a uint16 above 0")
            self.ids[k] = <uint16_t>iid
            self.slots[sym] = k
        self.problem = ""

    def __dealloc__(self):
        PyMem_Free(self.books)
        PyMem_Free(self.ids)

    cdef int slot_of(self, const FixId* sym):
        cdef object k = self.slots.get((<char*>sym.s)[:sym.len])
        return -1 if k is None else <int>k

    def apply(self, raw, md_req_id, uint16_t venue_id, int64_t ts_receive_ns, bint validate=True,
              int64_t first_seq=0):
        """(status, Quote events as one bytearray) for one W or X: status APPLIED,
        OTHER_REQUEST (MDReqID is not md_req_id: nothing applied), UNKNOWN_SYMBOL or BROKEN
        (see `problem`). A message that does not decode raises FixParseError, nothing applied.
        validate=False when the session layer has validated the message already; first_seq > 0
        numbers the quotes from it (header sequence)."""
        cdef FixIndex ix
        cdef FixHeaderInfo h
        cdef MarketDataSnapshot* s = &g_scratch
        cdef MdLadder* b
        cdef const MdEntry* e
        cdef unsigned int k
        cdef int slot = -1, last = -1, status = APPLIED, n_quotes = 0, lv
        cdef uint16_t flags = 0
        cdef bytes want = md_req_id.encode("ascii") if isinstance(md_req_id, str) else bytes(md_req_id)
        keep = parse_into(&ix, raw, validate)  # noqa: F841  (ix points into it)
        rc = fix_decode_md_snapshot(&ix, s)
        if rc == 0:
            rc = fix_read_header(&ix, &h)
        if rc:
            raise fix_error(rc, &ix, 0)
        self.messages += 1
        if s.md_req_id.len != len(want) or memcmp(s.md_req_id.s, <const char*>want, len(want)) != 0:
            self.other_requests += 1
            self.problem = f"MDReqID {s.md_req_id.s[:s.md_req_id.len].decode('latin-1')!r} is not the live subscription"
            return OTHER_REQUEST, bytearray()
        if h.poss_dup == b'Y' or h.poss_resend == b'Y':
            flags = FLAG_POSS_DUP
        changed = []
        if s.msg_type == b'W':
            self.snapshots += 1
            slot = self.slot_of(&s.symbol)
            if slot < 0:
                self.unknown_symbols += 1
                self.problem = f"snapshot for symbol {s.symbol.s[:s.symbol.len].decode('latin-1')!r}, not subscribed"
                return UNKNOWN_SYMBOL, bytearray()
            b = &self.books[slot]
            b.has_book = load_snapshot(b, s, self.depth) == 0
            b.flags = flags | FLAG_SNAPSHOT
            b.ts_venue_ns = h.sending_time_ns
            b.md_seq = h.seq_num
            if not b.has_book:
                status = BROKEN
                self.problem = "snapshot levels are not numbered 1, 2, ... per side"
            changed.append(slot)
        else:
            self.incrementals += 1
            for k in range(s.n_entries):
                e = &s.entries[k]
                if last < 0 or e.symbol.len != s.entries[last].symbol.len or \
                        memcmp(e.symbol.s, s.entries[last].symbol.s, e.symbol.len) != 0:
                    slot = self.slot_of(&e.symbol)
                    last = k
                if slot < 0:
                    self.unknown_symbols += 1
                    if status == APPLIED:
                        status = UNKNOWN_SYMBOL
                        self.problem = f"entry for symbol {e.symbol.s[:e.symbol.len].decode('latin-1')!r}, not subscribed"
                    continue
                b = &self.books[slot]
                if not b.changed:
                    b.changed = 1
                    changed.append(slot)
                if not b.has_book:
                    continue             # dropped (or never loaded): waits for its snapshot
                if apply_entry(b, e, self.depth) != 0:
                    b.has_book = 0
                    status = BROKEN
                    self.problem = (f"{e.symbol.s[:e.symbol.len].decode('latin-1')}: incremental "
                                    f"{chr(e.update_action)} at position {e.position_no} does not fit the book")
            for slot in changed:
                b = &self.books[slot]
                b.changed = 0
                b.flags = flags
                b.ts_venue_ns = h.sending_time_ns
                b.md_seq = h.seq_num
                if not b.has_book and status != BROKEN:
                    status = BROKEN
                    self.problem = (f"incremental for {self.symbol_of(slot)} before its snapshot")
        for slot in changed:
            b = &self.books[slot]
            if b.has_book and not ladder_sound(b):
                b.has_book = 0
                status = BROKEN
                self.problem = f"{self.symbol_of(slot)}: crossed or disordered levels"
            if b.has_book:
                n_quotes += b.n_bids if b.n_bids > b.n_asks else b.n_asks
        if status == BROKEN:
            self.broken += 1
        out = bytearray(n_quotes * EVENT_SIZE)
        n_quotes = 0
        for slot in changed:
            b = &self.books[slot]
            if b.has_book:
                lv = b.n_bids if b.n_bids > b.n_asks else b.n_asks
                self.write_into(out, n_quotes, slot, venue_id, ts_receive_ns, first_seq, lv)
                n_quotes += lv
        return status, out

    cdef void write_into(self, bytearray out, int at, int slot, uint16_t venue_id, int64_t ts,
                         int64_t first_seq, int n):
        cdef char* p = out
        if n:
            write_ladder(&self.books[slot], venue_id, self.ids[slot], ts, first_seq + at if first_seq > 0 else 0,
                         <Quote*>(p + at * EVENT_SIZE), n)

    cdef str symbol_of(self, int slot):
        for sym, k in self.slots.items():
            if k == slot:
                return sym.decode("latin-1")
        return "?"

    def quotes(self, uint16_t venue_id, int64_t ts_receive_ns, int64_t first_seq=0):
        """Every book held, in instrument-id order, as Quote events (one bytearray)."""
        cdef int slot, n = 0, lv
        cdef MdLadder* b
        for slot in range(self.n_books):
            b = &self.books[slot]
            if b.has_book:
                n += b.n_bids if b.n_bids > b.n_asks else b.n_asks
        out = bytearray(n * EVENT_SIZE)
        n = 0
        for slot in range(self.n_books):
            b = &self.books[slot]
            if b.has_book:
                lv = b.n_bids if b.n_bids > b.n_asks else b.n_asks
                self.write_into(out, n, slot, venue_id, ts_receive_ns, first_seq, lv)
                n += lv
        return out

    def clear(self):
        """Drops every book (a new subscription's snapshots rebuild them)."""
        cdef int slot
        for slot in range(self.n_books):
            self.books[slot].has_book = 0
            self.books[slot].n_bids = 0
            self.books[slot].n_asks = 0

    def complete(self) -> bool:
        """Every subscribed symbol has a book."""
        cdef int slot
        for slot in range(self.n_books):
            if not self.books[slot].has_book:
                return False
        return True

    def has_book(self, int instrument_id) -> bool:
        return bool(self.books[self._slot(instrument_id)].has_book)

    def levels(self, int instrument_id):
        """([(bid_px_e8, size_e2)...], [(ask_px_e8, size_e2)...]) best first."""
        cdef MdLadder* b = &self.books[self._slot(instrument_id)]
        return ([(b.bids[k].px_e8, b.bids[k].size_e2) for k in range(b.n_bids)],
                [(b.asks[k].px_e8, b.asks[k].size_e2) for k in range(b.n_asks)])

    def _slot(self, int instrument_id) -> int:
        cdef int slot
        for slot in range(self.n_books):
            if self.ids[slot] == instrument_id:
                return slot
        raise KeyError(f"instrument id {instrument_id} is not subscribed")

    def stats(self) -> dict:
        return {"messages": self.messages, "snapshots": self.snapshots, "incrementals": self.incrementals,
                "broken": self.broken, "unknown_symbols": self.unknown_symbols,
                "other_requests": self.other_requests}
