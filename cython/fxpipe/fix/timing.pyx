"""C-level timing loops for bench/fix.py: parse (scan, validate, decode) an ExecutionReport and
encode a NewOrderSingle n times with no Python in the loop, and callgrind client requests so
the benchmark can count instructions of exactly one section (no-ops when valgrind's header
was absent at build time, or outside valgrind)."""
from libc.stdint cimport int64_t
from libc.string cimport memset
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec

from fxpipe.fix.dictionary cimport fix_parse_index
from fxpipe.fix.encoder cimport Encoder
from fxpipe.fix.fields cimport id_set
from fxpipe.fix.orders cimport (
    ExecutionReport,
    OrderRequest,
    fix_decode_execution_report,
    fix_encode_order,
)
from fxpipe.fix.scan cimport FixField, FixIndex, fix_check_header, fix_scan
from fxpipe.fix.bridge cimport fix_encode_intent, fix_execution_report_events
from fxpipe.model.events cimport (
    EVT_ORDER_INTENT,
    INTENT_NEW,
    ORD_TYPE_LIMIT,
    SIDE_BUY,
    TIF_IOC,
    Event,
    event_init,
)

cdef extern from *:
    """
    #if defined(__has_include)
    #  if __has_include(<valgrind/callgrind.h>)
    #    include <valgrind/callgrind.h>
    #    define FXPIPE_CALLGRIND 1
    #  endif
    #endif
    #ifndef FXPIPE_CALLGRIND
    #  define FXPIPE_CALLGRIND 0
    #  define CALLGRIND_ZERO_STATS
    #  define CALLGRIND_DUMP_STATS_AT(s)
    #endif
    static void fxpipe_cg_zero(void) { CALLGRIND_ZERO_STATS; }
    static void fxpipe_cg_dump(const char* s) { CALLGRIND_DUMP_STATS_AT(s); (void)s; }
    """
    int FXPIPE_CALLGRIND
    void fxpipe_cg_zero()
    void fxpipe_cg_dump(const char* s)

cdef enum:
    CAP = 256

HAVE_CALLGRIND = bool(FXPIPE_CALLGRIND)


def callgrind_zero():
    """Zero callgrind's counters (start of a measured section)."""
    fxpipe_cg_zero()


def callgrind_dump(str name):
    """Dump callgrind's counters for the section just measured, labelled name."""
    b = name.encode()
    fxpipe_cg_dump(b)


cdef inline int64_t now_ns() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec * 1000000000 + ts.tv_nsec


def parse_loop(bytes raw, Py_ssize_t n, int mode):
    """ns for n parses of raw at C level. mode 0: scan + standard header only; 1: + FIX 4.2
    validation; 2: + decode into an ExecutionReport struct; 3: + OrderUpdate and Fill events
    (what the OMS path does)."""
    cdef FixField fields[CAP]
    cdef FixIndex ix
    cdef ExecutionReport e
    cdef Event upd, fill
    cdef bint has_fill
    cdef const char* p = raw
    cdef Py_ssize_t size = len(raw), i
    cdef int rc = 0
    cdef int64_t t0
    with nogil:
        t0 = now_ns()
        for i in range(n):
            if mode == 0:
                ix.fields = fields
                ix.cap = CAP
                rc = fix_scan(&ix, p, size)
                if rc == 0:
                    rc = fix_check_header(&ix, b"FIX.4.2", 7)
            else:
                rc = fix_parse_index(&ix, fields, CAP, p, size, mode >= 1)
                if rc == 0 and mode == 2:
                    rc = fix_decode_execution_report(&ix, &e)
                elif rc == 0 and mode == 3:
                    rc = fix_execution_report_events(&ix, &upd.update, &fill.fill, &has_fill)
            if rc:
                break
        t0 = now_ns() - t0
    if rc:
        raise ValueError(f"parse_loop: message failed with code {rc}")
    return t0


def encode_loop(Encoder enc, Py_ssize_t n, int64_t sending_ns):
    """ns for n encodes of an FX NewOrderSingle (EUR/USD 5,000,000 @ 1.08345 IOC) from a
    struct into a buffer, MsgSeqNum counting up; returns (ns, last message)."""
    cdef OrderRequest o
    cdef char buf[1024]
    cdef Py_ssize_t i, start = 0, length = 0
    cdef int64_t t0
    memset(&o, 0, sizeof(o))
    id_set(&o.cl_ord_id, b"ord-20231114-000042", 19)
    id_set(&o.symbol, b"EUR/USD", 7)
    id_set(&o.currency, b"EUR", 3)
    o.side = b'1'
    o.ord_type = b'2'
    o.time_in_force = b'3'
    o.handl_inst = b'1'
    o.order_qty_e2 = 500000000
    o.price_e8 = 108345000
    o.transact_time_ns = sending_ns
    with nogil:
        t0 = now_ns()
        for i in range(n):
            length = fix_encode_order(buf, 1024, &enc.t, b'D', i + 1, sending_ns, &o, &start)
        t0 = now_ns() - t0
    return t0, buf[start:start + length]


def intent_loop(Encoder enc, Py_ssize_t n, int64_t sending_ns):
    """ns for n NewOrderSingles encoded straight from an OrderIntent event."""
    cdef Event ev
    cdef char buf[1024]
    cdef Py_ssize_t i, start = 0, length = 0
    cdef int64_t t0
    event_init(&ev, EVT_ORDER_INTENT)
    ev.intent.cl_ord_id = 1700000000000042
    ev.intent.price_e8 = 108345000
    ev.intent.qty_e2 = 500000000
    ev.intent.action = INTENT_NEW
    ev.intent.side = SIDE_BUY
    ev.intent.ord_type = ORD_TYPE_LIMIT
    ev.intent.time_in_force = TIF_IOC
    with nogil:
        t0 = now_ns()
        for i in range(n):
            length = fix_encode_intent(buf, 1024, &enc.t, i + 1, sending_ns, &ev.intent,
                                       b"EUR/USD", 7, &start)
        t0 = now_ns() - t0
    return t0, buf[start:start + length]
