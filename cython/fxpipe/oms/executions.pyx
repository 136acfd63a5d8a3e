"""Executions into the book (see executions.pxd): fills, busts and corrections, idempotent by
(venue, ExecID), each with the position deltas it makes.

A bust undoes the fill it names with a negative delta at that fill's own price; a correction
undoes the old fill and applies the new one (two deltas). A bust or correction that arrives
before the fill it names leaves a record of that fill, so its late arrival counts for nothing;
a correction that a later bust or correction already superseded still undoes what it names."""
from libc.stdint cimport INT64_MAX, int32_t, int64_t, uint8_t, uint16_t
from libc.string cimport memcmp, memcpy, memset

from fxpipe.includes.int128 cimport fx_int128
from fxpipe.model.events cimport (
    EXEC_TRANS_CANCEL,
    EXEC_TRANS_CORRECT,
    EXEC_TRANS_NEW,
    FIX_ID_LEN,
    Fill,
    ORD_STATUS_PENDING_NEW,
    ORD_STATUS_REJECTED,
)
from fxpipe.oms.book cimport (
    ALARM_DUPLICATE_MISMATCH,
    ALARM_EXEC_REF_CONFLICT,
    ALARM_INVALID_REPORT,
    ALARM_STATE_CONFLICT,
    EXEC_BUST,
    EXEC_BUSTED,
    EXEC_CORRECTED,
    EXEC_STANDING,
    ExecRecord,
    OmsOrder,
    OrderBook,
    ReportOutcome,
    book_add_exec,
    book_find_exec,
    set_base_status,
)


cdef void put_delta(ReportOutcome* out, const OmsOrder* o, const Fill* f, int64_t qty,
                    int64_t px, bint undo) noexcept nogil:
    """A position delta: the venue's Fill with the order's identity and a signed quantity."""
    cdef Fill* d = &out.fills[out.n_fills]
    out.n_fills += 1
    memcpy(d, f, sizeof(Fill))
    d.hdr.venue_id = o.venue_id
    d.hdr.instrument_id = o.instrument_id
    if d.cl_ord_id == 0:
        d.cl_ord_id = o.cl_ord_id
    d.last_qty_e2 = qty
    d.last_px_e8 = px
    d.strategy_id = o.strategy_id
    d.side = o.side
    if undo and f.exec_trans_type == EXEC_TRANS_CORRECT:
        d.commission_e4 = 0     # the old fill's commission is not on the correction


cdef inline void add_fill(OmsOrder* o, int64_t qty, int64_t px) noexcept nogil:
    o.cum_qty_e2 += qty
    o.notional_e10 += <fx_int128>qty * <fx_int128>px


cdef int32_t new_exec(OrderBook* b, uint16_t venue, const char* exec_id, int32_t idx,
                      int64_t qty, int64_t px, uint8_t trans, uint8_t state, uint8_t seen,
                      const char* ref) noexcept nogil:
    cdef int32_t e = book_add_exec(b, venue, exec_id)
    cdef ExecRecord* r
    if e < 0:
        return -1
    r = &b.execs[e]
    r.qty_e2 = qty
    r.px_e8 = px
    r.order_index = idx
    r.trans = trans
    r.state = state
    r.seen = seen
    if ref != NULL:
        memcpy(r.ref, ref, FIX_ID_LEN)
    else:
        memset(r.ref, 0, FIX_ID_LEN)
    return e


cdef int undo_referenced(OrderBook* b, int32_t idx, const Fill* f, ReportOutcome* out) noexcept nogil:
    """The fill a correction names becomes CORRECTED (a negative delta if it stood); one not
    seen yet is remembered so its late arrival counts for nothing."""
    cdef uint16_t venue = b.orders[idx].venue_id
    cdef int32_t re = book_find_exec(b, venue, f.exec_ref_id)
    cdef ExecRecord* r
    if re < 0:
        if new_exec(b, venue, f.exec_ref_id, idx, 0, 0, EXEC_TRANS_NEW, EXEC_CORRECTED, 0,
                    NULL) < 0:
            return FILL_NO_MEMORY
        return FILL_APPLIED
    r = &b.execs[re]
    if r.state != EXEC_STANDING or r.order_index != idx:
        raise_alarm(out, ALARM_EXEC_REF_CONFLICT, f.last_qty_e2, r.qty_e2)
        return FILL_REFUSED
    r.state = EXEC_CORRECTED
    add_fill(&b.orders[idx], -r.qty_e2, r.px_e8)
    put_delta(out, &b.orders[idx], f, -r.qty_e2, r.px_e8, True)
    return FILL_APPLIED


cdef int apply_fill(OrderBook* b, int32_t idx, const Fill* f, ReportOutcome* out) noexcept nogil:
    cdef OmsOrder* o = &b.orders[idx]
    cdef uint16_t venue = o.venue_id
    cdef uint8_t trans = f.exec_trans_type
    cdef int32_t e = book_find_exec(b, venue, f.exec_id)
    cdef int32_t re
    cdef int rc
    cdef ExecRecord* r
    if e >= 0:
        r = &b.execs[e]
        if r.seen:
            if (r.trans == trans and r.qty_e2 == f.last_qty_e2 and r.px_e8 == f.last_px_e8
                    and memcmp(r.ref, f.exec_ref_id, FIX_ID_LEN) == 0 and r.order_index == idx):
                return FILL_DUPLICATE
            raise_alarm(out, ALARM_DUPLICATE_MISMATCH, f.last_qty_e2, r.qty_e2)
            return FILL_REFUSED
        if (trans != EXEC_TRANS_NEW and trans != EXEC_TRANS_CORRECT) or r.order_index != idx:
            raise_alarm(out, ALARM_EXEC_REF_CONFLICT, f.last_qty_e2, r.qty_e2)
            return FILL_REFUSED
        # the late original of a fill a bust or correction already named: it counts no more
        r.seen = 1
        r.qty_e2 = f.last_qty_e2
        r.px_e8 = f.last_px_e8
        r.trans = trans
        if trans == EXEC_TRANS_NEW:
            return FILL_STALE
        # a correction that a later bust or correction already superseded: its own fill counts
        # no more, but the fill it corrects must still be undone
        memcpy(r.ref, f.exec_ref_id, FIX_ID_LEN)
        return undo_referenced(b, idx, f, out)
    if f.last_qty_e2 > INT64_MAX - o.cum_qty_e2:
        # no real order gets near; a quantity that would wrap CumQty is a broken report
        raise_alarm(out, ALARM_INVALID_REPORT, f.last_qty_e2, o.cum_qty_e2)
        return FILL_REFUSED
    if trans == EXEC_TRANS_NEW:
        if new_exec(b, venue, f.exec_id, idx, f.last_qty_e2, f.last_px_e8, trans,
                    EXEC_STANDING, 1, NULL) < 0:
            return FILL_NO_MEMORY
        o = &b.orders[idx]
        if o.base_status == ORD_STATUS_REJECTED:
            # the venue traded an order it had rejected: believe the trade
            raise_alarm(out, ALARM_STATE_CONFLICT, f.last_qty_e2, 0)
            set_base_status(b, o, ORD_STATUS_PENDING_NEW)
        add_fill(o, f.last_qty_e2, f.last_px_e8)
        put_delta(out, o, f, f.last_qty_e2, f.last_px_e8, False)
        return FILL_APPLIED
    re = book_find_exec(b, venue, f.exec_ref_id)
    if re >= 0 and (b.execs[re].state != EXEC_STANDING or b.execs[re].order_index != idx):
        raise_alarm(out, ALARM_EXEC_REF_CONFLICT, f.last_qty_e2, b.execs[re].qty_e2)
        return FILL_REFUSED
    if trans == EXEC_TRANS_CANCEL:
        if new_exec(b, venue, f.exec_id, idx, f.last_qty_e2, f.last_px_e8, trans, EXEC_BUST, 1,
                    f.exec_ref_id) < 0:
            return FILL_NO_MEMORY
        if re < 0:
            # bust before the fill it undoes: remember it, so the fill counts for nothing
            if new_exec(b, venue, f.exec_ref_id, idx, f.last_qty_e2, f.last_px_e8,
                        EXEC_TRANS_NEW, EXEC_BUSTED, 0, NULL) < 0:
                return FILL_NO_MEMORY
            return FILL_APPLIED
        r = &b.execs[re]
        r.state = EXEC_BUSTED
        o = &b.orders[idx]
        add_fill(o, -r.qty_e2, r.px_e8)
        put_delta(out, o, f, -r.qty_e2, r.px_e8, True)
        return FILL_APPLIED
    # correction: the new fill replaces the one it names
    if new_exec(b, venue, f.exec_id, idx, f.last_qty_e2, f.last_px_e8, trans, EXEC_STANDING, 1,
                f.exec_ref_id) < 0:
        return FILL_NO_MEMORY
    rc = undo_referenced(b, idx, f, out)
    if rc != FILL_APPLIED:
        return rc
    o = &b.orders[idx]
    add_fill(o, f.last_qty_e2, f.last_px_e8)
    put_delta(out, o, f, f.last_qty_e2, f.last_px_e8, False)
    return FILL_APPLIED
