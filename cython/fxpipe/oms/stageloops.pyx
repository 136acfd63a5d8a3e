"""Benchmark support for bench/oms.py: the oms stage's whole order lifecycle at C level, every
step through the C APIs the stage's hot path uses and no Python object inside the loop:

    OrderIntent ──RiskEngine.check_intent──► book_new_order ──fix_encode_intent──► NewOrderSingle bytes
    ExecutionReport bytes ──fix_parse_index + fix_execution_report_events──► OrderUpdate + Fill
        ──book_apply_report──► position delta ──PositionEngine.apply_fill──► RiskEngine.on_fill / on_update

The ExecutionReport is a real one (a full fill of 1,000,000 EUR/USD); each lifecycle parses it
again, then writes the new order's ClOrdID and a fresh ExecID into the parsed events, as the
venue would have written them. Sides alternate so the position stays bounded. Not part of the
trading path."""
from libc.stdint cimport int64_t
from libc.string cimport memset

from fxpipe.fix.bridge cimport fix_encode_intent, fix_execution_report_events
from fxpipe.fix.dictionary cimport fix_parse_index
from fxpipe.fix.encoder cimport Encoder
from fxpipe.fix.scan cimport FixField, FixIndex
from fxpipe.includes.atomic cimport fx_monotonic_ns
from fxpipe.model.events cimport (
    EVT_ORDER_INTENT,
    Fill,
    INTENT_NEW,
    ORD_TYPE_LIMIT,
    OrderIntent,
    OrderUpdate,
    RiskEvent,
    SIDE_BUY,
    SIDE_SELL,
    TIF_DAY,
    event_init,
)
from fxpipe.oms.book cimport (
    DISP_APPLIED,
    IntentOutcome,
    OrderBook,
    ReportOutcome,
    VERDICT_SEND,
    book_free,
    book_init,
)
from fxpipe.oms.intents cimport book_new_order
from fxpipe.oms.reports cimport book_apply_report
from fxpipe.positions.book cimport PositionEngine
from fxpipe.risk.engine cimport RiskEngine

cdef enum:
    OUT_CAP = 4096
    FIELDS_CAP = 256


cdef inline void put_exec_id(Fill* f, int64_t n) noexcept nogil:
    cdef char digits[24]
    cdef int k = 0, j
    memset(f.exec_id, 0, sizeof(f.exec_id))
    f.exec_id[0] = 66     # 'B'
    while True:
        digits[k] = <char>(48 + n % 10)
        k += 1
        n //= 10
        if n == 0:
            break
    for j in range(k):
        f.exec_id[1 + j] = digits[k - 1 - j]


def c_stage_lifecycles(int64_t n, RiskEngine risk, PositionEngine pe, Encoder enc, bytes report,
                       bytes symbol, int64_t t0_ns):
    """n lifecycles; returns (mean ns per lifecycle, bytes of the last NewOrderSingle, net qty
    e2 moved by the last fill). Raises if any step does not do what a lifecycle must."""
    cdef OrderBook b
    cdef OrderIntent it
    cdef OrderUpdate u
    cdef Fill f
    cdef RiskEvent rev
    cdef IntentOutcome io
    cdef ReportOutcome ro
    cdef FixIndex ix
    cdef FixField fields[FIELDS_CAP]
    cdef char out[OUT_CAP]
    cdef bint has_fill = False
    cdef Py_ssize_t start = 0, nos_len = 0
    cdef const char* er = report
    cdef Py_ssize_t er_len = len(report)
    cdef const char* sym = symbol
    cdef Py_ssize_t sym_len = len(symbol)
    cdef int64_t i, t_start, t_end, now, failed = -1, step = 0, moved = 0
    if book_init(&b, 1, 0, <int>(n + 16)) != 0:
        raise MemoryError("order book")
    event_init(&it, EVT_ORDER_INTENT)
    it.hdr.venue_id = 1
    it.hdr.instrument_id = 1
    it.qty_e2 = 100000000
    it.price_e8 = 108500000
    it.strategy_id = 1
    it.action = INTENT_NEW
    it.ord_type = ORD_TYPE_LIMIT
    it.time_in_force = TIF_DAY
    try:
        with nogil:
            t_start = fx_monotonic_ns()
            for i in range(n):
                now = t0_ns + i * 1000
                it.hdr.ts_decide_ns = now
                it.side = SIDE_BUY if i % 2 == 0 else SIDE_SELL
                it.cl_ord_id = <int64_t>1000000000000 + i + 1
                if risk.check_intent(&it, &rev) != 0:
                    failed, step = i, 1
                    break
                book_new_order(&b, &it, now, &io)
                if io.verdict != VERDICT_SEND:
                    failed, step = i, 2
                    break
                nos_len = fix_encode_intent(out, OUT_CAP, &enc.t, i + 1, now, &io.send, sym, sym_len, &start)
                if nos_len <= 0:
                    failed, step = i, 3
                    break
                if fix_parse_index(&ix, fields, FIELDS_CAP, er, er_len, True) != 0 \
                        or fix_execution_report_events(&ix, &u, &f, &has_fill) != 0 or not has_fill:
                    failed, step = i, 4
                    break
                u.cl_ord_id = io.send.cl_ord_id
                f.cl_ord_id = io.send.cl_ord_id
                u.hdr.venue_id = 1
                f.hdr.venue_id = 1
                u.hdr.ts_receive_ns = now + 500
                f.hdr.ts_receive_ns = now + 500
                put_exec_id(&f, i + 1)
                book_apply_report(&b, &u, &f, &ro)
                if ro.disposition != DISP_APPLIED or ro.n_fills != 1:
                    failed, step = i, 5
                    break
                if pe.apply_fill(&ro.fills[0], i + 1) != 0:
                    failed, step = i, 6
                    break
                risk.on_fill(&ro.fills[0])
                risk.on_update(&ro.update)
                moved = ro.fills[0].last_qty_e2
            t_end = fx_monotonic_ns()
    finally:
        book_free(&b)
    if failed >= 0:
        raise RuntimeError(f"lifecycle {failed} failed at step {step} "
                           "(1 risk, 2 book, 3 encode, 4 parse, 5 report, 6 position)")
    return (t_end - t_start) / <double>n, out[start:start + nos_len], moved
