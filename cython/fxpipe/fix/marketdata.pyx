"""Direct paths for market data (V, W, X): request, snapshot and incremental refresh structs
encoded into a caller's buffer and decoded from a field index, and the best bid/offer of a
snapshot for a Quote event. Encoders return -1 (buffer too small) or -2 (required field unset)
on failure; decoders return a SessionRejectReason with err_tag set."""
from libc.stdint cimport int32_t, int64_t, uint32_t
from libc.string cimport memset

from fxpipe.fix.encoder cimport (
    FixWriter,
    fix_finish,
    fix_put_char,
    fix_put_decimal,
    fix_put_int,
    fix_start,
)
from fxpipe.fix.fields cimport fix_fail, fix_missing, put_id, read_char, read_id, read_int, read_scaled
from fxpipe.fix.scan cimport (
    REASON_GROUP_FIELDS_OUT_OF_ORDER,
    REASON_INCORRECT_NUM_IN_GROUP,
    REASON_INVALID_MSG_TYPE,
    REASON_VALUE_OUT_OF_RANGE,
    fix_value,
)
from fxpipe.model.numbers cimport PRICE_SCALE, QTY_SCALE

cdef enum:
    MISSING = -2


cdef Py_ssize_t fix_encode_md_request(char* buf, Py_ssize_t cap, const FixTemplate* t, int64_t seq,
                                      int64_t sending_ns, const MarketDataRequest* r,
                                      Py_ssize_t* start) noexcept nogil:
    cdef FixWriter w
    cdef int k
    if (r.md_req_id.len == 0 or r.subscription_request_type == 0 or r.n_entry_types == 0
            or r.n_symbols == 0 or r.n_entry_types > MD_MAX_ENTRY_TYPES or r.n_symbols > MD_MAX_SYMBOLS):
        return MISSING
    fix_start(&w, buf, cap, t, b"V", 1, seq, sending_ns)
    put_id(&w, 262, &r.md_req_id)
    fix_put_char(&w, 263, r.subscription_request_type)
    fix_put_int(&w, 264, r.market_depth)
    if r.md_update_type >= 0:
        fix_put_int(&w, 265, r.md_update_type)
    fix_put_int(&w, 267, r.n_entry_types)
    for k in range(r.n_entry_types):
        fix_put_char(&w, 269, r.entry_types[k])
    fix_put_int(&w, 146, r.n_symbols)
    for k in range(r.n_symbols):
        put_id(&w, 55, &r.symbols[k])
    return fix_finish(&w, t, start)


cdef Py_ssize_t fix_encode_md_snapshot(char* buf, Py_ssize_t cap, const FixTemplate* t, int64_t seq,
                                       int64_t sending_ns, const MarketDataSnapshot* s,
                                       Py_ssize_t* start) noexcept nogil:
    cdef FixWriter w
    cdef uint32_t k
    cdef const MdEntry* e
    cdef bint full = s.msg_type == b'W'
    if not (full or s.msg_type == b'X') or s.n_entries > MD_MAX_ENTRIES or (full and s.symbol.len == 0):
        return MISSING
    fix_start(&w, buf, cap, t, &s.msg_type, 1, seq, sending_ns)
    put_id(&w, 262, &s.md_req_id)
    if full:
        put_id(&w, 55, &s.symbol)
    fix_put_int(&w, 268, s.n_entries)
    for k in range(s.n_entries):
        e = &s.entries[k]
        if full:
            if e.entry_type == 0 or e.px_e8 < 0:
                return MISSING
            fix_put_char(&w, 269, e.entry_type)
        else:
            if e.update_action == 0:
                return MISSING
            fix_put_char(&w, 279, e.update_action)
            if e.entry_type:
                fix_put_char(&w, 269, e.entry_type)
            put_id(&w, 278, &e.entry_id)
            put_id(&w, 55, &e.symbol)
        if e.px_e8 >= 0:
            fix_put_decimal(&w, 270, e.px_e8, PRICE_SCALE)
        if e.size_e2 >= 0:
            fix_put_decimal(&w, 271, e.size_e2, QTY_SCALE)
        if e.position_no > 0:
            fix_put_int(&w, 290, e.position_no)
    return fix_finish(&w, t, start)


cdef int fix_decode_md_request(FixIndex* ix, MarketDataRequest* r) noexcept nogil:
    cdef uint32_t i
    cdef int rc = 0
    cdef int32_t tag
    cdef int64_t declared_types = -1, declared_symbols = -1
    if ix.fields[2].len != 1 or fix_value(ix, 2)[0] != b'V':
        return fix_fail(ix, REASON_INVALID_MSG_TYPE, 35, 2)
    memset(r, 0, sizeof(MarketDataRequest))
    r.market_depth = -1
    r.md_update_type = -1
    for i in range(3, ix.n - 1):
        tag = ix.fields[i].tag
        if tag == 262:
            rc = read_id(ix, i, &r.md_req_id)
        elif tag == 263:
            rc = read_char(ix, i, &r.subscription_request_type)
        elif tag == 264:
            rc = read_int(ix, i, &r.market_depth)
        elif tag == 265:
            rc = read_int(ix, i, &r.md_update_type)
        elif tag == 267:
            rc = read_int(ix, i, &declared_types)
        elif tag == 146:
            rc = read_int(ix, i, &declared_symbols)
        elif tag == 269:
            if r.n_entry_types >= MD_MAX_ENTRY_TYPES:
                return fix_fail(ix, REASON_VALUE_OUT_OF_RANGE, 267, i)
            rc = read_char(ix, i, &r.entry_types[r.n_entry_types])
            r.n_entry_types += 1
        elif tag == 55:
            if r.n_symbols >= MD_MAX_SYMBOLS:
                return fix_fail(ix, REASON_VALUE_OUT_OF_RANGE, 146, i)
            rc = read_id(ix, i, &r.symbols[r.n_symbols])
            r.n_symbols += 1
        if rc:
            return rc
    if r.md_req_id.len == 0:
        return fix_missing(ix, 262)
    if r.subscription_request_type == 0:
        return fix_missing(ix, 263)
    if r.market_depth < 0:
        return fix_missing(ix, 264)
    if declared_types < 0:
        return fix_missing(ix, 267)
    if declared_symbols < 0:
        return fix_missing(ix, 146)
    if declared_types != r.n_entry_types:
        return fix_fail(ix, REASON_INCORRECT_NUM_IN_GROUP, 267, ix.n)
    if declared_symbols != r.n_symbols:
        return fix_fail(ix, REASON_INCORRECT_NUM_IN_GROUP, 146, ix.n)
    return 0


cdef int fix_decode_md_snapshot(FixIndex* ix, MarketDataSnapshot* s) noexcept nogil:
    """W or X. Entries start at their delimiter (269 in W, 279 in X); fields before the first
    delimiter belong to the message."""
    cdef uint32_t i
    cdef int rc = 0
    cdef int32_t tag, delim
    cdef int64_t declared = -1
    cdef MdEntry* e = NULL
    cdef char mt = fix_value(ix, 2)[0]
    if ix.fields[2].len != 1 or not (mt == b'W' or mt == b'X'):
        return fix_fail(ix, REASON_INVALID_MSG_TYPE, 35, 2)
    memset(s, 0, sizeof(MarketDataSnapshot) - sizeof(s.entries))
    s.msg_type = mt
    delim = 269 if mt == b'W' else 279
    for i in range(3, ix.n - 1):
        tag = ix.fields[i].tag
        if tag == delim:
            if declared < 0:
                return fix_fail(ix, REASON_GROUP_FIELDS_OUT_OF_ORDER, tag, i)
            if s.n_entries >= MD_MAX_ENTRIES:
                return fix_fail(ix, REASON_VALUE_OUT_OF_RANGE, 268, i)
            e = &s.entries[s.n_entries]
            s.n_entries += 1
            memset(e, 0, sizeof(MdEntry))
            e.px_e8 = -1
            e.size_e2 = -1
            if mt == b'W':
                e.symbol = s.symbol
                rc = read_char(ix, i, &e.entry_type)
            else:
                rc = read_char(ix, i, &e.update_action)
        elif tag == 268:
            rc = read_int(ix, i, &declared)
        elif e == NULL:
            if tag == 262:
                rc = read_id(ix, i, &s.md_req_id)
            elif tag == 55:
                rc = read_id(ix, i, &s.symbol)
        elif tag == 269:
            rc = read_char(ix, i, &e.entry_type)
        elif tag == 270:
            rc = read_scaled(ix, i, PRICE_SCALE, &e.px_e8)
        elif tag == 271:
            rc = read_scaled(ix, i, QTY_SCALE, &e.size_e2)
        elif tag == 278:
            rc = read_id(ix, i, &e.entry_id)
        elif tag == 55:
            rc = read_id(ix, i, &e.symbol)
        elif tag == 290:
            rc = read_int(ix, i, &e.position_no)
            if rc == 0 and e.position_no < 1:
                return fix_fail(ix, REASON_VALUE_OUT_OF_RANGE, 290, i)
        if rc:
            return rc
    if declared < 0:
        return fix_missing(ix, 268)
    if declared != s.n_entries:
        return fix_fail(ix, REASON_INCORRECT_NUM_IN_GROUP, 268, ix.n)
    if mt == b'W' and s.symbol.len == 0:
        return fix_missing(ix, 55)
    return 0


cdef void fix_top_of_book(const MarketDataSnapshot* s, TopOfBook* top) noexcept nogil:
    """Best (highest) bid and best (lowest) offer among the entries that carry a price."""
    cdef uint32_t k
    cdef const MdEntry* e
    top.bid_px_e8 = -1
    top.ask_px_e8 = -1
    top.bid_size_e2 = 0
    top.ask_size_e2 = 0
    for k in range(s.n_entries):
        e = &s.entries[k]
        if e.px_e8 < 0 or e.update_action == b'2':
            continue
        if e.entry_type == b'0' and e.px_e8 > top.bid_px_e8:
            top.bid_px_e8 = e.px_e8
            top.bid_size_e2 = e.size_e2 if e.size_e2 > 0 else 0
        elif e.entry_type == b'1' and (top.ask_px_e8 < 0 or e.px_e8 < top.ask_px_e8):
            top.ask_px_e8 = e.px_e8
            top.ask_size_e2 = e.size_e2 if e.size_e2 > 0 else 0
