"""Events as numpy records: the dtypes generated from the C structs of events.pxd, the Python
enums mirroring its C enums, and zero-copy views of buffers that hold events.

Every event is one EVENT_SIZE-byte slot (see events.pxd for the layouts). Offsets and sizes
below are measured from the C structs at import, never typed in, so the dtype of each event
type is the C layout; tests compare both with the .pxd text field by field. Readable printing
and validation of records live in fxpipe.model.eventtext.
"""
import sys
from enum import IntEnum, IntFlag

import numpy as np

if sys.byteorder != "little":
    raise ImportError("fxpipe events are little-endian; this host is big-endian")

SLOT_SIZE = EVENT_SIZE
HEADER_SIZE = EVENT_HEADER_SIZE
BODY_SIZE = EVENT_BODY_SIZE
ID_LEN = FIX_ID_LEN


class EventType(IntEnum):
    QUOTE = EVT_QUOTE
    ORDER_INTENT = EVT_ORDER_INTENT
    ORDER_UPDATE = EVT_ORDER_UPDATE
    FILL = EVT_FILL
    POSITION_UPDATE = EVT_POSITION_UPDATE
    RISK = EVT_RISK
    SESSION = EVT_SESSION
    CONTROL = EVT_CONTROL
    TIMER = EVT_TIMER
    LATENCY_SAMPLE = EVT_LATENCY_SAMPLE
    PNL = EVT_PNL


class EventFlag(IntFlag):
    POSS_DUP = FLAG_POSS_DUP
    SNAPSHOT = FLAG_SNAPSHOT
    SYNTHETIC = FLAG_SYNTHETIC


class Side(IntEnum):
    BUY = SIDE_BUY
    SELL = SIDE_SELL


class OrdType(IntEnum):
    MARKET = ORD_TYPE_MARKET
    LIMIT = ORD_TYPE_LIMIT


class TimeInForce(IntEnum):
    DAY = TIF_DAY
    GTC = TIF_GTC
    IOC = TIF_IOC
    FOK = TIF_FOK


class IntentAction(IntEnum):
    NEW = INTENT_NEW
    CANCEL = INTENT_CANCEL
    REPLACE = INTENT_REPLACE


class OrdStatus(IntEnum):
    NEW = ORD_STATUS_NEW
    PARTIALLY_FILLED = ORD_STATUS_PARTIALLY_FILLED
    FILLED = ORD_STATUS_FILLED
    DONE_FOR_DAY = ORD_STATUS_DONE_FOR_DAY
    CANCELED = ORD_STATUS_CANCELED
    REPLACED = ORD_STATUS_REPLACED
    PENDING_CANCEL = ORD_STATUS_PENDING_CANCEL
    STOPPED = ORD_STATUS_STOPPED
    REJECTED = ORD_STATUS_REJECTED
    SUSPENDED = ORD_STATUS_SUSPENDED
    PENDING_NEW = ORD_STATUS_PENDING_NEW
    CALCULATED = ORD_STATUS_CALCULATED
    EXPIRED = ORD_STATUS_EXPIRED
    ACCEPTED_FOR_BIDDING = ORD_STATUS_ACCEPTED_FOR_BIDDING
    PENDING_REPLACE = ORD_STATUS_PENDING_REPLACE
    UNKNOWN = ORD_STATUS_UNKNOWN


class ExecType(IntEnum):
    NEW = EXEC_TYPE_NEW
    PARTIAL_FILL = EXEC_TYPE_PARTIAL_FILL
    FILL = EXEC_TYPE_FILL
    DONE_FOR_DAY = EXEC_TYPE_DONE_FOR_DAY
    CANCELED = EXEC_TYPE_CANCELED
    REPLACE = EXEC_TYPE_REPLACE
    PENDING_CANCEL = EXEC_TYPE_PENDING_CANCEL
    STOPPED = EXEC_TYPE_STOPPED
    REJECTED = EXEC_TYPE_REJECTED
    SUSPENDED = EXEC_TYPE_SUSPENDED
    PENDING_NEW = EXEC_TYPE_PENDING_NEW
    CALCULATED = EXEC_TYPE_CALCULATED
    EXPIRED = EXEC_TYPE_EXPIRED
    RESTATED = EXEC_TYPE_RESTATED
    PENDING_REPLACE = EXEC_TYPE_PENDING_REPLACE


class ExecTransType(IntEnum):
    NEW = EXEC_TRANS_NEW
    CANCEL = EXEC_TRANS_CANCEL
    CORRECT = EXEC_TRANS_CORRECT
    STATUS = EXEC_TRANS_STATUS


class ReportKind(IntEnum):
    EXECUTION = REPORT_EXECUTION
    CANCEL_REJECT = REPORT_CANCEL_REJECT


class CxlRejResponseTo(IntEnum):
    CANCEL = CXL_REJ_TO_CANCEL
    REPLACE = CXL_REJ_TO_REPLACE


class Liquidity(IntEnum):
    ADDED = LIQ_ADDED
    REMOVED = LIQ_REMOVED


class QuoteCondition(IntEnum):
    FIRM = QUOTE_FIRM
    INDICATIVE = QUOTE_INDICATIVE


class PositionReason(IntEnum):
    FILL = POS_FILL
    BUST = POS_BUST
    CORRECTION = POS_CORRECTION
    MARK = POS_MARK
    SNAPSHOT = POS_SNAPSHOT


class RiskCheck(IntEnum):
    MAX_ORDER_QTY = RISK_MAX_ORDER_QTY
    MAX_ORDER_NOTIONAL = RISK_MAX_ORDER_NOTIONAL
    POSITION_LIMIT = RISK_POSITION_LIMIT
    GROSS_EXPOSURE = RISK_GROSS_EXPOSURE
    PRICE_COLLAR = RISK_PRICE_COLLAR
    ORDER_RATE = RISK_ORDER_RATE
    MAX_OPEN_ORDERS = RISK_MAX_OPEN_ORDERS
    KILL_SWITCH = RISK_KILL_SWITCH
    STALE_QUOTE = RISK_STALE_QUOTE
    OVERFILL = RISK_OVERFILL
    CURRENCY_LIMIT = RISK_CURRENCY_LIMIT
    LOSS_LIMIT = RISK_LOSS_LIMIT
    REJECT_STORM = RISK_REJECT_STORM
    NO_MARK = RISK_NO_MARK
    BAD_INTENT = RISK_BAD_INTENT
    LIMIT_CHANGED = RISK_LIMIT_CHANGED
    FILL_REFUSED = RISK_FILL_REFUSED


class RiskAction(IntEnum):
    REJECT_ORDER = RISK_REJECT_ORDER
    ALARM = RISK_ALARM
    KILL_SWITCH_ON = RISK_KILL_SWITCH_ON
    KILL_SWITCH_OFF = RISK_KILL_SWITCH_OFF
    STRATEGY_STOPPED = RISK_STRATEGY_STOPPED
    LIMIT_SET = RISK_LIMIT_SET
    CHANGE_REFUSED = RISK_CHANGE_REFUSED
    STRATEGY_RESUMED = RISK_STRATEGY_RESUMED


class SessionKind(IntEnum):
    MARKET_DATA = SESSION_MARKET_DATA
    ORDERS = SESSION_ORDERS
    DROP_COPY = SESSION_DROP_COPY


class SessionState(IntEnum):
    DISCONNECTED = SESSION_DISCONNECTED
    CONNECTING = SESSION_CONNECTING
    LOGON_SENT = SESSION_LOGON_SENT
    ACTIVE = SESSION_ACTIVE
    RESENDING = SESSION_RESENDING
    LOGOUT_SENT = SESSION_LOGOUT_SENT


class SessionReason(IntEnum):
    CONNECTED = SESSION_REASON_CONNECTED
    LOGON = SESSION_REASON_LOGON
    LOGOUT = SESSION_REASON_LOGOUT
    DISCONNECTED = SESSION_REASON_DISCONNECTED
    HEARTBEAT_TIMEOUT = SESSION_REASON_HEARTBEAT_TIMEOUT
    SEQUENCE_GAP = SESSION_REASON_SEQUENCE_GAP
    RESEND_COMPLETE = SESSION_REASON_RESEND_COMPLETE
    SEQUENCE_TOO_LOW = SESSION_REASON_SEQUENCE_TOO_LOW
    REJECT_RECEIVED = SESSION_REASON_REJECT_RECEIVED
    REJECT_SENT = SESSION_REASON_REJECT_SENT
    LOGON_REJECTED = SESSION_REASON_LOGON_REJECTED
    SCHEDULE = SESSION_REASON_SCHEDULE


class ControlCommand(IntEnum):
    KILL_SWITCH_ON = CMD_KILL_SWITCH_ON
    KILL_SWITCH_OFF = CMD_KILL_SWITCH_OFF
    CANCEL_ALL = CMD_CANCEL_ALL
    PAUSE = CMD_PAUSE
    RESUME = CMD_RESUME
    SHUTDOWN = CMD_SHUTDOWN
    STATE_HASH = CMD_STATE_HASH
    SET_LIMIT = CMD_SET_LIMIT


class RiskLimit(IntEnum):
    MAX_ORDER_QTY = LIMIT_MAX_ORDER_QTY
    MAX_ORDER_NOTIONAL = LIMIT_MAX_ORDER_NOTIONAL
    MAX_POSITION = LIMIT_MAX_POSITION
    MAX_CCY_EXPOSURE = LIMIT_MAX_CCY_EXPOSURE
    MAX_GROSS_EXPOSURE = LIMIT_MAX_GROSS_EXPOSURE
    PRICE_COLLAR_BPS = LIMIT_PRICE_COLLAR_BPS
    PRICE_COLLAR_PIPS = LIMIT_PRICE_COLLAR_PIPS
    STALE_QUOTE_MS = LIMIT_STALE_QUOTE_MS
    ORDER_RATE = LIMIT_ORDER_RATE
    ORDER_BURST = LIMIT_ORDER_BURST
    VENUE_ORDER_RATE = LIMIT_VENUE_ORDER_RATE
    VENUE_ORDER_BURST = LIMIT_VENUE_ORDER_BURST
    MAX_OPEN_ORDERS = LIMIT_MAX_OPEN_ORDERS
    MAX_LOSS = LIMIT_MAX_LOSS
    REJECT_STORM_COUNT = LIMIT_REJECT_STORM_COUNT
    REJECT_STORM_WINDOW_MS = LIMIT_REJECT_STORM_WINDOW_MS
    KILL_ON_OVERFILL = LIMIT_KILL_ON_OVERFILL


class PnlKind(IntEnum):
    CURRENCY = PNL_CURRENCY
    TOTAL = PNL_TOTAL


class MarkStatus(IntEnum):
    OK = MARK_OK
    MISSING = MARK_MISSING
    NO_PATH = MARK_NO_PATH


class ConvOp(IntEnum):
    NONE = CONV_NONE
    MUL = CONV_MUL
    DIV = CONV_DIV


class TimerKind(IntEnum):
    STRATEGY = TIMER_STRATEGY
    ORDER_TIMEOUT = TIMER_ORDER_TIMEOUT
    HEARTBEAT = TIMER_HEARTBEAT
    SCHEDULE = TIMER_SCHEDULE


class LatencyHop(IntEnum):
    VENUE_TO_RECEIVE = HOP_VENUE_TO_RECEIVE
    RECEIVE_TO_DECODE = HOP_RECEIVE_TO_DECODE
    DECODE_TO_DECIDE = HOP_DECODE_TO_DECIDE
    DECIDE_TO_RISK = HOP_DECIDE_TO_RISK
    RISK_TO_SEND = HOP_RISK_TO_SEND
    TICK_TO_TRADE = HOP_TICK_TO_TRADE
    SEND_TO_ACK = HOP_SEND_TO_ACK
    SEND_TO_FILL = HOP_SEND_TO_FILL


# Which enum each enum-valued field holds, and whether 0 ("not applicable") is allowed.
# Structural only: which fields a given message needs is the business of the stage.
ENUM_FIELDS = {
    "type": (EventType, False), "side": (Side, False), "ord_type": (OrdType, True),
    "time_in_force": (TimeInForce, True), "action": (IntentAction, False),
    "ord_status": (OrdStatus, False), "exec_type": (ExecType, True),
    "exec_trans_type": (ExecTransType, True), "report_kind": (ReportKind, False),
    "cxl_rej_response_to": (CxlRejResponseTo, True), "liquidity": (Liquidity, True),
    "quote_cond": (QuoteCondition, False), "check": (RiskCheck, False),
    "state": (SessionState, False), "prev_state": (SessionState, True),
    "session_kind": (SessionKind, False), "command": (ControlCommand, False),
    "kind": (TimerKind, False), "hop": (LatencyHop, False), "ref_type": (EventType, True),
}
# Fields whose enum depends on the event type.
_TYPE_ENUM_FIELDS = {
    EVT_RISK: {"action": (RiskAction, False), "side": (Side, True), "limit_id": (RiskLimit, True)},
    EVT_POSITION_UPDATE: {"reason": (PositionReason, False), "rpt_leg1_op": (ConvOp, True),
                          "rpt_leg2_op": (ConvOp, True), "mark_status": (MarkStatus, True)},
    EVT_CONTROL: {"limit_id": (RiskLimit, True)},
    EVT_PNL: {"pnl_kind": (PnlKind, False), "leg1_op": (ConvOp, True), "leg2_op": (ConvOp, True),
              "mark_status": (MarkStatus, True)},
    EVT_SESSION: {"reason": (SessionReason, False)},
}


def enum_for(event_type, str name):
    """(enum class, 0 allowed) for field name of event_type, or (None, True) if not an enum."""
    per_type = _TYPE_ENUM_FIELDS.get(int(event_type), {})
    return per_type.get(name) or ENUM_FIELDS.get(name, (None, True))


# ---------------------------------------------------------------- layouts measured from C

cdef inline Py_ssize_t _at(const void* base, const void* field) noexcept:
    return <const char*>field - <const char*>base


cdef list _header_fields():
    cdef EventHeader h
    return [
        ("type", "<u2", _at(&h, &h.type), sizeof(h.type)),
        ("flags", "<u2", _at(&h, &h.flags), sizeof(h.flags)),
        ("venue_id", "<u2", _at(&h, &h.venue_id), sizeof(h.venue_id)),
        ("instrument_id", "<u2", _at(&h, &h.instrument_id), sizeof(h.instrument_id)),
        ("sequence", "<i8", _at(&h, &h.sequence), sizeof(h.sequence)),
        ("ts_venue_ns", "<i8", _at(&h, &h.ts_venue_ns), sizeof(h.ts_venue_ns)),
        ("ts_receive_ns", "<i8", _at(&h, &h.ts_receive_ns), sizeof(h.ts_receive_ns)),
        ("ts_decode_ns", "<i8", _at(&h, &h.ts_decode_ns), sizeof(h.ts_decode_ns)),
        ("ts_decide_ns", "<i8", _at(&h, &h.ts_decide_ns), sizeof(h.ts_decide_ns)),
        ("ts_risk_ns", "<i8", _at(&h, &h.ts_risk_ns), sizeof(h.ts_risk_ns)),
        ("ts_send_ns", "<i8", _at(&h, &h.ts_send_ns), sizeof(h.ts_send_ns)),
    ]


cdef dict _body_fields():
    """Per event type: (C struct name, sizeof, offset of hdr, body fields as
    (name, numpy format, offset, C sizeof))."""
    cdef Quote q
    cdef OrderIntent oi
    cdef OrderUpdate ou
    cdef Fill f
    cdef PositionUpdate p
    cdef RiskEvent r
    cdef SessionEvent s
    cdef Control c
    cdef Timer t
    cdef LatencySample ls
    cdef PnlEvent pn
    return {
        EVT_QUOTE: ("Quote", sizeof(Quote), _at(&q, &q.hdr), [
            ("bid_px_e8", "<i8", _at(&q, &q.bid_px_e8), sizeof(q.bid_px_e8)),
            ("ask_px_e8", "<i8", _at(&q, &q.ask_px_e8), sizeof(q.ask_px_e8)),
            ("bid_qty_e2", "<i8", _at(&q, &q.bid_qty_e2), sizeof(q.bid_qty_e2)),
            ("ask_qty_e2", "<i8", _at(&q, &q.ask_qty_e2), sizeof(q.ask_qty_e2)),
            ("md_seq", "<i8", _at(&q, &q.md_seq), sizeof(q.md_seq)),
            ("level", "u1", _at(&q, &q.level), sizeof(q.level)),
            ("quote_cond", "u1", _at(&q, &q.quote_cond), sizeof(q.quote_cond))]),
        EVT_ORDER_INTENT: ("OrderIntent", sizeof(OrderIntent), _at(&oi, &oi.hdr), [
            ("cl_ord_id", "<i8", _at(&oi, &oi.cl_ord_id), sizeof(oi.cl_ord_id)),
            ("orig_cl_ord_id", "<i8", _at(&oi, &oi.orig_cl_ord_id), sizeof(oi.orig_cl_ord_id)),
            ("price_e8", "<i8", _at(&oi, &oi.price_e8), sizeof(oi.price_e8)),
            ("qty_e2", "<i8", _at(&oi, &oi.qty_e2), sizeof(oi.qty_e2)),
            ("trigger_seq", "<i8", _at(&oi, &oi.trigger_seq), sizeof(oi.trigger_seq)),
            ("strategy_id", "<u4", _at(&oi, &oi.strategy_id), sizeof(oi.strategy_id)),
            ("action", "u1", _at(&oi, &oi.action), sizeof(oi.action)),
            ("side", "u1", _at(&oi, &oi.side), sizeof(oi.side)),
            ("ord_type", "u1", _at(&oi, &oi.ord_type), sizeof(oi.ord_type)),
            ("time_in_force", "u1", _at(&oi, &oi.time_in_force), sizeof(oi.time_in_force))]),
        EVT_ORDER_UPDATE: ("OrderUpdate", sizeof(OrderUpdate), _at(&ou, &ou.hdr), [
            ("cl_ord_id", "<i8", _at(&ou, &ou.cl_ord_id), sizeof(ou.cl_ord_id)),
            ("orig_cl_ord_id", "<i8", _at(&ou, &ou.orig_cl_ord_id), sizeof(ou.orig_cl_ord_id)),
            ("order_qty_e2", "<i8", _at(&ou, &ou.order_qty_e2), sizeof(ou.order_qty_e2)),
            ("price_e8", "<i8", _at(&ou, &ou.price_e8), sizeof(ou.price_e8)),
            ("cum_qty_e2", "<i8", _at(&ou, &ou.cum_qty_e2), sizeof(ou.cum_qty_e2)),
            ("leaves_qty_e2", "<i8", _at(&ou, &ou.leaves_qty_e2), sizeof(ou.leaves_qty_e2)),
            ("avg_px_e8", "<i8", _at(&ou, &ou.avg_px_e8), sizeof(ou.avg_px_e8)),
            ("strategy_id", "<u4", _at(&ou, &ou.strategy_id), sizeof(ou.strategy_id)),
            ("reject_reason", "<u2", _at(&ou, &ou.reject_reason), sizeof(ou.reject_reason)),
            ("ord_status", "u1", _at(&ou, &ou.ord_status), sizeof(ou.ord_status)),
            ("exec_type", "u1", _at(&ou, &ou.exec_type), sizeof(ou.exec_type)),
            ("exec_trans_type", "u1", _at(&ou, &ou.exec_trans_type), sizeof(ou.exec_trans_type)),
            ("report_kind", "u1", _at(&ou, &ou.report_kind), sizeof(ou.report_kind)),
            ("cxl_rej_response_to", "u1", _at(&ou, &ou.cxl_rej_response_to),
             sizeof(ou.cxl_rej_response_to)),
            ("side", "u1", _at(&ou, &ou.side), sizeof(ou.side)),
            ("ord_type", "u1", _at(&ou, &ou.ord_type), sizeof(ou.ord_type)),
            ("time_in_force", "u1", _at(&ou, &ou.time_in_force), sizeof(ou.time_in_force)),
            ("order_id", f"S{FIX_ID_LEN}", _at(&ou, &ou.order_id[0]), sizeof(ou.order_id))]),
        EVT_FILL: ("Fill", sizeof(Fill), _at(&f, &f.hdr), [
            ("cl_ord_id", "<i8", _at(&f, &f.cl_ord_id), sizeof(f.cl_ord_id)),
            ("last_qty_e2", "<i8", _at(&f, &f.last_qty_e2), sizeof(f.last_qty_e2)),
            ("last_px_e8", "<i8", _at(&f, &f.last_px_e8), sizeof(f.last_px_e8)),
            ("commission_e4", "<i8", _at(&f, &f.commission_e4), sizeof(f.commission_e4)),
            ("strategy_id", "<u4", _at(&f, &f.strategy_id), sizeof(f.strategy_id)),
            ("settl_date", "<u4", _at(&f, &f.settl_date), sizeof(f.settl_date)),
            ("side", "u1", _at(&f, &f.side), sizeof(f.side)),
            ("exec_trans_type", "u1", _at(&f, &f.exec_trans_type), sizeof(f.exec_trans_type)),
            ("liquidity", "u1", _at(&f, &f.liquidity), sizeof(f.liquidity)),
            ("commission_ccy", f"S{CCY_LEN}", _at(&f, &f.commission_ccy[0]), sizeof(f.commission_ccy)),
            ("exec_id", f"S{FIX_ID_LEN}", _at(&f, &f.exec_id[0]), sizeof(f.exec_id)),
            ("exec_ref_id", f"S{FIX_ID_LEN}", _at(&f, &f.exec_ref_id[0]), sizeof(f.exec_ref_id))]),
        EVT_POSITION_UPDATE: ("PositionUpdate", sizeof(PositionUpdate), _at(&p, &p.hdr), [
            ("net_qty_e2", "<i8", _at(&p, &p.net_qty_e2), sizeof(p.net_qty_e2)),
            ("avg_px_e8", "<i8", _at(&p, &p.avg_px_e8), sizeof(p.avg_px_e8)),
            ("mark_px_e8", "<i8", _at(&p, &p.mark_px_e8), sizeof(p.mark_px_e8)),
            ("realized_pnl_e4", "<i8", _at(&p, &p.realized_pnl_e4), sizeof(p.realized_pnl_e4)),
            ("unrealized_pnl_e4", "<i8", _at(&p, &p.unrealized_pnl_e4), sizeof(p.unrealized_pnl_e4)),
            ("commission_e4", "<i8", _at(&p, &p.commission_e4), sizeof(p.commission_e4)),
            ("realized_pnl_rpt_e4", "<i8", _at(&p, &p.realized_pnl_rpt_e4),
             sizeof(p.realized_pnl_rpt_e4)),
            ("unrealized_pnl_rpt_e4", "<i8", _at(&p, &p.unrealized_pnl_rpt_e4),
             sizeof(p.unrealized_pnl_rpt_e4)),
            ("rpt_rate_e8", "<i8", _at(&p, &p.rpt_rate_e8), sizeof(p.rpt_rate_e8)),
            ("cause_seq", "<i8", _at(&p, &p.cause_seq), sizeof(p.cause_seq)),
            ("strategy_id", "<u4", _at(&p, &p.strategy_id), sizeof(p.strategy_id)),
            ("reason", "u1", _at(&p, &p.reason), sizeof(p.reason)),
            ("rpt_ccy", f"S{CCY_LEN}", _at(&p, &p.rpt_ccy[0]), sizeof(p.rpt_ccy)),
            ("turnover_e4", "<i8", _at(&p, &p.turnover_e4), sizeof(p.turnover_e4)),
            ("rpt_leg2_rate_e8", "<i8", _at(&p, &p.rpt_leg2_rate_e8), sizeof(p.rpt_leg2_rate_e8)),
            ("fill_count", "<u4", _at(&p, &p.fill_count), sizeof(p.fill_count)),
            ("rpt_leg1_instrument_id", "<u2", _at(&p, &p.rpt_leg1_instrument_id),
             sizeof(p.rpt_leg1_instrument_id)),
            ("rpt_leg2_instrument_id", "<u2", _at(&p, &p.rpt_leg2_instrument_id),
             sizeof(p.rpt_leg2_instrument_id)),
            ("rpt_leg1_op", "u1", _at(&p, &p.rpt_leg1_op), sizeof(p.rpt_leg1_op)),
            ("rpt_leg2_op", "u1", _at(&p, &p.rpt_leg2_op), sizeof(p.rpt_leg2_op)),
            ("accounting", "u1", _at(&p, &p.accounting), sizeof(p.accounting)),
            ("mark_status", "u1", _at(&p, &p.mark_status), sizeof(p.mark_status))]),
        EVT_RISK: ("RiskEvent", sizeof(RiskEvent), _at(&r, &r.hdr), [
            ("cl_ord_id", "<i8", _at(&r, &r.cl_ord_id), sizeof(r.cl_ord_id)),
            ("observed", "<i8", _at(&r, &r.observed), sizeof(r.observed)),
            ("limit", "<i8", _at(&r, &r.limit), sizeof(r.limit)),
            ("cause_seq", "<i8", _at(&r, &r.cause_seq), sizeof(r.cause_seq)),
            ("strategy_id", "<u4", _at(&r, &r.strategy_id), sizeof(r.strategy_id)),
            ("check", "<u2", _at(&r, &r.check), sizeof(r.check)),
            ("action", "u1", _at(&r, &r.action), sizeof(r.action)),
            ("value_scale", "u1", _at(&r, &r.value_scale), sizeof(r.value_scale)),
            ("order_qty_e2", "<i8", _at(&r, &r.order_qty_e2), sizeof(r.order_qty_e2)),
            ("order_price_e8", "<i8", _at(&r, &r.order_price_e8), sizeof(r.order_price_e8)),
            ("side", "u1", _at(&r, &r.side), sizeof(r.side)),
            ("ccy", f"S{CCY_LEN}", _at(&r, &r.ccy[0]), sizeof(r.ccy)),
            ("limit_id", "<u2", _at(&r, &r.limit_id), sizeof(r.limit_id))]),
        EVT_SESSION: ("SessionEvent", sizeof(SessionEvent), _at(&s, &s.hdr), [
            ("next_sender_seq", "<i8", _at(&s, &s.next_sender_seq), sizeof(s.next_sender_seq)),
            ("next_target_seq", "<i8", _at(&s, &s.next_target_seq), sizeof(s.next_target_seq)),
            ("ref_seq", "<i8", _at(&s, &s.ref_seq), sizeof(s.ref_seq)),
            ("ref_seq_end", "<i8", _at(&s, &s.ref_seq_end), sizeof(s.ref_seq_end)),
            ("state", "u1", _at(&s, &s.state), sizeof(s.state)),
            ("prev_state", "u1", _at(&s, &s.prev_state), sizeof(s.prev_state)),
            ("session_kind", "u1", _at(&s, &s.session_kind), sizeof(s.session_kind)),
            ("reason", "<u2", _at(&s, &s.reason), sizeof(s.reason)),
            ("reject_code", "<u2", _at(&s, &s.reject_code), sizeof(s.reject_code))]),
        EVT_CONTROL: ("Control", sizeof(Control), _at(&c, &c.hdr), [
            ("request_id", "<i8", _at(&c, &c.request_id), sizeof(c.request_id)),
            ("arg", "<i8", _at(&c, &c.arg), sizeof(c.arg)),
            ("strategy_id", "<u4", _at(&c, &c.strategy_id), sizeof(c.strategy_id)),
            ("command", "<u2", _at(&c, &c.command), sizeof(c.command)),
            ("issued_by", f"S{OPERATOR_LEN}", _at(&c, &c.issued_by[0]), sizeof(c.issued_by)),
            ("limit_id", "<u2", _at(&c, &c.limit_id), sizeof(c.limit_id)),
            ("limit_ccy", f"S{CCY_LEN}", _at(&c, &c.limit_ccy[0]), sizeof(c.limit_ccy))]),
        EVT_TIMER: ("Timer", sizeof(Timer), _at(&t, &t.hdr), [
            ("timer_id", "<i8", _at(&t, &t.timer_id), sizeof(t.timer_id)),
            ("deadline_ns", "<i8", _at(&t, &t.deadline_ns), sizeof(t.deadline_ns)),
            ("period_ns", "<i8", _at(&t, &t.period_ns), sizeof(t.period_ns)),
            ("ref_id", "<i8", _at(&t, &t.ref_id), sizeof(t.ref_id)),
            ("strategy_id", "<u4", _at(&t, &t.strategy_id), sizeof(t.strategy_id)),
            ("kind", "<u2", _at(&t, &t.kind), sizeof(t.kind))]),
        EVT_LATENCY_SAMPLE: ("LatencySample", sizeof(LatencySample), _at(&ls, &ls.hdr), [
            ("latency_ns", "<i8", _at(&ls, &ls.latency_ns), sizeof(ls.latency_ns)),
            ("ref_seq", "<i8", _at(&ls, &ls.ref_seq), sizeof(ls.ref_seq)),
            ("hop", "<u2", _at(&ls, &ls.hop), sizeof(ls.hop)),
            ("ref_type", "<u2", _at(&ls, &ls.ref_type), sizeof(ls.ref_type))]),
        EVT_PNL: ("PnlEvent", sizeof(PnlEvent), _at(&pn, &pn.hdr), [
            ("realized_e4", "<i8", _at(&pn, &pn.realized_e4), sizeof(pn.realized_e4)),
            ("unrealized_e4", "<i8", _at(&pn, &pn.unrealized_e4), sizeof(pn.unrealized_e4)),
            ("commission_e4", "<i8", _at(&pn, &pn.commission_e4), sizeof(pn.commission_e4)),
            ("realized_rpt_e4", "<i8", _at(&pn, &pn.realized_rpt_e4), sizeof(pn.realized_rpt_e4)),
            ("unrealized_rpt_e4", "<i8", _at(&pn, &pn.unrealized_rpt_e4), sizeof(pn.unrealized_rpt_e4)),
            ("commission_rpt_e4", "<i8", _at(&pn, &pn.commission_rpt_e4), sizeof(pn.commission_rpt_e4)),
            ("leg1_rate_e8", "<i8", _at(&pn, &pn.leg1_rate_e8), sizeof(pn.leg1_rate_e8)),
            ("leg2_rate_e8", "<i8", _at(&pn, &pn.leg2_rate_e8), sizeof(pn.leg2_rate_e8)),
            ("cause_seq", "<i8", _at(&pn, &pn.cause_seq), sizeof(pn.cause_seq)),
            ("strategy_id", "<u4", _at(&pn, &pn.strategy_id), sizeof(pn.strategy_id)),
            ("leg1_instrument_id", "<u2", _at(&pn, &pn.leg1_instrument_id), sizeof(pn.leg1_instrument_id)),
            ("leg2_instrument_id", "<u2", _at(&pn, &pn.leg2_instrument_id), sizeof(pn.leg2_instrument_id)),
            ("leg1_op", "u1", _at(&pn, &pn.leg1_op), sizeof(pn.leg1_op)),
            ("leg2_op", "u1", _at(&pn, &pn.leg2_op), sizeof(pn.leg2_op)),
            ("pnl_kind", "u1", _at(&pn, &pn.pnl_kind), sizeof(pn.pnl_kind)),
            ("mark_status", "u1", _at(&pn, &pn.mark_status), sizeof(pn.mark_status)),
            ("ccy", f"S{CCY_LEN}", _at(&pn, &pn.ccy[0]), sizeof(pn.ccy)),
            ("rpt_ccy", f"S{CCY_LEN}", _at(&pn, &pn.rpt_ccy[0]), sizeof(pn.rpt_ccy)),
            ("missing_ccy", f"S{CCY_LEN}", _at(&pn, &pn.missing_ccy[0]), sizeof(pn.missing_ccy)),
            ("missing_count", "<u2", _at(&pn, &pn.missing_count), sizeof(pn.missing_count))]),
    }


def _dtype(fields):
    return np.dtype({"names": [f[0] for f in fields], "formats": [f[1] for f in fields],
                     "offsets": [f[2] for f in fields], "itemsize": EVENT_SIZE})


HEADER_FIELDS = tuple(_header_fields())
_BODIES = _body_fields()
# C layout per event type, for tests and tools: struct name, sizeof, hdr offset, all fields.
C_LAYOUTS = {EventType(t): (name, size, hdr_at, HEADER_FIELDS + tuple(body))
             for t, (name, size, hdr_at, body) in _BODIES.items()}
# A view of any slot that reads only the common header (for buffers of mixed types).
HEADER_DTYPE = _dtype(HEADER_FIELDS)
_DTYPES = {t: _dtype(layout[3]) for t, layout in C_LAYOUTS.items()}
C_UNION_SIZE = sizeof(Event)
# The same, keyed by the plain int (an EventType hashes and compares as its int), and back from
# a dtype: the hot paths (a record made or read per event) look these up instead of building an
# EventType or comparing dtypes one by one.
_DTYPE_OF = {int(t): d for t, d in _DTYPES.items()}
_TYPE_OF_DTYPE = {d: t for t, d in _DTYPES.items()}
# A zeroed event of each type with its type set, as bytes: empty() copies it (numpy's own copy
# of a structured record costs about ten times more).
_ZEROED = {}
for _t, _d in _DTYPES.items():
    _z = np.zeros(1, dtype=_d)
    _z["type"] = int(_t)
    _ZEROED[int(_t)] = _z.tobytes()



# ---------------------------------------------------------------- Python API

def dtype_for(event_type):
    """The numpy dtype of one event type (itemsize EVENT_SIZE, offsets from the C struct)."""
    d = _DTYPE_OF.get(event_type) if type(event_type) is int or type(event_type) is EventType else None
    if d is not None:
        return d
    try:
        return _DTYPES[EventType(event_type)]
    except ValueError:
        known = ", ".join(f"{t.name}={t.value}" for t in EventType)
        raise ValueError(f"unknown event type {event_type!r}; known: {known}") from None


def _bytes_of(buffer):
    """A flat uint8 view of any buffer (bytes, bytearray, memoryview, mmap, numpy array)."""
    try:
        return np.frombuffer(buffer, dtype=np.uint8)
    except TypeError:
        raise TypeError(f"expected a buffer of events (bytes, bytearray, memoryview, mmap or "
                        f"numpy array), got {type(buffer).__name__}") from None


def _whole_events(buffer):
    raw = _bytes_of(buffer)
    if raw.size % EVENT_SIZE:
        raise ValueError(f"buffer of {raw.size} bytes is not a whole number of {EVENT_SIZE}-byte "
                         f"events ({raw.size // EVENT_SIZE} events and {raw.size % EVENT_SIZE} "
                         f"bytes over)")
    return raw


def view(buffer, event_type, *, bint check=True):
    """Zero-copy array of event_type records over buffer (writable when the buffer is).

    With check, every record must carry that type (ValueError naming the first that does not);
    for buffers of mixed types use headers() to select, then view(..., check=False)[mask].
    """
    dt = dtype_for(event_type)
    arr = _whole_events(buffer).view(dt)
    if check and arr.size:
        bad = np.flatnonzero(arr["type"] != int(EventType(event_type)))
        if bad.size:
            i = int(bad[0])
            got = int(arr["type"][i])
            name = EventType(got).name if event_type_known(got) else "unknown"
            raise ValueError(f"event {i} (byte offset {i * EVENT_SIZE}) has type {got} ({name}), "
                             f"not {EventType(event_type).name}; {bad.size} of {arr.size} differ")
    return arr


def event_type_for_dtype(dt):
    """The EventType whose dtype (from dtype_for) dt is; ValueError for any other dtype."""
    try:
        return _TYPE_OF_DTYPE[dt]
    except (KeyError, TypeError):
        pass
    for t, d in _DTYPES.items():
        if d == dt:
            return t
    raise ValueError(f"not an event dtype made by dtype_for(): {dt}")


def headers(buffer):
    """Zero-copy view of the common header of every event in buffer, whatever its type."""
    return _whole_events(buffer).view(HEADER_DTYPE)


def event_type_of(buffer, Py_ssize_t offset=0):
    """EventType of the event starting at byte offset of buffer; ValueError if unknown/short."""
    raw = _bytes_of(buffer)
    if offset < 0 or offset + EVENT_SIZE > raw.size:
        raise ValueError(f"no whole {EVENT_SIZE}-byte event at byte offset {offset} of a "
                         f"{raw.size}-byte buffer")
    t = int(raw[offset]) | (int(raw[offset + 1]) << 8)
    if not event_type_known(t):
        raise ValueError(f"unknown event type {t} at byte offset {offset}")
    return EventType(t)


def read(buffer, Py_ssize_t offset=0):
    """The single event at byte offset of buffer as a record of its own type (zero-copy)."""
    cdef const unsigned char[::1] raw
    cdef int t
    if type(buffer) is bytes or type(buffer) is bytearray:
        # the common case, on every hot path: the type from the bytes, one frombuffer
        if 0 <= offset and offset + EVENT_SIZE <= len(buffer):
            raw = buffer
            t = raw[offset] | (raw[offset + 1] << 8)
            d = _DTYPE_OF.get(t)
            if d is not None:
                return np.frombuffer(buffer, d, 1, offset)[0]
    t = event_type_of(buffer, offset)
    return _bytes_of(buffer)[offset:offset + EVENT_SIZE].view(_DTYPES[t])[0]


def empty(event_type, Py_ssize_t count=1):
    """count zeroed events of event_type (pads zero, type set), ready to fill."""
    z = _ZEROED.get(event_type) if type(event_type) is int or type(event_type) is EventType else None
    if z is None:
        z = _ZEROED[int(EventType(event_type))]
    if count < 0:
        raise ValueError(f"negative count {count}")
    return np.frombuffer(bytearray(z * count), _DTYPE_OF[z[0] | z[1] << 8])


def make(event_type, **fields):
    """One event record of event_type with fields set (each checked, see set_fields)."""
    rec = empty(event_type, 1)[0]
    set_fields(rec, **fields)
    return rec


def _int_rules():
    """(type, field) -> (min, max, the enum's values or None, 0 allowed, flags field) of every
    integer field: what check_value checks, ready to check without building anything."""
    rules = {}
    for t, d in _DTYPES.items():
        for name in d.names:
            fmt = d.fields[name][0]
            if fmt.kind not in "iu":
                continue
            info = np.iinfo(fmt)
            cls, optional = enum_for(t, name)
            rules[(int(t), name)] = (int(info.min), int(info.max),
                                     None if cls is None else frozenset(cls._value2member_map_),
                                     optional, name == "flags")
    return rules


_INT_RULES = _int_rules()


def check_value(event_type, str name, value):
    """value as it would be stored in field name of event_type; ValueError/TypeError/
    OverflowError saying what is wrong (unknown field, too long, out of range, not an enum)."""
    tv = type(value)
    if tv is int or (tv is not bool and isinstance(value, int)):
        rule = _INT_RULES.get((event_type, name)) if type(event_type) is int or type(event_type) is EventType \
            else None
        if rule is not None:
            v = int(value)
            if rule[0] <= v <= rule[1] and (rule[2] is None or v in rule[2] or (rule[3] and v == 0)) \
                    and not (rule[4] and v & ~FLAG_ALL):
                return v
    t = EventType(event_type)
    dt = _DTYPES[t]
    if name not in dt.names:
        raise ValueError(f"{t.name} has no field {name!r}; its fields: {', '.join(dt.names)}")
    fmt = dt.fields[name][0]
    if fmt.kind == "S":
        raw = value.encode("ascii") if isinstance(value, str) else value
        if not isinstance(raw, bytes):
            raise TypeError(f"{t.name}.{name} takes text (str or bytes), got {type(value).__name__}")
        if len(raw) > fmt.itemsize:
            raise ValueError(f"{t.name}.{name} holds at most {fmt.itemsize} bytes; {raw!r} has "
                             f"{len(raw)} and would be cut")
        if b"\0" in raw or not raw.isascii():
            raise ValueError(f"{t.name}.{name} must be printable ASCII without NUL, got {raw!r}")
        return raw
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{t.name}.{name} must be an integer, got {type(value).__name__} {value!r}")
    v = value.__index__()
    info = np.iinfo(fmt)
    if not info.min <= v <= info.max:
        raise OverflowError(f"{t.name}.{name}={v} does not fit in {fmt.name} ({info.min}..{info.max})")
    cls, optional = enum_for(t, name)
    if cls is not None and not (optional and v == 0) and v not in cls._value2member_map_:
        allowed = ", ".join(f"{m.name}={m.value}" for m in cls)
        raise ValueError(f"{t.name}.{name}={v} is not a {cls.__name__} ({allowed}"
                         f"{', or 0' if optional else ''})")
    if name == "flags" and v & ~FLAG_ALL:
        raise ValueError(f"{t.name}.flags={v:#x} sets reserved bits (known: {FLAG_ALL:#x})")
    return v


def set_fields(rec, **fields):
    """Set fields of one record, each checked by check_value; 'type' is fixed by make()."""
    t = event_type_for_dtype(rec.dtype)
    for name, value in fields.items():
        if name == "type":
            raise ValueError("the event type is set by make()/empty(), not as a field")
        rec[name] = check_value(t, name, value)


def c_init_event(event_type):
    """Bytes of a slot started by the C event_init() (tests compare it with empty())."""
    cdef Event ev
    event_init(&ev, <uint16_t>EventType(event_type))
    return (<char*>&ev)[:EVENT_SIZE]


def c_set_fix_id(bytes ident):
    """The FIX_ID_LEN bytes C fix_id_set() writes for ident, or None when it refuses it."""
    cdef char field[FIX_ID_LEN]
    memset(field, 0x55, FIX_ID_LEN)
    if fix_id_set(field, ident, len(ident)) != 0:
        return None
    return field[:FIX_ID_LEN]
