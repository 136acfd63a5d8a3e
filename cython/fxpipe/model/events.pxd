# Events: the one definition of every event layout (source of truth; fxpipe.model.events builds
# the numpy dtypes from these structs and tests check them field by field).
#
# Every event is exactly EVENT_SIZE = 192 bytes (three cache lines), one ring slot: a 64-byte
# common header, then a type-specific body padded with explicit _pad arrays, so no compiler
# padding exists anywhere and a zeroed event has zeroed pads (bit-for-bit replay relies on it).
# Little-endian, natural alignment. Scaled integers say their scale in the name: _e8 price,
# _e2 quantity, _e4 money (see numbers.pxd). FIX string identifiers (OrderID, ExecID) are
# fixed char[FIX_ID_LEN] fields, ASCII, NUL-padded, never truncated (longer ones are refused).
#
#   byte 0          8                16               24 ...                         64
#        +----+-----+-----+-----+---------+-----------+----------------------------+
#        |type|flags|venue|instr|sequence |ts_venue_ns| ts_receive/decode/decide/   |
#        | u16| u16 | u16 | u16 |   i64   |    i64    | risk/send_ns (5 x i64)      |
#        +----+-----+-----+-----+---------+-----------+----------------------------+
#   byte 64                                                                       192
#        +-----------------------------------------------------------------------+
#        | body: per event type (Quote, OrderIntent, ...) then _pad to 192       |
#        +-----------------------------------------------------------------------+
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t
from libc.string cimport memcpy, memset

cdef enum:
    EVENT_SIZE = 192
    EVENT_HEADER_SIZE = 64
    EVENT_BODY_SIZE = 128
    FIX_ID_LEN = 40      # venue OrderID / ExecID / ExecRefID; UUIDs (36) fit
    CCY_LEN = 3          # ISO 4217 code, e.g. b"USD"
    OPERATOR_LEN = 16    # who issued a Control command

cdef enum:  # EventType
    EVT_NONE = 0                # a zeroed slot: never a valid event
    EVT_QUOTE = 1
    EVT_ORDER_INTENT = 2
    EVT_ORDER_UPDATE = 3
    EVT_FILL = 4
    EVT_POSITION_UPDATE = 5
    EVT_RISK = 6
    EVT_SESSION = 7
    EVT_CONTROL = 8
    EVT_TIMER = 9
    EVT_LATENCY_SAMPLE = 10
    EVT_PNL = 11
    EVT_LAST = 11

cdef enum:  # EventFlag: header.flags bits; the others are reserved and must be 0
    FLAG_POSS_DUP = 1           # from a message the venue marked PossDupFlag/PossResend
    FLAG_SNAPSHOT = 2           # part of a snapshot (35=W, a status answer), not a change
    FLAG_SYNTHETIC = 4          # made by fxpipe (timeout, internal reject), not by a venue
    FLAG_ALL = 7

# FIX-vocabulary enums take the FIX character as their value, so the codec maps a byte to a
# field without a table and a hex dump of an event reads like the FIX message.
cdef enum:  # Side
    SIDE_BUY = 49  # '1'
    SIDE_SELL = 50  # '2'

cdef enum:  # OrdType
    ORD_TYPE_MARKET = 49  # '1'
    ORD_TYPE_LIMIT = 50  # '2'

cdef enum:  # TimeInForce
    TIF_DAY = 48  # '0'
    TIF_GTC = 49  # '1'
    TIF_IOC = 51  # '3'
    TIF_FOK = 52  # '4'

cdef enum:  # IntentAction: the FIX MsgType the intent becomes
    INTENT_NEW = 68  # 'D'
    INTENT_CANCEL = 70  # 'F'
    INTENT_REPLACE = 71  # 'G'

cdef enum:  # OrdStatus: FIX 4.2 tag 39
    ORD_STATUS_NEW = 48  # '0'
    ORD_STATUS_PARTIALLY_FILLED = 49  # '1'
    ORD_STATUS_FILLED = 50  # '2'
    ORD_STATUS_DONE_FOR_DAY = 51  # '3'
    ORD_STATUS_CANCELED = 52  # '4'
    ORD_STATUS_REPLACED = 53  # '5'
    ORD_STATUS_PENDING_CANCEL = 54  # '6'
    ORD_STATUS_STOPPED = 55  # '7'
    ORD_STATUS_REJECTED = 56  # '8'
    ORD_STATUS_SUSPENDED = 57  # '9'
    ORD_STATUS_PENDING_NEW = 65  # 'A'
    ORD_STATUS_CALCULATED = 66  # 'B'
    ORD_STATUS_EXPIRED = 67  # 'C'
    ORD_STATUS_ACCEPTED_FOR_BIDDING = 68  # 'D'
    ORD_STATUS_PENDING_REPLACE = 69  # 'E'
    ORD_STATUS_UNKNOWN = 85  # 'U', fxpipe only, never on the wire: in flight when a session
                                # dropped; only venue evidence resolves it

cdef enum:  # ExecType: FIX 4.2 tag 150
    EXEC_TYPE_NEW = 48  # '0'
    EXEC_TYPE_PARTIAL_FILL = 49  # '1'
    EXEC_TYPE_FILL = 50  # '2'
    EXEC_TYPE_DONE_FOR_DAY = 51  # '3'
    EXEC_TYPE_CANCELED = 52  # '4'
    EXEC_TYPE_REPLACE = 53  # '5'
    EXEC_TYPE_PENDING_CANCEL = 54  # '6'
    EXEC_TYPE_STOPPED = 55  # '7'
    EXEC_TYPE_REJECTED = 56  # '8'
    EXEC_TYPE_SUSPENDED = 57  # '9'
    EXEC_TYPE_PENDING_NEW = 65  # 'A'
    EXEC_TYPE_CALCULATED = 66  # 'B'
    EXEC_TYPE_EXPIRED = 67  # 'C'
    EXEC_TYPE_RESTATED = 68  # 'D'
    EXEC_TYPE_PENDING_REPLACE = 69  # 'E'

cdef enum:  # ExecTransType: FIX 4.2 tag 20
    EXEC_TRANS_NEW = 48  # '0'
    EXEC_TRANS_CANCEL = 49  # '1', trade bust: exec_ref_id names the fill undone
    EXEC_TRANS_CORRECT = 50  # '2', correction: exec_ref_id names the fill replaced
    EXEC_TRANS_STATUS = 51  # '3'

cdef enum:  # ReportKind: which FIX message an OrderUpdate came from
    REPORT_EXECUTION = 56  # '8'
    REPORT_CANCEL_REJECT = 57  # '9'

cdef enum:  # CxlRejResponseTo: FIX tag 434; 0 when report_kind is not a cancel reject
    CXL_REJ_TO_CANCEL = 49  # '1'
    CXL_REJ_TO_REPLACE = 50  # '2'

cdef enum:  # Liquidity: 0 when the venue does not say
    LIQ_ADDED = 1
    LIQ_REMOVED = 2

cdef enum:  # QuoteCondition
    QUOTE_FIRM = 1
    QUOTE_INDICATIVE = 2

cdef enum:  # PositionReason
    POS_FILL = 1
    POS_BUST = 2
    POS_CORRECTION = 3
    POS_MARK = 4
    POS_SNAPSHOT = 5

cdef enum:  # RiskCheck
    RISK_MAX_ORDER_QTY = 1
    RISK_MAX_ORDER_NOTIONAL = 2
    RISK_POSITION_LIMIT = 3
    RISK_GROSS_EXPOSURE = 4
    RISK_PRICE_COLLAR = 5
    RISK_ORDER_RATE = 6
    RISK_MAX_OPEN_ORDERS = 7
    RISK_KILL_SWITCH = 8
    RISK_STALE_QUOTE = 9
    RISK_OVERFILL = 10
    RISK_CURRENCY_LIMIT = 11
    RISK_LOSS_LIMIT = 12
    RISK_REJECT_STORM = 13
    RISK_NO_MARK = 14            # a limit in the reporting currency needs a rate that is missing
    RISK_BAD_INTENT = 15         # the intent itself is malformed (side, quantity, instrument)
    RISK_LIMIT_CHANGED = 16      # a Control changed a limit (an audit record, not a reject)
    RISK_FILL_REFUSED = 17       # positions refused a fill (observed: the FillResult code)

cdef enum:  # RiskAction
    RISK_REJECT_ORDER = 1
    RISK_ALARM = 2
    RISK_KILL_SWITCH_ON = 3
    RISK_KILL_SWITCH_OFF = 4
    RISK_STRATEGY_STOPPED = 5
    RISK_LIMIT_SET = 6          # a Control changed a limit: observed = old value, limit = new
    RISK_CHANGE_REFUSED = 7     # a Control asked for a change that is not valid; nothing changed
    RISK_STRATEGY_RESUMED = 8

cdef enum:  # SessionKind
    SESSION_MARKET_DATA = 1
    SESSION_ORDERS = 2
    SESSION_DROP_COPY = 3

cdef enum:  # SessionState
    SESSION_DISCONNECTED = 1
    SESSION_CONNECTING = 2
    SESSION_LOGON_SENT = 3
    SESSION_ACTIVE = 4
    SESSION_RESENDING = 5
    SESSION_LOGOUT_SENT = 6

cdef enum:  # SessionReason
    SESSION_REASON_CONNECTED = 1
    SESSION_REASON_LOGON = 2
    SESSION_REASON_LOGOUT = 3
    SESSION_REASON_DISCONNECTED = 4
    SESSION_REASON_HEARTBEAT_TIMEOUT = 5
    SESSION_REASON_SEQUENCE_GAP = 6
    SESSION_REASON_RESEND_COMPLETE = 7
    SESSION_REASON_SEQUENCE_TOO_LOW = 8
    SESSION_REASON_REJECT_RECEIVED = 9
    SESSION_REASON_REJECT_SENT = 10
    SESSION_REASON_LOGON_REJECTED = 11
    SESSION_REASON_SCHEDULE = 12

cdef enum:  # ControlCommand
    CMD_KILL_SWITCH_ON = 1
    CMD_KILL_SWITCH_OFF = 2
    CMD_CANCEL_ALL = 3
    CMD_PAUSE = 4
    CMD_RESUME = 5
    CMD_SHUTDOWN = 6
    CMD_STATE_HASH = 7          # every stage emits its state hash (replay compares them)
    CMD_SET_LIMIT = 8           # limit_id := arg (at the limit's scale; arg < 0 removes it)

cdef enum:  # RiskLimit: which limit a CMD_SET_LIMIT changes (scope: strategy_id, 0 = global;
            # hdr.instrument_id for per-instrument, limit_ccy for per-currency, hdr.venue_id
            # for per-venue limits)
    LIMIT_MAX_ORDER_QTY = 1         # qty_e2
    LIMIT_MAX_ORDER_NOTIONAL = 2    # money_e4, reporting currency
    LIMIT_MAX_POSITION = 3          # qty_e2 of base, per instrument (0 = any instrument)
    LIMIT_MAX_CCY_EXPOSURE = 4      # money_e4 in limit_ccy
    LIMIT_MAX_GROSS_EXPOSURE = 5    # money_e4, reporting currency
    LIMIT_PRICE_COLLAR_BPS = 6      # count (basis points of the mid)
    LIMIT_PRICE_COLLAR_PIPS = 7     # count (pips of the instrument)
    LIMIT_STALE_QUOTE_MS = 8        # count (milliseconds of event time)
    LIMIT_ORDER_RATE = 9            # count (orders per second, per strategy)
    LIMIT_ORDER_BURST = 10          # count (token-bucket depth, per strategy)
    LIMIT_VENUE_ORDER_RATE = 11     # count (orders per second, per venue)
    LIMIT_VENUE_ORDER_BURST = 12    # count
    LIMIT_MAX_OPEN_ORDERS = 13      # count
    LIMIT_MAX_LOSS = 14             # money_e4, reporting currency (realized + unrealized)
    LIMIT_REJECT_STORM_COUNT = 15   # count of venue rejects ...
    LIMIT_REJECT_STORM_WINDOW_MS = 16  # ... within this many ms of event time
    LIMIT_KILL_ON_OVERFILL = 17     # 0 or 1
    LIMIT_LAST = 17

cdef enum:  # PnlKind
    PNL_CURRENCY = 1            # the amounts that arise in one currency, and their conversion
    PNL_TOTAL = 2               # the sum over currencies, in the reporting currency

cdef enum:  # MarkStatus: can an amount be valued in the reporting currency?
    MARK_OK = 0
    MARK_MISSING = 1            # a rate on the conversion path has no mark yet
    MARK_NO_PATH = 2            # no instrument links the currency to the reporting currency

cdef enum:  # ConvOp: one leg of a conversion path
    CONV_NONE = 0
    CONV_MUL = 1                # amount * mid (the leg's pair is FROM/TO)
    CONV_DIV = 2                # amount / mid (the leg's pair is TO/FROM)

cdef enum:  # TimerKind
    TIMER_STRATEGY = 1
    TIMER_ORDER_TIMEOUT = 2     # an in-flight request got no answer in time (ref_id: cl_ord_id)
    TIMER_HEARTBEAT = 3
    TIMER_SCHEDULE = 4          # session schedule edge (FX week open/close)

cdef enum:  # LatencyHop
    HOP_VENUE_TO_RECEIVE = 1
    HOP_RECEIVE_TO_DECODE = 2
    HOP_DECODE_TO_DECIDE = 3
    HOP_DECIDE_TO_RISK = 4
    HOP_RISK_TO_SEND = 5
    HOP_TICK_TO_TRADE = 6       # receive of the quote -> send of the order it caused
    HOP_SEND_TO_ACK = 7
    HOP_SEND_TO_FILL = 8


cdef struct EventHeader:        # 64 bytes, first in every event
    uint16_t type               # EventType
    uint16_t flags              # EventFlag bits
    uint16_t venue_id           # refdata venue id; 0 = none
    uint16_t instrument_id      # refdata instrument id; 0 = none
    int64_t sequence            # position in the stream that carries it (ring/journal)
    int64_t ts_venue_ns         # venue's own stamp (SendingTime/TransactTime), 0 if none
    int64_t ts_receive_ns       # per hop, ns since the epoch (CLOCK_REALTIME); 0 = not passed
    int64_t ts_decode_ns
    int64_t ts_decide_ns
    int64_t ts_risk_ns
    int64_t ts_send_ns

cdef struct Quote:              # one price level of one venue; a side with qty 0 is absent
    EventHeader hdr
    int64_t bid_px_e8
    int64_t ask_px_e8
    int64_t bid_qty_e2
    int64_t ask_qty_e2
    int64_t md_seq              # venue's market-data sequence, 0 if none
    uint8_t level               # 0 = top of book
    uint8_t quote_cond          # QuoteCondition
    uint8_t _pad[86]

cdef struct OrderIntent:        # a strategy's decision: new / cancel / replace
    EventHeader hdr
    int64_t cl_ord_id           # unique per order request (FIX ClOrdID, decimal on the wire)
    int64_t orig_cl_ord_id      # cancel/replace: the request being changed; 0 for new
    int64_t price_e8            # limit price; 0 for market
    int64_t qty_e2              # order quantity in base currency
    int64_t trigger_seq         # sequence of the event that caused the decision, 0 if none
    uint32_t strategy_id
    uint8_t action              # IntentAction
    uint8_t side                # Side
    uint8_t ord_type            # OrdType
    uint8_t time_in_force       # TimeInForce
    uint8_t _pad[80]

cdef struct OrderUpdate:        # a venue's ExecutionReport or OrderCancelReject, normalised
    EventHeader hdr
    int64_t cl_ord_id
    int64_t orig_cl_ord_id
    int64_t order_qty_e2
    int64_t price_e8
    int64_t cum_qty_e2
    int64_t leaves_qty_e2
    int64_t avg_px_e8
    uint32_t strategy_id
    uint16_t reject_reason      # FIX OrdRejReason (103) or CxlRejReason (102) when rejected
    uint8_t ord_status          # OrdStatus
    uint8_t exec_type           # ExecType; 0 for a cancel reject
    uint8_t exec_trans_type     # ExecTransType; 0 for a cancel reject
    uint8_t report_kind         # ReportKind
    uint8_t cxl_rej_response_to # CxlRejResponseTo or 0
    uint8_t side
    uint8_t ord_type
    uint8_t time_in_force
    uint8_t _pad0[2]
    char order_id[FIX_ID_LEN]   # venue OrderID (37)
    uint8_t _pad[16]

cdef struct Fill:               # one execution (or its bust/correction) from a venue
    EventHeader hdr
    int64_t cl_ord_id
    int64_t last_qty_e2
    int64_t last_px_e8
    int64_t commission_e4       # in commission_ccy
    uint32_t strategy_id
    uint32_t settl_date         # value date yyyymmdd (FIX FutSettDate 64), 0 if not sent
    uint8_t side
    uint8_t exec_trans_type     # ExecTransType
    uint8_t liquidity           # Liquidity or 0
    uint8_t _pad0
    char commission_ccy[CCY_LEN]
    uint8_t _pad1
    char exec_id[FIX_ID_LEN]    # venue ExecID (17): idempotency key with venue_id
    char exec_ref_id[FIX_ID_LEN]  # ExecRefID (19) for a bust/correction, else empty

cdef struct PositionUpdate:     # position and PnL of one instrument after a change
    EventHeader hdr
    int64_t net_qty_e2          # signed base quantity (long > 0)
    int64_t avg_px_e8           # of the open position; 0 when flat
    int64_t mark_px_e8
    int64_t realized_pnl_e4     # quote currency
    int64_t unrealized_pnl_e4   # quote currency
    int64_t commission_e4       # reporting currency, accumulated
    int64_t realized_pnl_rpt_e4     # reporting currency
    int64_t unrealized_pnl_rpt_e4   # reporting currency
    int64_t rpt_rate_e8         # quote -> reporting: the first leg's mid (journaled so replay agrees)
    int64_t cause_seq           # sequence of the fill / quote / bust that caused it
    uint32_t strategy_id        # 0 = the desk as a whole
    uint8_t reason              # PositionReason
    char rpt_ccy[CCY_LEN]
    int64_t turnover_e4         # quote currency, sum of |notional| of live fills
    int64_t rpt_leg2_rate_e8    # the second leg's mid, 0 when the path has one leg or none
    uint32_t fill_count         # live fills in the book (busted ones excluded)
    uint16_t rpt_leg1_instrument_id
    uint16_t rpt_leg2_instrument_id
    uint8_t rpt_leg1_op         # ConvOp
    uint8_t rpt_leg2_op
    uint8_t accounting          # 1 average cost, 2 FIFO
    uint8_t mark_status         # MarkStatus of the reporting-currency amounts
    uint8_t _pad[12]

cdef struct RiskEvent:          # a pre-trade check that failed, an alarm, the kill switch
    EventHeader hdr
    int64_t cl_ord_id           # the order concerned, 0 if none
    int64_t observed            # the value checked, at value_scale
    int64_t limit               # the configured limit, at value_scale
    int64_t cause_seq
    uint32_t strategy_id
    uint16_t check              # RiskCheck
    uint8_t action              # RiskAction
    uint8_t value_scale         # decimals of observed/limit: 8 price, 2 qty, 4 money, 0 count
    int64_t order_qty_e2        # the intent checked (0 when not about an intent)
    int64_t order_price_e8
    uint8_t side                # the intent's Side, 0 if none
    char ccy[CCY_LEN]           # the currency of a currency limit or loss, else empty
    uint16_t limit_id           # RiskLimit that was breached or changed, 0 if none
    uint8_t _pad[66]

cdef struct SessionEvent:       # a FIX session changed state
    EventHeader hdr
    int64_t next_sender_seq     # our next outgoing MsgSeqNum
    int64_t next_target_seq     # next incoming MsgSeqNum expected
    int64_t ref_seq             # MsgSeqNum concerned (gap start, rejected message), 0 if none
    int64_t ref_seq_end         # gap end, 0 if none
    uint8_t state               # SessionState
    uint8_t prev_state
    uint8_t session_kind        # SessionKind
    uint8_t _pad0
    uint16_t reason             # SessionReason
    uint16_t reject_code        # SessionRejectReason (373) when reason is a reject
    uint8_t _pad[88]

cdef struct Control:            # an operator command
    EventHeader hdr
    int64_t request_id
    int64_t arg                 # command-specific, 0 if unused
    uint32_t strategy_id        # 0 = all
    uint16_t command            # ControlCommand
    uint8_t _pad0[2]
    char issued_by[OPERATOR_LEN]  # operator user name
    uint16_t limit_id           # CMD_SET_LIMIT: RiskLimit
    char limit_ccy[CCY_LEN]     # CMD_SET_LIMIT of a per-currency limit
    uint8_t _pad1[3]
    uint8_t _pad[80]

cdef struct Timer:              # a timer fired; time enters the state machines only this way
    EventHeader hdr
    int64_t timer_id
    int64_t deadline_ns         # when it was due
    int64_t period_ns           # 0 = one-shot
    int64_t ref_id              # what it guards (cl_ord_id for ORDER_TIMEOUT), 0 if none
    uint32_t strategy_id        # owner, 0 = system
    uint16_t kind               # TimerKind
    uint8_t _pad[90]

cdef struct LatencySample:      # one measured interval, for histograms and QuestDB
    EventHeader hdr
    int64_t latency_ns
    int64_t ref_seq             # sequence of the event measured
    uint16_t hop                # LatencyHop
    uint16_t ref_type           # EventType of the event measured
    uint8_t _pad[108]

cdef struct PnlEvent:          # PnL of one strategy in one currency, or its total
    EventHeader hdr
    int64_t realized_e4         # in ccy (PNL_CURRENCY) or the reporting currency (PNL_TOTAL)
    int64_t unrealized_e4
    int64_t commission_e4
    int64_t realized_rpt_e4     # converted along the path below (PNL_TOTAL: the sum)
    int64_t unrealized_rpt_e4
    int64_t commission_rpt_e4
    int64_t leg1_rate_e8        # the mids used, journaled so replay converts the same way
    int64_t leg2_rate_e8
    int64_t cause_seq
    uint32_t strategy_id        # 0 = the desk as a whole
    uint16_t leg1_instrument_id
    uint16_t leg2_instrument_id
    uint8_t leg1_op             # ConvOp
    uint8_t leg2_op
    uint8_t pnl_kind            # PnlKind
    uint8_t mark_status         # MarkStatus; PNL_TOTAL: worst of its currencies
    char ccy[CCY_LEN]
    char rpt_ccy[CCY_LEN]
    char missing_ccy[CCY_LEN]   # PNL_TOTAL: first currency (A-Z) left out for want of a mark
    uint8_t _pad0
    uint16_t missing_count      # PNL_TOTAL: how many currencies were left out
    uint8_t _pad[32]

cdef union Event:               # any event; raw is the slot image
    EventHeader hdr
    Quote quote
    OrderIntent intent
    OrderUpdate update
    Fill fill
    PositionUpdate position
    RiskEvent risk
    SessionEvent session
    Control control
    Timer timer
    LatencySample latency
    PnlEvent pnl
    uint8_t raw[EVENT_SIZE]


cdef inline uint16_t event_type(const void* ev) noexcept nogil:
    return (<const EventHeader*>ev).type

cdef inline bint event_type_known(uint16_t t) noexcept nogil:
    return EVT_QUOTE <= t <= EVT_LAST

cdef inline void event_init(void* ev, uint16_t t) noexcept nogil:
    """Zero a whole slot (pads included) and set its type: the only way to start an event."""
    memset(ev, 0, EVENT_SIZE)
    (<EventHeader*>ev).type = t

cdef inline int fix_id_set(char* dst, const char* src, Py_ssize_t n) noexcept nogil:
    """Copy a FIX string id into a char[FIX_ID_LEN] field, NUL-padded; -1 (and dst untouched)
    if it is longer than FIX_ID_LEN or empty."""
    if n <= 0 or n > FIX_ID_LEN:
        return -1
    memcpy(dst, src, n)
    if n < FIX_ID_LEN:
        memset(dst + n, 0, FIX_ID_LEN - n)
    return 0

cdef inline Py_ssize_t copy_event(object raw, void* out, str what) except -1:
    """Copies the event at the start of `raw` (bytes, bytearray or any contiguous buffer) to
    *out, EVENT_SIZE bytes (a copy: the buffer need not be aligned), and returns raw's length.
    Shorter than an event: ValueError "<what> is 192 bytes, got N"."""
    cdef Py_buffer view
    cdef const char* p
    cdef Py_ssize_t n
    if type(raw) is bytes:
        p, n = PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw)
    elif type(raw) is bytearray:
        p, n = PyByteArray_AS_STRING(raw), PyByteArray_GET_SIZE(raw)
    else:
        PyObject_GetBuffer(raw, &view, PyBUF_SIMPLE)
        try:
            n = view.len
            if n >= EVENT_SIZE:
                memcpy(out, view.buf, EVENT_SIZE)
        finally:
            PyBuffer_Release(&view)
        if n < EVENT_SIZE:
            raise ValueError(f"{what} is {EVENT_SIZE} bytes, got {n}")
        return n
    if n < EVENT_SIZE:
        raise ValueError(f"{what} is {EVENT_SIZE} bytes, got {n}")
    memcpy(out, p, EVENT_SIZE)
    return n

cdef inline const unsigned char* event_bytes(object raw, str what) except NULL:
    """The bytes of the event in `raw` (bytes or a bytearray) where they lie, for a caller that
    reads a few fields at their offsets rather than copying the event (copy_event). Shorter than
    an event: ValueError "<what> is 192 bytes, got N", before any field is read."""
    cdef Py_ssize_t n = len(raw)
    if n < EVENT_SIZE:
        raise ValueError(f"{what} is {EVENT_SIZE} bytes, got {n}")
    if type(raw) is bytearray:
        return <const unsigned char*>PyByteArray_AS_STRING(raw)
    return <const unsigned char*>PyBytes_AS_STRING(raw)

cdef inline int64_t event_i64(const unsigned char* p, Py_ssize_t at) noexcept nogil:
    """The int64 field at byte offset `at` of an event's bytes (unaligned: copied)."""
    cdef int64_t v
    memcpy(&v, p + at, 8)
    return v

cdef inline void event_set_i64(bytearray raw, Py_ssize_t at, int64_t v) noexcept:
    """Writes the int64 field at byte offset `at` of an event's bytes (a hop stamp, in place)."""
    memcpy(PyByteArray_AS_STRING(raw) + at, &v, 8)
