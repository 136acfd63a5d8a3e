"""Benchmark support for bench/oms.py: order lifecycles driven through the order book's C API
exactly as the oms stage's Cython code will drive it, with no Python object touched inside the
loop. Not part of the trading path.

One lifecycle: NewOrderSingle intent -> IntentOutcome (ClOrdID, checks, the request to send);
the venue's ack -> ReportOutcome; the venue's full fill (OrderUpdate + Fill) -> ReportOutcome
with the position delta. Each lifecycle is a fresh order (the book grows as a day's would)."""
from libc.stdint cimport int64_t
from libc.string cimport memset

from fxpipe.includes.atomic cimport fx_monotonic_ns
from fxpipe.model.events cimport (
    EVT_FILL,
    EVT_ORDER_INTENT,
    EVT_ORDER_UPDATE,
    EXEC_TRANS_NEW,
    EXEC_TYPE_FILL,
    EXEC_TYPE_NEW,
    Fill,
    INTENT_NEW,
    ORD_STATUS_FILLED,
    ORD_STATUS_NEW,
    ORD_TYPE_LIMIT,
    OrderIntent,
    OrderUpdate,
    REPORT_EXECUTION,
    SIDE_BUY,
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

cdef enum:
    QTY = 100000000     # 1,000,000.00
    PX = 108500000      # 1.08500


cdef void templates(OrderIntent* it, OrderUpdate* ack, OrderUpdate* done, Fill* f) noexcept nogil:
    event_init(it, EVT_ORDER_INTENT)
    it.hdr.venue_id = 1
    it.hdr.instrument_id = 1
    it.qty_e2 = QTY
    it.price_e8 = PX
    it.strategy_id = 1
    it.action = INTENT_NEW
    it.side = SIDE_BUY
    it.ord_type = ORD_TYPE_LIMIT
    it.time_in_force = TIF_DAY
    event_init(ack, EVT_ORDER_UPDATE)
    ack.order_qty_e2 = QTY
    ack.price_e8 = PX
    ack.leaves_qty_e2 = QTY
    ack.ord_status = ORD_STATUS_NEW
    ack.exec_type = EXEC_TYPE_NEW
    ack.exec_trans_type = EXEC_TRANS_NEW
    ack.report_kind = REPORT_EXECUTION
    ack.side = SIDE_BUY
    ack.order_id[0] = b'V'
    done[0] = ack[0]
    done.cum_qty_e2 = QTY
    done.leaves_qty_e2 = 0
    done.avg_px_e8 = PX
    done.ord_status = ORD_STATUS_FILLED
    done.exec_type = EXEC_TYPE_FILL
    event_init(f, EVT_FILL)
    f.last_qty_e2 = QTY
    f.last_px_e8 = PX
    f.side = SIDE_BUY
    f.exec_trans_type = EXEC_TRANS_NEW


cdef inline void exec_id(Fill* f, int64_t n) noexcept nogil:
    """A distinct ExecID per fill, "X<n>" in decimal, NUL-padded."""
    cdef char digits[24]
    cdef int k = 0, j
    memset(f.exec_id, 0, 40)
    f.exec_id[0] = b'X'
    while True:
        digits[k] = <char>(48 + n % 10)
        k += 1
        n //= 10
        if n == 0:
            break
    for j in range(k):
        f.exec_id[1 + j] = digits[k - 1 - j]


cdef int lifecycle(OrderBook* b, OrderIntent* it, OrderUpdate* ack, OrderUpdate* done, Fill* f,
                   int64_t i, IntentOutcome* io, ReportOutcome* ro, int64_t* t) noexcept nogil:
    """One lifecycle; t (when not NULL) gets the four instants around the three steps."""
    if t != NULL:
        t[0] = fx_monotonic_ns()
    it.hdr.ts_decide_ns = 1000 + i
    book_new_order(b, it, 1000 + i, io)
    if io.verdict != VERDICT_SEND:
        return -1
    if t != NULL:
        t[1] = fx_monotonic_ns()
    ack.cl_ord_id = io.send.cl_ord_id
    ack.hdr.ts_receive_ns = 2000 + i
    book_apply_report(b, ack, NULL, ro)
    if ro.disposition != DISP_APPLIED:
        return -1
    if t != NULL:
        t[2] = fx_monotonic_ns()
    done.cl_ord_id = io.send.cl_ord_id
    done.hdr.ts_receive_ns = 3000 + i
    f.cl_ord_id = io.send.cl_ord_id
    exec_id(f, i)
    book_apply_report(b, done, f, ro)
    if ro.n_fills != 1:
        return -1
    if t != NULL:
        t[3] = fx_monotonic_ns()
    return 0


def c_lifecycles(int64_t n, int64_t[:] intent_ns, int64_t[:] ack_ns, int64_t[:] fill_ns):
    """n timed lifecycles (each step timed alone into the arrays), then n more untimed on a
    fresh book: returns the untimed mean ns per lifecycle (no clock reads inside)."""
    cdef OrderBook b
    cdef OrderIntent it
    cdef OrderUpdate ack, done
    cdef Fill f
    cdef IntentOutcome io
    cdef ReportOutcome ro
    cdef int64_t t[4]
    cdef int64_t i, t0, t1
    cdef int rc = 0
    if intent_ns.shape[0] < n or ack_ns.shape[0] < n or fill_ns.shape[0] < n:
        raise ValueError("the sample arrays hold fewer than n values")
    templates(&it, &ack, &done, &f)
    if book_init(&b, 1, 0, <int>n + 16) != 0:
        raise MemoryError("order book")
    with nogil:
        for i in range(n):
            rc = lifecycle(&b, &it, &ack, &done, &f, i, &io, &ro, t)
            if rc:
                break
            intent_ns[i] = t[1] - t[0]
            ack_ns[i] = t[2] - t[1]
            fill_ns[i] = t[3] - t[2]
    book_free(&b)
    if rc:
        raise RuntimeError("a lifecycle did not go as scripted")
    if book_init(&b, 1, 0, <int>n + 16) != 0:
        raise MemoryError("order book")
    with nogil:
        t0 = fx_monotonic_ns()
        for i in range(n):
            rc = lifecycle(&b, &it, &ack, &done, &f, i, &io, &ro, NULL)
            if rc:
                break
        t1 = fx_monotonic_ns()
    book_free(&b)
    if rc:
        raise RuntimeError("a lifecycle did not go as scripted")
    return (t1 - t0) / n


def scripted_events(int64_t i, int64_t cl_ord_id):
    """The intent, ack, fill update and Fill of lifecycle i as event bytes (for the Python API
    run, which must apply exactly what the C run applies)."""
    cdef OrderIntent it
    cdef OrderUpdate ack, done
    cdef Fill f
    templates(&it, &ack, &done, &f)
    it.hdr.ts_decide_ns = 1000 + i
    ack.cl_ord_id = cl_ord_id
    ack.hdr.ts_receive_ns = 2000 + i
    done.cl_ord_id = cl_ord_id
    done.hdr.ts_receive_ns = 3000 + i
    f.cl_ord_id = cl_ord_id
    exec_id(&f, i)
    return ((<char*>&it)[:sizeof(OrderIntent)], (<char*>&ack)[:sizeof(OrderUpdate)],
            (<char*>&done)[:sizeof(OrderUpdate)], (<char*>&f)[:sizeof(Fill)])
