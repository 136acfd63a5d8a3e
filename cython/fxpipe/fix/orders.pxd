# Direct paths for the order-entry messages, C structs <-> FIX without Python objects:
#   OrderRequest       <-> NewOrderSingle (D), OrderCancelRequest (F),
#                          OrderCancelReplaceRequest (G), OrderStatusRequest (H)
#   ExecutionReport    <-> ExecutionReport (8)
#   OrderCancelReject  <-> OrderCancelReject (9)
# Prices are price_e8, quantities qty_e2 (fxpipe.model.numbers scales); times ns since epoch.
# An unset char is 0, an unset id has len 0, an unset number is -1 where 0 is meaningful.
from libc.stdint cimport int64_t

from fxpipe.fix.encoder cimport FixTemplate, FixWriter
from fxpipe.fix.fields cimport FixHeaderInfo, FixId
from fxpipe.fix.scan cimport FixIndex

ctypedef struct OrderRequest:
    FixId cl_ord_id           # 11
    FixId orig_cl_ord_id      # 41 (F, G)
    FixId order_id            # 37 (F, G, H; optional)
    FixId symbol              # 55
    FixId account             # 1 (optional)
    FixId currency            # 15 (optional; the currency of OrderQty)
    char side                 # 54
    char ord_type             # 40 (D, G)
    char time_in_force        # 59 (optional)
    char handl_inst           # 21 (D, G; '1' when unset)
    int64_t order_qty_e2      # 38
    int64_t price_e8          # 44 (limit types only)
    int64_t transact_time_ns  # 60 (D, F, G)
    int64_t expire_time_ns    # 126 (GTD; 0 when unset)

ctypedef struct ExecutionReport:
    FixId order_id            # 37
    FixId cl_ord_id           # 11
    FixId orig_cl_ord_id      # 41
    FixId exec_id             # 17
    FixId exec_ref_id         # 19 (bust / correct)
    FixId symbol              # 55
    FixId currency            # 15
    char exec_trans_type      # 20
    char exec_type            # 150
    char ord_status           # 39
    char side                 # 54
    char ord_type             # 40
    char time_in_force        # 59
    int64_t ord_rej_reason    # 103, -1 when absent
    int64_t order_qty_e2      # 38, -1 when absent
    int64_t price_e8          # 44, -1 when absent
    int64_t last_qty_e2       # 32 LastShares, 0 when absent
    int64_t last_px_e8        # 31, 0 when absent
    int64_t leaves_qty_e2     # 151
    int64_t cum_qty_e2        # 14
    int64_t avg_px_e8         # 6
    int64_t transact_time_ns  # 60, 0 when absent

ctypedef struct OrderCancelReject:
    FixId order_id            # 37
    FixId cl_ord_id           # 11
    FixId orig_cl_ord_id      # 41
    char ord_status           # 39
    char cxl_rej_response_to  # 434
    int64_t cxl_rej_reason    # 102, -1 when absent

# Encoders write one whole message into buf[0:cap]: the length, with the message at
# buf[start[0]:], or -1 when it does not fit. msg_type is b'D', b'F', b'G' or b'H'.
cdef Py_ssize_t fix_encode_order(char* buf, Py_ssize_t cap, const FixTemplate* t, char msg_type,
                                 int64_t seq, int64_t sending_ns, const OrderRequest* o,
                                 Py_ssize_t* start) noexcept nogil
cdef Py_ssize_t fix_encode_execution_report(char* buf, Py_ssize_t cap, const FixTemplate* t,
                                            int64_t seq, int64_t sending_ns, const ExecutionReport* e,
                                            Py_ssize_t* start) noexcept nogil
cdef Py_ssize_t fix_encode_order_cancel_reject(char* buf, Py_ssize_t cap, const FixTemplate* t,
                                               int64_t seq, int64_t sending_ns,
                                               const OrderCancelReject* r, Py_ssize_t* start) noexcept nogil

# Decoders read a message that passed fix_parse_index; 0 or a reason (err_tag set).
cdef int fix_decode_order(FixIndex* ix, OrderRequest* o) noexcept nogil
cdef int fix_decode_execution_report(FixIndex* ix, ExecutionReport* e) noexcept nogil
cdef int fix_decode_order_cancel_reject(FixIndex* ix, OrderCancelReject* r) noexcept nogil
