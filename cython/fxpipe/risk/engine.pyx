"""Pre-trade risk: every order intent checked before it leaves, at C speed, on event time.

Checks, in this order (the first that fails rejects the intent with one RiskEvent carrying the
check, the limit, the observed value and the intent): kill switch (global, or the strategy
stopped); a malformed intent; stale mark (no order on a quote older than N ms of event time);
price collar around the mid (bps of the mid and/or pips); order quantity; order notional in the
reporting currency; net position per instrument, worst case (fills plus every open order on
the same side plus this one); exposure per currency, worst case; gross exposure in the
reporting currency; open orders; order-rate token buckets per strategy, for the desk and per
venue. Per-order thresholds take the stricter of the strategy's limit and the global one;
aggregates are checked for the strategy against its own limit and for the desk against the
global one. Only the direction the order pushes is checked, so an order that reduces a breach
passes. Cancels always pass: they only take risk off.

The kill switch blocks every new order or replace and cancels everything open; an operator
sets it (Control), or it trips itself on a loss limit (realized + unrealized - commissions in
the reporting currency), a reject storm (N venue rejects within a window of event time) or an
overfill. Limits change live through Control events, each change answered by a RiskEvent so the
journal holds it and replay repeats it.
"""
import hashlib
import struct

from libc.stdint cimport INT64_MAX, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, memset

from fxpipe.includes.int128 cimport fx_int128
from fxpipe.model.events cimport (
    CMD_CANCEL_ALL, CMD_KILL_SWITCH_OFF, CMD_KILL_SWITCH_ON, CMD_SET_LIMIT, CCY_LEN,
    CXL_REJ_TO_REPLACE, EVT_ORDER_INTENT, EVT_RISK, EXEC_TYPE_REJECTED, EXEC_TYPE_REPLACE,
    FLAG_SYNTHETIC, INTENT_CANCEL, INTENT_NEW, INTENT_REPLACE, LIMIT_KILL_ON_OVERFILL, LIMIT_LAST,
    LIMIT_MAX_CCY_EXPOSURE, LIMIT_MAX_GROSS_EXPOSURE, LIMIT_MAX_LOSS, LIMIT_MAX_OPEN_ORDERS,
    LIMIT_MAX_ORDER_NOTIONAL, LIMIT_MAX_ORDER_QTY, LIMIT_MAX_POSITION, LIMIT_ORDER_BURST,
    LIMIT_ORDER_RATE, LIMIT_PRICE_COLLAR_BPS, LIMIT_PRICE_COLLAR_PIPS, LIMIT_REJECT_STORM_COUNT,
    LIMIT_REJECT_STORM_WINDOW_MS, LIMIT_STALE_QUOTE_MS, LIMIT_VENUE_ORDER_BURST,
    LIMIT_VENUE_ORDER_RATE, MARK_MISSING, MARK_OK, ORD_STATUS_CANCELED, ORD_STATUS_DONE_FOR_DAY,
    ORD_STATUS_EXPIRED, ORD_STATUS_FILLED, ORD_STATUS_REJECTED, ORD_STATUS_REPLACED,
    ORD_TYPE_LIMIT, ORD_TYPE_MARKET, REPORT_CANCEL_REJECT, RISK_ALARM, RISK_BAD_INTENT,
    RISK_CHANGE_REFUSED, RISK_CURRENCY_LIMIT, RISK_GROSS_EXPOSURE, RISK_KILL_SWITCH,
    RISK_KILL_SWITCH_OFF, RISK_KILL_SWITCH_ON, RISK_LIMIT_CHANGED, RISK_LIMIT_SET,
    RISK_LOSS_LIMIT, RISK_MAX_OPEN_ORDERS, RISK_MAX_ORDER_NOTIONAL, RISK_MAX_ORDER_QTY,
    RISK_NO_MARK, RISK_ORDER_RATE, RISK_OVERFILL, RISK_POSITION_LIMIT, RISK_PRICE_COLLAR,
    RISK_REJECT_ORDER, RISK_REJECT_STORM, RISK_STALE_QUOTE, RISK_STRATEGY_RESUMED,
    RISK_STRATEGY_STOPPED, SIDE_BUY, SIDE_SELL, Control, Event, Fill, OrderIntent, OrderUpdate,
    RiskEvent, event_init,
)
from fxpipe.model.numbers cimport NUM_OK
from fxpipe.positions.book cimport DESK, MAX_CCY, Conversion, PositionEngine, convert_e4
from fxpipe.positions.wide cimport e10_to_e4, mul_div_even

import numpy as np

from fxpipe.model import events as ev

cdef int64_t NO_LIMIT = INT64_MAX
cdef int64_t TOKEN = 1000000000          # one order in the bucket's units (1e-9 orders)
cdef int64_t E10_PER_E4 = 1000000
cdef int64_t PRICE_ONE = 100000000


cdef inline int64_t _abs(int64_t v) noexcept nogil:
    return -v if v < 0 else v


cdef inline int64_t _intent_time(const OrderIntent* it) noexcept nogil:
    if it.hdr.ts_decide_ns:
        return it.hdr.ts_decide_ns
    return it.hdr.ts_receive_ns if it.hdr.ts_receive_ns else it.hdr.ts_venue_ns


cdef class RiskEngine:

    def __init__(self, PositionEngine positions, refdata, int max_strategies=64):
        """positions: the PositionEngine this engine reads fills, marks and PnL from."""
        self.positions = positions
        self.max_scopes = max_strategies + 1
        self.n_scopes = 1
        self.n_slots = positions.n_slots
        self.n_venues = max([v.id for v in refdata.venues.values()], default=0) + 1
        self.scopes = <Scope*>malloc(self.max_scopes * sizeof(Scope))
        self.position_limit_e2 = <int64_t*>malloc(self.max_scopes * self.n_slots * sizeof(int64_t))
        self.ccy_limit_e4 = <int64_t*>malloc(self.max_scopes * MAX_CCY * sizeof(int64_t))
        self.venue_rate = <int64_t*>malloc(2 * self.n_venues * sizeof(int64_t))
        self.venue_bucket = <Bucket*>malloc(self.n_venues * sizeof(Bucket))
        self.open_buy_e2 = <int64_t*>malloc(2 * (self.max_scopes + 1) * self.n_slots * sizeof(int64_t))
        self.open_long_e10 = <fx_int128*>malloc(2 * (self.max_scopes + 1) * MAX_CCY * sizeof(fx_int128))
        self.pip_e8 = <int64_t*>malloc(self.n_slots * sizeof(int64_t))
        self.gross_term_e4 = <int64_t*>malloc(2 * self.max_scopes * self.n_slots * sizeof(int64_t))
        self.gross_term_missing = <uint8_t*>malloc(self.max_scopes * self.n_slots)
        self.n_orders_cap = 256
        self.orders = <OpenOrder*>malloc(self.n_orders_cap * sizeof(OpenOrder))
        self.order_table_mask = 1023
        self.order_table = <int32_t*>malloc(1024 * sizeof(int32_t))
        self.out_cap = 64
        self.outbox = <Event*>malloc(self.out_cap * sizeof(Event))
        if (self.scopes == NULL or self.position_limit_e2 == NULL or self.ccy_limit_e4 == NULL
                or self.venue_rate == NULL or self.venue_bucket == NULL or self.open_buy_e2 == NULL
                or self.open_long_e10 == NULL or self.pip_e8 == NULL or self.orders == NULL
                or self.gross_term_e4 == NULL or self.gross_term_missing == NULL
                or self.order_table == NULL or self.outbox == NULL):
            raise MemoryError()
        self.venue_burst = self.venue_rate + self.n_venues
        self.open_sell_e2 = self.open_buy_e2 + (self.max_scopes + 1) * self.n_slots
        self.open_short_e10 = self.open_long_e10 + (self.max_scopes + 1) * MAX_CCY
        memset(self.scopes, 0, self.max_scopes * sizeof(Scope))
        cdef int s, k
        for s in range(self.max_scopes):
            for k in range(N_LIMITS):
                self.scopes[s].lim.v[k] = NO_LIMIT
        for k in range(self.max_scopes * self.n_slots):
            self.position_limit_e2[k] = NO_LIMIT
        for k in range(self.max_scopes * MAX_CCY):
            self.ccy_limit_e4[k] = NO_LIMIT
        for k in range(2 * self.n_venues):
            self.venue_rate[k] = NO_LIMIT
        memset(self.venue_bucket, 0, self.n_venues * sizeof(Bucket))
        memset(self.open_buy_e2, 0, 2 * (self.max_scopes + 1) * self.n_slots * sizeof(int64_t))
        memset(self.open_long_e10, 0, 2 * (self.max_scopes + 1) * MAX_CCY * sizeof(fx_int128))
        memset(self.pip_e8, 0, self.n_slots * sizeof(int64_t))
        memset(self.gross_term_e4, 0, 2 * self.max_scopes * self.n_slots * sizeof(int64_t))
        self.gross_term_qty_e2 = self.gross_term_e4 + self.max_scopes * self.n_slots
        memset(self.gross_term_missing, 0, self.max_scopes * self.n_slots)
        self.gross_tracked = False
        self.gross_revision = 0
        for i in refdata.instruments.values():
            self.pip_e8[i.id] = i.pip_size_e8
        memset(self.orders, 0, self.n_orders_cap * sizeof(OpenOrder))
        memset(self.order_table, 0, 1024 * sizeof(int32_t))
        self.free_order = 0
        self.order_table_used = 0
        self.scopes[0].lim.v[LIMIT_KILL_ON_OVERFILL] = 1
        self._refdata = refdata

    def __dealloc__(self):
        free(self.scopes)
        free(self.position_limit_e2)
        free(self.ccy_limit_e4)
        free(self.venue_rate)
        free(self.venue_bucket)
        free(self.open_buy_e2)
        free(self.open_long_e10)
        free(self.pip_e8)
        free(self.gross_term_e4)
        free(self.gross_term_missing)
        free(self.orders)
        free(self.order_table)
        free(self.outbox)

    # ------------------------------------------------------------------ scopes and limits

    cdef int scope_of(self, uint32_t strategy_id) noexcept nogil:
        cdef int s
        if strategy_id == 0:
            return 0
        for s in range(1, self.n_scopes):     # strategies per desk are few: a scan is fastest
            if self.scopes[s].strategy_id == strategy_id:
                return s
        return -1

    cdef int _scope_add(self, uint32_t strategy_id) noexcept nogil:
        cdef int s = self.scope_of(strategy_id)
        if s >= 0:
            return s
        if self.n_scopes >= self.max_scopes:
            return -1
        s = self.n_scopes
        self.n_scopes += 1
        self.scopes[s].strategy_id = strategy_id
        if self.gross_tracked:          # the strategy may hold positions from before
            self._gross_refresh_scope(s)
        return s

    cdef int64_t _limit(self, int scope, int limit_id) noexcept nogil:
        """The stricter of the strategy's and the global limit (per-order thresholds)."""
        cdef int64_t a = self.scopes[scope].lim.v[limit_id], g = self.scopes[0].lim.v[limit_id]
        return a if a < g else g

    cdef int set_limit(self, int scope, int limit_id, int instrument_id, int ccy, int venue_id,
                       int64_t value, int64_t* old) noexcept nogil:
        """0, or -1 when the change is not valid (nothing changed)."""
        cdef int64_t* slot
        if scope < 0 or scope >= self.n_scopes or limit_id < 1 or limit_id > LIMIT_LAST:
            return -1
        if value < 0:
            value = NO_LIMIT
        if limit_id == LIMIT_REJECT_STORM_COUNT and value != NO_LIMIT and not 1 <= value <= STORM_MAX:
            return -1
        if limit_id == LIMIT_KILL_ON_OVERFILL and value != 0 and value != 1:
            return -1
        if (limit_id == LIMIT_ORDER_RATE or limit_id == LIMIT_VENUE_ORDER_RATE or limit_id == LIMIT_ORDER_BURST
                or limit_id == LIMIT_VENUE_ORDER_BURST or limit_id == LIMIT_REJECT_STORM_WINDOW_MS) and value == 0:
            return -1
        if limit_id == LIMIT_VENUE_ORDER_RATE or limit_id == LIMIT_VENUE_ORDER_BURST:
            if scope != 0 or venue_id <= 0 or venue_id >= self.n_venues:
                return -1
            slot = &self.venue_rate[venue_id] if limit_id == LIMIT_VENUE_ORDER_RATE else &self.venue_burst[venue_id]
        elif limit_id == LIMIT_MAX_CCY_EXPOSURE:
            if ccy < 0 or ccy >= MAX_CCY:
                return -1
            slot = &self.ccy_limit_e4[scope * MAX_CCY + ccy]
        elif limit_id == LIMIT_MAX_POSITION and instrument_id != 0:
            if instrument_id < 0 or instrument_id >= self.n_slots or self.pip_e8[instrument_id] == 0:
                return -1
            slot = &self.position_limit_e2[scope * self.n_slots + instrument_id]
        else:
            slot = &self.scopes[scope].lim.v[limit_id]
        old[0] = slot[0]
        slot[0] = value
        if limit_id == LIMIT_MAX_GROSS_EXPOSURE and value != NO_LIMIT and not self.gross_tracked:
            self._gross_track()
        return 0

    cdef void _gross_track(self) noexcept nogil:
        """From now on keep every scope's gross exposure as positions, open orders and marks
        change (done once, when a gross limit first appears)."""
        cdef int s
        self.gross_tracked = True
        self.gross_revision = self.positions.revision
        for s in range(self.n_scopes):
            self._gross_refresh_scope(s)

    # ------------------------------------------------------------------ open orders

    cdef int _find_order(self, int64_t cl_ord_id) noexcept nogil:
        cdef uint64_t h = <uint64_t>cl_ord_id * (<uint64_t>0x9E3779B97F4A7C15ULL)
        cdef int slot = <int>((h >> 32) & self.order_table_mask)
        cdef int32_t e
        while True:
            e = self.order_table[slot]
            if e == 0:
                return -1
            if e > 0 and self.orders[e - 1].cl_ord_id == cl_ord_id:
                return e - 1
            slot = (slot + 1) & self.order_table_mask

    cdef int _add_order(self, int64_t cl_ord_id, int scope, const OrderIntent* it, int64_t px) noexcept nogil:
        cdef int ox, i, slot, size
        cdef OpenOrder* grown
        cdef int32_t* table
        cdef uint64_t h
        while self.free_order < self.n_orders_cap and self.orders[self.free_order].live:
            self.free_order += 1
        if self.free_order >= self.n_orders_cap:
            grown = <OpenOrder*>realloc(self.orders, 2 * self.n_orders_cap * sizeof(OpenOrder))
            if grown == NULL:
                return -1
            memset(grown + self.n_orders_cap, 0, self.n_orders_cap * sizeof(OpenOrder))
            self.orders = grown
            self.n_orders_cap *= 2
        if 2 * (self.order_table_used + 1) > self.order_table_mask:
            size = self.order_table_mask + 1
            if 4 * (self.n_orders_cap) > size:
                size *= 2
            table = <int32_t*>malloc(size * sizeof(int32_t))
            if table == NULL:
                return -1
            memset(table, 0, size * sizeof(int32_t))
            free(self.order_table)
            self.order_table = table
            self.order_table_mask = size - 1
            self.order_table_used = 0
            for i in range(self.n_orders_cap):
                if self.orders[i].live:
                    h = <uint64_t>self.orders[i].cl_ord_id * (<uint64_t>0x9E3779B97F4A7C15ULL)
                    slot = <int>((h >> 32) & self.order_table_mask)
                    while self.order_table[slot] != 0:
                        slot = (slot + 1) & self.order_table_mask
                    self.order_table[slot] = i + 1
                    self.order_table_used += 1
        ox = self.free_order
        self.free_order += 1
        self.orders[ox].cl_ord_id = cl_ord_id
        self.orders[ox].leaves_e2 = 0
        self.orders[ox].px_e8 = px
        self.orders[ox].scope = scope
        self.orders[ox].instrument_id = it.hdr.instrument_id
        self.orders[ox].venue_id = it.hdr.venue_id
        self.orders[ox].side = it.side
        self.orders[ox].live = 1
        h = <uint64_t>cl_ord_id * (<uint64_t>0x9E3779B97F4A7C15ULL)
        slot = <int>((h >> 32) & self.order_table_mask)
        while self.order_table[slot] > 0:
            slot = (slot + 1) & self.order_table_mask
        if self.order_table[slot] == 0:
            self.order_table_used += 1
        self.order_table[slot] = ox + 1
        self.scopes[scope].open_orders += 1
        if scope != 0:
            self.scopes[0].open_orders += 1
        self._order_leaves(ox, it.qty_e2)
        return ox

    cdef void _order_leaves(self, int ox, int64_t leaves) noexcept nogil:
        """Moves an open order's worst-case counts from its old leaves to `leaves`."""
        cdef OpenOrder* o = &self.orders[ox]
        cdef int64_t d = leaves - o.leaves_e2
        cdef int instr = o.instrument_id, row, k
        cdef int base = self.positions.base_ccy[instr], quote = self.positions.quote_ccy[instr]
        cdef fx_int128 base_e10 = <fx_int128>d * PRICE_ONE, quote_e10 = <fx_int128>d * o.px_e8
        if d == 0:
            return
        o.leaves_e2 = leaves
        for k in range(2):
            row = 0 if k == 0 else o.scope + 1
            if k == 1 and o.scope == 0:
                break
            if o.side == SIDE_BUY:
                self.open_buy_e2[row * self.n_slots + instr] += d
                self.open_long_e10[row * MAX_CCY + base] += base_e10
                self.open_short_e10[row * MAX_CCY + quote] += quote_e10
            else:
                self.open_sell_e2[row * self.n_slots + instr] += d
                self.open_short_e10[row * MAX_CCY + base] += base_e10
                self.open_long_e10[row * MAX_CCY + quote] += quote_e10
        if self.gross_tracked:
            self._gross_refresh(0, DESK, instr)
            if o.scope != 0:
                self._gross_refresh(o.scope, self._sx_of(o.scope), instr)

    cdef void _drop_order(self, int ox) noexcept nogil:
        cdef OpenOrder* o = &self.orders[ox]
        cdef uint64_t h = <uint64_t>o.cl_ord_id * (<uint64_t>0x9E3779B97F4A7C15ULL)
        cdef int slot = <int>((h >> 32) & self.order_table_mask)
        self._order_leaves(ox, 0)
        while self.order_table[slot] != ox + 1:
            slot = (slot + 1) & self.order_table_mask
        self.order_table[slot] = -1
        self.scopes[o.scope].open_orders -= 1
        if o.scope != 0:
            self.scopes[0].open_orders -= 1
        o.live = 0
        if ox < self.free_order:
            self.free_order = ox

    # ------------------------------------------------------------------ outbox

    cdef Event* _emit(self) noexcept nogil:
        cdef Event* grown
        if self.n_out == self.out_cap:
            grown = <Event*>realloc(self.outbox, 2 * self.out_cap * sizeof(Event))
            if grown == NULL:
                return NULL
            self.outbox = grown
            self.out_cap *= 2
        self.n_out += 1
        return &self.outbox[self.n_out - 1]

    cdef void _risk_event(self, RiskEvent* r, int check, int action, int scope, int64_t observed,
                          int64_t limit, int scale) noexcept nogil:
        event_init(r, EVT_RISK)
        r.check = check
        r.action = action
        r.strategy_id = self.scopes[scope].strategy_id
        r.observed = observed
        r.limit = limit
        r.value_scale = scale
        r.hdr.ts_risk_ns = self.now_ns

    cdef void _kill(self, int scope, int check, int64_t observed, int64_t limit, int scale,
                    int64_t cause_seq) noexcept nogil:
        cdef Event* e
        if self.scopes[scope].killed:
            return
        self.scopes[scope].killed = 1
        e = self._emit()
        if e != NULL:
            self._risk_event(&e.risk, check, RISK_KILL_SWITCH_ON if scope == 0 else RISK_STRATEGY_STOPPED,
                             scope, observed, limit, scale)
            e.risk.cause_seq = cause_seq
        self._cancel_all(scope, cause_seq)

    cdef void _cancel_all(self, int scope, int64_t cause_seq) noexcept nogil:
        """A cancel intent for every open order of the scope (all of them for global), in
        cl_ord_id order; the oms gives each its own ClOrdID (cl_ord_id 0 here)."""
        cdef int i, first = self.n_out, j
        cdef Event* e
        cdef OpenOrder* o
        cdef Event tmp
        for i in range(self.n_orders_cap):
            o = &self.orders[i]
            if not o.live or (scope != 0 and o.scope != scope):
                continue
            e = self._emit()
            if e == NULL:
                return
            event_init(e, EVT_ORDER_INTENT)
            e.hdr.flags = FLAG_SYNTHETIC
            e.hdr.instrument_id = o.instrument_id
            e.hdr.venue_id = o.venue_id
            e.hdr.ts_risk_ns = self.now_ns
            e.intent.action = INTENT_CANCEL
            e.intent.orig_cl_ord_id = o.cl_ord_id
            e.intent.side = o.side
            e.intent.qty_e2 = o.leaves_e2
            e.intent.price_e8 = o.px_e8
            e.intent.strategy_id = self.scopes[o.scope].strategy_id
            e.intent.trigger_seq = cause_seq
        for i in range(first + 1, self.n_out):   # insertion sort: slot order is not id order
            tmp = self.outbox[i]
            j = i - 1
            while j >= first and self.outbox[j].intent.orig_cl_ord_id > tmp.intent.orig_cl_ord_id:
                self.outbox[j + 1] = self.outbox[j]
                j -= 1
            self.outbox[j + 1] = tmp

    # ------------------------------------------------------------------ the checks

    cdef bint _take_token(self, Bucket* b, int64_t rate, int64_t burst, bint take) noexcept nogil:
        if not self._refill(b, rate, burst):
            return True
        if b.tokens < TOKEN:
            return False
        if take:
            b.tokens -= TOKEN
        return True

    cdef int64_t _net(self, int sx, int instr) noexcept nogil:
        """Net position of a positions-engine strategy index, DESK, or -2 (no fills yet)."""
        if sx == DESK:
            return self.positions.instr_net_e2[instr]
        if sx < 0:
            return 0
        return self.positions.books[sx * self.n_slots + instr].net_qty_e2

    cdef int _sx_of(self, int scope) noexcept nogil:
        """The positions engine's index of a scope's strategy: DESK for the global scope, -2
        when the strategy has no fills yet."""
        cdef int sx
        if scope == 0:
            return DESK
        if self.scopes[scope].pe_sx1:     # an index, once given, never changes
            return self.scopes[scope].pe_sx1 - 1
        sx = strategy_index_of(self.positions, self.scopes[scope].strategy_id)
        if sx < 0:
            return -2
        self.scopes[scope].pe_sx1 = sx + 1
        return sx

    # ------------------------------------------------------------------ gross exposure, kept

    cdef int _gross_term(self, int scope, int sx, int instr, int64_t add_buy, int64_t add_sell,
                         int64_t* out) noexcept nogil:
        """One instrument's part of a scope's gross exposure: the larger worst-case side (net,
        plus every open order of that side, plus add_buy / add_sell) in the reporting currency,
        rounded once as convert() does; MARK_OK or why there is no value (out 0). A side equal
        to the kept term's is that term (same side, same mids): no conversion."""
        cdef int i = (0 if scope == 0 else scope + 1) * self.n_slots + instr, t = scope * self.n_slots + instr
        cdef int64_t n = self._net(sx, instr)
        cdef int64_t wc = max(_abs(n + self.open_buy_e2[i] + add_buy), _abs(n - self.open_sell_e2[i] - add_sell))
        if wc == 0:
            out[0] = 0
            return MARK_OK
        if wc == self.gross_term_qty_e2[t] and (add_buy != 0 or add_sell != 0):
            out[0] = self.gross_term_e4[t]
            return MARK_MISSING if self.gross_term_missing[t] else MARK_OK
        return convert_e4(self.positions, self.positions.base_ccy[instr], wc * 100, out)

    cdef void _gross_refresh(self, int scope, int sx, int instr) noexcept nogil:
        """A scope's term for one instrument again from the state now, and its sum with it."""
        cdef int t = scope * self.n_slots + instr
        cdef int64_t v
        cdef uint8_t missing
        cdef Scope* s = &self.scopes[scope]
        if self.pip_e8[instr] == 0:
            return
        missing = self._gross_term(scope, sx, instr, 0, 0, &v) != MARK_OK
        self.gross_term_qty_e2[t] = self._gross_side(scope, sx, instr)
        s.gross_e4 += <fx_int128>v - self.gross_term_e4[t]
        s.gross_missing += <int32_t>missing - <int32_t>self.gross_term_missing[t]
        self.gross_term_e4[t] = v
        self.gross_term_missing[t] = missing

    cdef int64_t _gross_side(self, int scope, int sx, int instr) noexcept nogil:
        cdef int i = (0 if scope == 0 else scope + 1) * self.n_slots + instr
        cdef int64_t n = self._net(sx, instr)
        return max(_abs(n + self.open_buy_e2[i]), _abs(n - self.open_sell_e2[i]))

    cdef void _gross_refresh_scope(self, int scope) noexcept nogil:
        cdef int c, sx = self._sx_of(scope)
        for c in range(1, self.n_slots):
            self._gross_refresh(scope, sx, c)

    cdef inline void _gross_sync(self) noexcept nogil:
        """Brings the kept gross exposure up to the positions engine (nothing to do on most
        checks: the test stays inline, the work does not)."""
        if self.gross_tracked and self.positions.revision != self.gross_revision:
            self._gross_catch_up()

    cdef void _gross_catch_up(self) noexcept nogil:
        """One changed book or mark costs the terms it touches; a reader further behind (fills
        applied without on_fill, say) recomputes every term. Either way each term is what a
        full loop would compute now."""
        cdef uint64_t rev = self.positions.revision
        cdef int ch, instr, s, c, k, ccy
        if rev == self.gross_revision + 1:
            ch = self.positions.last_change
            if ch >= 0:                           # one book: its strategy's term and the desk's
                instr = self.positions.books[ch].instrument
                self._gross_refresh(0, DESK, instr)
                s = self.scope_of(self.positions.strategy_id[self.positions.books[ch].strategy])
                if s > 0:
                    self._gross_refresh(s, self._sx_of(s), instr)
            else:                                 # one mark: every instrument valued through it
                instr = -1 - ch
                for c in range(1, self.n_slots):
                    if self.pip_e8[c] == 0:
                        continue
                    ccy = self.positions.base_ccy[c]
                    for k in range(self.positions.path[ccy].legs):
                        if self.positions.path[ccy].instrument[k] == instr:
                            for s in range(self.n_scopes):
                                self._gross_refresh(s, self._sx_of(s), c)
                            break
        else:
            for s in range(self.n_scopes):
                self._gross_refresh_scope(s)
        self.gross_revision = rev

    cdef bint _refill(self, Bucket* b, int64_t rate, int64_t burst) noexcept nogil:
        """Brings a bucket's tokens up to now; False when it has no rate (never limits)."""
        cdef int64_t cap, elapsed
        if rate == NO_LIMIT:
            return False
        if burst == NO_LIMIT:
            burst = rate
        cap = burst * TOKEN
        if not b.started:
            b.started = 1
            b.tokens = cap
            b.ts_ns = self.now_ns
        elif self.now_ns > b.ts_ns:
            elapsed = self.now_ns - b.ts_ns
            if elapsed > cap:        # a full bucket is reached long before: no overflow below
                b.tokens = cap
            else:
                b.tokens = min(cap, b.tokens + elapsed * rate)
            b.ts_ns = self.now_ns
        return True

    cdef int check_intent(self, const OrderIntent* it, RiskEvent* out) noexcept nogil:
        cdef int scope, instr = it.hdr.instrument_id, sx, rows[2], sxs[2], k, row, c, ccys[2], i
        cdef int64_t t = _intent_time(it), mid, px, lim, v, dev, q = it.qty_e2, wc, n, notional
        cdef fx_int128 flow[2], exp, w, gross
        cdef Conversion conv
        cdef int check = 0, limit_id = 0, scale = 0
        cdef int64_t observed = 0, limit = 0
        cdef bint buy = it.side == SIDE_BUY
        self.n_out = 0
        if t > self.now_ns:
            self.now_ns = t
        self.checks += 1
        scope = self._scope_add(it.strategy_id)
        if it.action == INTENT_CANCEL:
            return 0
        if scope < 0:
            check, observed, limit = RISK_BAD_INTENT, self.n_scopes, self.max_scopes - 1
        elif (it.action != INTENT_NEW and it.action != INTENT_REPLACE) or instr <= 0 \
                or instr >= self.n_slots or self.pip_e8[instr] == 0 \
                or (it.side != SIDE_BUY and it.side != SIDE_SELL) or q <= 0 \
                or (it.ord_type == ORD_TYPE_LIMIT and it.price_e8 <= 0) \
                or (it.ord_type != ORD_TYPE_LIMIT and it.ord_type != ORD_TYPE_MARKET):
            check = RISK_BAD_INTENT
        elif self.scopes[0].killed or self.scopes[scope].killed:
            check, observed, limit = RISK_KILL_SWITCH, 1, 0
        if check:
            return self._reject(it, out, check, 0, scope if scope > 0 else 0, observed, limit, 0)
        mid = self.positions.mid_e8[instr]
        px = it.price_e8 if it.ord_type == ORD_TYPE_LIMIT else mid
        # a stale or missing mark
        lim = self._limit(scope, LIMIT_STALE_QUOTE_MS)
        if lim != NO_LIMIT:
            if mid == 0:
                return self._reject(it, out, RISK_STALE_QUOTE, LIMIT_STALE_QUOTE_MS, scope, -1, lim * 1000000, 0)
            v = self.now_ns - self.positions.mark_ts_ns[instr]
            if v > lim * 1000000:
                return self._reject(it, out, RISK_STALE_QUOTE, LIMIT_STALE_QUOTE_MS, scope, v, lim * 1000000, 0)
        # price collar around the mid
        if it.ord_type == ORD_TYPE_LIMIT:
            lim = self._limit(scope, LIMIT_PRICE_COLLAR_BPS)
            v = self._limit(scope, LIMIT_PRICE_COLLAR_PIPS)
            if lim != NO_LIMIT or v != NO_LIMIT:
                if mid == 0:
                    return self._reject(it, out, RISK_NO_MARK, LIMIT_PRICE_COLLAR_BPS if lim != NO_LIMIT
                                        else LIMIT_PRICE_COLLAR_PIPS, scope, 0, 0, 8)
                dev = _abs(it.price_e8 - mid)
                if lim != NO_LIMIT and <fx_int128>dev * 10000 > <fx_int128>lim * mid:
                    return self._reject(it, out, RISK_PRICE_COLLAR, LIMIT_PRICE_COLLAR_BPS, scope, dev,
                                        <int64_t>((<fx_int128>lim * mid) // 10000), 8)
                if v != NO_LIMIT and <fx_int128>dev > <fx_int128>v * self.pip_e8[instr]:
                    return self._reject(it, out, RISK_PRICE_COLLAR, LIMIT_PRICE_COLLAR_PIPS, scope, dev,
                                        v * self.pip_e8[instr], 8)
        # order size
        lim = self._limit(scope, LIMIT_MAX_ORDER_QTY)
        if q > lim:
            return self._reject(it, out, RISK_MAX_ORDER_QTY, LIMIT_MAX_ORDER_QTY, scope, q, lim, 2)
        lim = self._limit(scope, LIMIT_MAX_ORDER_NOTIONAL)
        if lim != NO_LIMIT:
            if px == 0 or mul_div_even(px, q, E10_PER_E4, &notional) != NUM_OK \
                    or convert_e4(self.positions, self.positions.quote_ccy[instr], notional, &v) != MARK_OK:
                return self._reject(it, out, RISK_NO_MARK, LIMIT_MAX_ORDER_NOTIONAL, scope, 0, lim, 4)
            if v > lim:
                return self._reject(it, out, RISK_MAX_ORDER_NOTIONAL, LIMIT_MAX_ORDER_NOTIONAL, scope, v, lim, 4)
        # worst-case net position: the strategy against its limit, the desk against the global one
        rows[0] = scope
        rows[1] = 0
        # the positions engine's index of each row's strategy (-2: it has no fills yet), looked up once
        sxs[1] = DESK
        sxs[0] = self._sx_of(scope)
        for k in range(2):
            row = rows[k]
            if k == 1 or scope != 0:
                lim = self.position_limit_e2[row * self.n_slots + instr]
                if lim == NO_LIMIT:
                    lim = self.scopes[row].lim.v[LIMIT_MAX_POSITION]
                if lim != NO_LIMIT:
                    n = self._net(sxs[k], instr)
                    i = (0 if row == 0 else row + 1) * self.n_slots + instr
                    wc = n + self.open_buy_e2[i] + q if buy else n - self.open_sell_e2[i] - q
                    if _abs(wc) > lim:
                        return self._reject(it, out, RISK_POSITION_LIMIT, LIMIT_MAX_POSITION, row, _abs(wc), lim, 2)
        # worst-case exposure per currency (the base and the quote of the order)
        ccys[0] = self.positions.base_ccy[instr]
        ccys[1] = self.positions.quote_ccy[instr]
        flow[0] = <fx_int128>q * PRICE_ONE
        flow[1] = -(<fx_int128>q * px)
        if not buy:
            flow[0] = -flow[0]
            flow[1] = -flow[1]
        for k in range(2):
            row = rows[k]
            if k == 0 and scope == 0:
                continue
            sx = sxs[k]
            i = 0 if row == 0 else row + 1
            for c in range(2):
                lim = self.ccy_limit_e4[row * MAX_CCY + ccys[c]]
                if lim == NO_LIMIT:
                    continue
                exp = exposure_at(self.positions, sx, ccys[c]) if sx != -2 else 0
                if flow[c] > 0:
                    w = exp + self.open_long_e10[i * MAX_CCY + ccys[c]] + flow[c]
                else:
                    w = exp - self.open_short_e10[i * MAX_CCY + ccys[c]] + flow[c]
                if (w if w > 0 else -w) > <fx_int128>lim * E10_PER_E4:
                    e10_to_e4(w if w > 0 else -w, &v)
                    self._reject(it, out, RISK_CURRENCY_LIMIT, LIMIT_MAX_CCY_EXPOSURE, row, v, lim, 4)
                    memcpy(out.ccy, &self.positions.ccy_code[ccys[c]], CCY_LEN)
                    return RISK_CURRENCY_LIMIT
        # gross exposure: sum over instruments of the larger worst-case side, in the reporting
        # currency; the other instruments' terms are kept, only the order's own is valued here
        self._gross_sync()
        for k in range(2):
            row = rows[k]
            if k == 0 and scope == 0:
                continue
            lim = self.scopes[row].lim.v[LIMIT_MAX_GROSS_EXPOSURE]
            if lim == NO_LIMIT:
                continue
            i = row * self.n_slots + instr
            c = self._gross_term(row, sxs[k], instr, q if buy else 0, 0 if buy else q, &v) != MARK_OK
            if self.scopes[row].gross_missing - self.gross_term_missing[i] + c > 0:
                return self._reject(it, out, RISK_NO_MARK, LIMIT_MAX_GROSS_EXPOSURE, row, 0, lim, 4)
            gross = self.scopes[row].gross_e4 - self.gross_term_e4[i] + v
            if gross > lim:
                return self._reject(it, out, RISK_GROSS_EXPOSURE, LIMIT_MAX_GROSS_EXPOSURE, row,
                                    <int64_t>gross, lim, 4)
        # open orders (a replace is the same order)
        if it.action == INTENT_NEW:
            lim = self.scopes[scope].lim.v[LIMIT_MAX_OPEN_ORDERS]
            if scope != 0 and self.scopes[scope].open_orders + 1 > lim:
                return self._reject(it, out, RISK_MAX_OPEN_ORDERS, LIMIT_MAX_OPEN_ORDERS, scope,
                                    self.scopes[scope].open_orders + 1, lim, 0)
            lim = self.scopes[0].lim.v[LIMIT_MAX_OPEN_ORDERS]
            if self.scopes[0].open_orders + 1 > lim:
                return self._reject(it, out, RISK_MAX_OPEN_ORDERS, LIMIT_MAX_OPEN_ORDERS, 0,
                                    self.scopes[0].open_orders + 1, lim, 0)
        # order rate: every bucket must have a token before any is taken (each bucket is
        # refilled to now once; a refill is the same whether the check then passes or not)
        cdef Bucket* sb = &self.scopes[scope].bucket
        cdef Bucket* gb = &self.scopes[0].bucket
        cdef Bucket* vb = NULL
        cdef bint s_lim = scope != 0 and self._refill(sb, self.scopes[scope].lim.v[LIMIT_ORDER_RATE],
                                                      self.scopes[scope].lim.v[LIMIT_ORDER_BURST])
        if s_lim and sb.tokens < TOKEN:
            return self._reject(it, out, RISK_ORDER_RATE, LIMIT_ORDER_RATE, scope, sb.tokens, TOKEN, 9)
        cdef bint g_lim = self._refill(gb, self.scopes[0].lim.v[LIMIT_ORDER_RATE],
                                       self.scopes[0].lim.v[LIMIT_ORDER_BURST])
        if g_lim and gb.tokens < TOKEN:
            return self._reject(it, out, RISK_ORDER_RATE, LIMIT_ORDER_RATE, 0, gb.tokens, TOKEN, 9)
        cdef bint v_lim = False
        if it.hdr.venue_id > 0 and it.hdr.venue_id < self.n_venues:
            vb = &self.venue_bucket[it.hdr.venue_id]
            v_lim = self._refill(vb, self.venue_rate[it.hdr.venue_id], self.venue_burst[it.hdr.venue_id])
            if v_lim and vb.tokens < TOKEN:
                return self._reject(it, out, RISK_ORDER_RATE, LIMIT_VENUE_ORDER_RATE, scope, vb.tokens, TOKEN, 9)
        if s_lim:
            sb.tokens -= TOKEN
        if g_lim:
            gb.tokens -= TOKEN
        if v_lim:
            vb.tokens -= TOKEN
        # accepted: from now on it counts, worst case, until the venue says it is done
        if self._find_order(it.cl_ord_id) < 0:
            self._add_order(it.cl_ord_id, scope, it, px)
        return 0

    cdef int _reject(self, const OrderIntent* it, RiskEvent* out, int check, int limit_id, int scope,
                     int64_t observed, int64_t limit, int scale) noexcept nogil:
        self._risk_event(out, check, RISK_REJECT_ORDER, scope, observed, limit, scale)
        out.strategy_id = it.strategy_id
        out.hdr.instrument_id = it.hdr.instrument_id
        out.hdr.venue_id = it.hdr.venue_id
        out.hdr.ts_decide_ns = it.hdr.ts_decide_ns
        out.hdr.ts_receive_ns = it.hdr.ts_receive_ns
        out.cl_ord_id = it.cl_ord_id
        out.cause_seq = it.hdr.sequence
        out.order_qty_e2 = it.qty_e2
        out.order_price_e8 = it.price_e8
        out.side = it.side if (it.side == SIDE_BUY or it.side == SIDE_SELL) else 0
        out.limit_id = limit_id
        self.rejects += 1
        return check

    # ------------------------------------------------------------------ what happens after

    cdef int on_update(self, const OrderUpdate* u) noexcept nogil:
        cdef int ox, scope, st = u.ord_status
        cdef int64_t t = u.hdr.ts_receive_ns if u.hdr.ts_receive_ns else u.hdr.ts_venue_ns
        cdef Event* e
        self.n_out = 0
        self._gross_sync()
        if t > self.now_ns:
            self.now_ns = t
        ox = self._find_order(u.cl_ord_id)
        scope = self._scope_add(u.strategy_id)     # a report may be the first word of a strategy
        if u.report_kind == REPORT_CANCEL_REJECT:
            if u.cxl_rej_response_to == CXL_REJ_TO_REPLACE and ox >= 0:
                self._drop_order(ox)       # the replace died; the original order stands
            return self.n_out
        if u.exec_type == EXEC_TYPE_REJECTED or st == ORD_STATUS_REJECTED:
            if scope > 0:
                self._reject_storm(scope, self.now_ns, u.hdr.sequence)
            self._reject_storm(0, self.now_ns, u.hdr.sequence)
        if u.order_qty_e2 > 0 and u.cum_qty_e2 > u.order_qty_e2:
            e = self._emit()
            if e != NULL:
                self._risk_event(&e.risk, RISK_OVERFILL, RISK_ALARM, scope if scope > 0 else 0,
                                 u.cum_qty_e2, u.order_qty_e2, 2)
                e.risk.strategy_id = u.strategy_id
                e.risk.cl_ord_id = u.cl_ord_id
                e.risk.cause_seq = u.hdr.sequence
                e.risk.hdr.instrument_id = u.hdr.instrument_id
                e.risk.hdr.venue_id = u.hdr.venue_id
            if scope > 0:
                self._kill(scope, RISK_OVERFILL, u.cum_qty_e2, u.order_qty_e2, 2, u.hdr.sequence)
            if self.scopes[0].lim.v[LIMIT_KILL_ON_OVERFILL] == 1:
                self._kill(0, RISK_OVERFILL, u.cum_qty_e2, u.order_qty_e2, 2, u.hdr.sequence)
        if u.exec_type == EXEC_TYPE_REPLACE and u.orig_cl_ord_id != u.cl_ord_id:
            ox = self._find_order(u.orig_cl_ord_id)
            if ox >= 0:
                self._drop_order(ox)
            ox = self._find_order(u.cl_ord_id)
        if ox < 0:
            return self.n_out
        if st == ORD_STATUS_FILLED or st == ORD_STATUS_CANCELED or st == ORD_STATUS_REJECTED \
                or st == ORD_STATUS_EXPIRED or st == ORD_STATUS_DONE_FOR_DAY or st == ORD_STATUS_REPLACED:
            self._drop_order(ox)
        elif u.leaves_qty_e2 >= 0:
            self._order_leaves(ox, u.leaves_qty_e2)
        return self.n_out

    cdef int _reject_storm(self, int scope, int64_t ts, int64_t cause_seq) noexcept nogil:
        cdef Scope* s = &self.scopes[scope]
        cdef int64_t count = s.lim.v[LIMIT_REJECT_STORM_COUNT], window = s.lim.v[LIMIT_REJECT_STORM_WINDOW_MS]
        cdef int64_t oldest
        s.storm_ts[s.storm_n % STORM_MAX] = ts
        s.storm_n += 1
        if count == NO_LIMIT or window == NO_LIMIT or s.storm_n < count:
            return 0
        oldest = s.storm_ts[(s.storm_n - count) % STORM_MAX]
        if ts - oldest <= window * 1000000:
            self._kill(scope, RISK_REJECT_STORM, count, window, 0, cause_seq)
            return 1
        return 0

    cdef int on_fill(self, const Fill* f) noexcept nogil:
        cdef int scope
        cdef int64_t t = f.hdr.ts_receive_ns if f.hdr.ts_receive_ns else f.hdr.ts_venue_ns
        self.n_out = 0
        self._gross_sync()
        if t > self.now_ns:
            self.now_ns = t
        scope = self.scope_of(f.strategy_id)
        if scope > 0:
            self._check_loss(scope, f.hdr.sequence)
        self._check_loss(0, f.hdr.sequence)
        return self.n_out

    cdef int on_mark(self, int instrument_id, int64_t ts_ns) noexcept nogil:
        cdef int s
        self.n_out = 0
        self._gross_sync()
        if ts_ns > self.now_ns:
            self.now_ns = ts_ns
        for s in range(self.n_scopes):
            if self.scopes[s].lim.v[LIMIT_MAX_LOSS] != NO_LIMIT:
                self._check_loss(s, 0)
        return self.n_out

    cdef int _check_loss(self, int scope, int64_t cause_seq) noexcept nogil:
        cdef int64_t lim = self.scopes[scope].lim.v[LIMIT_MAX_LOSS], pnl
        cdef int sx
        if lim == NO_LIMIT or self.scopes[scope].killed:
            return 0
        sx = self._sx_of(scope)
        if sx == -2:
            return 0
        self.positions.total_pnl_rpt(sx, &pnl)
        if pnl < -lim:
            self._kill(scope, RISK_LOSS_LIMIT, -pnl, lim, 4, cause_seq)
            return 1
        return 0

    cdef int on_control(self, const Control* c) noexcept nogil:
        cdef int scope, ccy = -1, rc
        cdef int64_t old = 0, t = c.hdr.ts_receive_ns if c.hdr.ts_receive_ns else c.hdr.ts_venue_ns
        cdef Event* e
        self.n_out = 0
        if t > self.now_ns:
            self.now_ns = t
        scope = self._scope_add(c.strategy_id)
        if c.command == CMD_KILL_SWITCH_ON and scope >= 0:
            if not self.scopes[scope].killed:
                self._kill(scope, RISK_KILL_SWITCH, 1, 0, 0, c.hdr.sequence)
            else:
                self._cancel_all(scope, c.hdr.sequence)
        elif c.command == CMD_KILL_SWITCH_OFF and scope >= 0:
            if self.scopes[scope].killed:
                self.scopes[scope].killed = 0
                e = self._emit()
                if e != NULL:
                    self._risk_event(&e.risk, RISK_KILL_SWITCH, RISK_KILL_SWITCH_OFF if scope == 0
                                     else RISK_STRATEGY_RESUMED, scope, 0, 0, 0)
                    e.risk.cause_seq = c.hdr.sequence
        elif c.command == CMD_CANCEL_ALL and scope >= 0:
            self._cancel_all(scope, c.hdr.sequence)
        elif c.command == CMD_SET_LIMIT:
            if c.limit_ccy[0] != 0:
                ccy = self.positions.ccy_index(c.limit_ccy)
            rc = -1
            if scope >= 0 and not (c.limit_id == LIMIT_MAX_CCY_EXPOSURE and ccy < 0):
                rc = self.set_limit(scope, c.limit_id, c.hdr.instrument_id, ccy, c.hdr.venue_id, c.arg, &old)
            e = self._emit()
            if e != NULL:
                self._risk_event(&e.risk, RISK_LIMIT_CHANGED, RISK_LIMIT_SET if rc == 0 else RISK_CHANGE_REFUSED,
                                 scope if scope >= 0 else 0, old if rc == 0 else 0,
                                 (NO_LIMIT if c.arg < 0 else c.arg) if rc == 0 else c.arg, 0)
                e.risk.strategy_id = c.strategy_id
                e.risk.cause_seq = c.hdr.sequence
                e.risk.limit_id = c.limit_id if c.limit_id <= LIMIT_LAST else 0
                e.risk.hdr.instrument_id = c.hdr.instrument_id
                e.risk.hdr.venue_id = c.hdr.venue_id
                memcpy(e.risk.ccy, c.limit_ccy, CCY_LEN)
        return self.n_out

    # ------------------------------------------------------------------ Python view

    def check(self, intent):
        """Check one OrderIntent record: None when accepted, else the RiskEvent record."""
        cdef bytes raw = intent.tobytes()
        rec = ev.empty(ev.EventType.RISK, 1)
        cdef unsigned char[:] buf = rec.view(np.uint8)
        if len(raw) != sizeof(Event) or (<const Event*><const char*>raw).hdr.type != ev.EventType.ORDER_INTENT:
            raise ValueError("check() takes one ORDER_INTENT event record")
        if self.check_intent(&(<const Event*><const char*>raw).intent, <RiskEvent*>&buf[0]) == 0:
            return None
        return rec[0]

    def check_intents(self, intents, out):
        """The batch path: every OrderIntent of a contiguous array checked in order with the GIL
        released; out[i] (a RISK array of the same length) gets the reject of intent i, or stays
        as it was when it is accepted. Returns the number rejected."""
        arr = np.ascontiguousarray(intents)
        if arr.dtype != ev.dtype_for(ev.EventType.ORDER_INTENT):
            raise TypeError("check_intents takes an array of ORDER_INTENT events")
        if out.dtype != ev.dtype_for(ev.EventType.RISK) or out.shape[0] < arr.shape[0]:
            raise TypeError(f"out must be a RISK array of at least {arr.shape[0]} events")
        cdef const uint8_t[::1] src = arr.view(np.uint8).reshape(-1)
        cdef uint8_t[::1] dst = out.view(np.uint8).reshape(-1)
        cdef Py_ssize_t i, n = arr.shape[0]
        cdef int64_t rejected = 0
        if n == 0:
            return 0
        with nogil:
            for i in range(n):
                if self.check_intent(&(<const Event*>&src[i * sizeof(Event)]).intent,
                                     <RiskEvent*>&dst[i * sizeof(Event)]) != 0:
                    rejected += 1
        return rejected

    def apply(self, rec):
        """Feed an OrderUpdate, Fill (after the PositionEngine applied it), Quote (after the
        PositionEngine took its mark) or Control record; returns the events it caused."""
        cdef bytes raw = rec.tobytes()
        cdef const Event* e = <const Event*><const char*>raw
        if len(raw) != sizeof(Event):
            raise ValueError(f"an event is {sizeof(Event)} bytes, got {len(raw)}")
        t = e.hdr.type
        if t == ev.EventType.ORDER_UPDATE:
            self.on_update(&e.update)
        elif t == ev.EventType.FILL:
            self.on_fill(&e.fill)
        elif t == ev.EventType.QUOTE:
            self.on_mark(e.hdr.instrument_id, e.hdr.ts_receive_ns if e.hdr.ts_receive_ns else e.hdr.ts_venue_ns)
        elif t == ev.EventType.CONTROL:
            self.on_control(&e.control)
        else:
            raise ValueError(f"RiskEngine.apply takes ORDER_UPDATE, FILL, QUOTE or CONTROL, not "
                             f"{ev.EventType(t).name}")
        return self.outbox_records()

    def outbox_records(self):
        """The events the last call caused, as records of their own types."""
        raw = (<char*>self.outbox)[:self.n_out * sizeof(Event)] if self.n_out else b""
        # each record over its own copy of the slot: np.void.copy() would not keep the pad bytes
        return [ev.read(bytearray(raw[k * sizeof(Event):(k + 1) * sizeof(Event)])) for k in range(self.n_out)]

    def set(self, limit, value, strategy_id=0, instrument=None, ccy=None, venue=None):
        """Set one limit directly (configuration at start; live changes go through Control
        events). value at the limit's scale, or None to remove it. Returns the old value."""
        cdef int64_t old = 0
        scope = self._scope_add(strategy_id)
        if scope < 0:
            raise ValueError(f"strategy {strategy_id}: more strategies than max_strategies")
        instr = self._refdata.instrument(instrument).id if instrument is not None else 0
        c = -1
        if ccy is not None:
            c = self.positions.ccy_index(ccy.encode("ascii"))
            if c < 0:
                raise ValueError(f"currency {ccy!r} is not one the positions engine tracks")
        vid = self._refdata.venue(venue).id if venue is not None else 0
        lim = ev.RiskLimit(limit)
        if self.set_limit(scope, lim, instr, c, vid, -1 if value is None else value, &old) != 0:
            raise ValueError(f"{lim.name}={value!r} for strategy {strategy_id} is not a valid limit "
                             f"(instrument={instrument}, ccy={ccy}, venue={venue})")
        return None if old == NO_LIMIT else old

    def limit(self, limit, strategy_id=0, instrument=None, ccy=None, venue=None):
        """The limit now (None when none is set)."""
        scope = self.scope_of(strategy_id)
        if scope < 0:
            return None
        lim = ev.RiskLimit(limit)
        if lim in (ev.RiskLimit.VENUE_ORDER_RATE, ev.RiskLimit.VENUE_ORDER_BURST):
            vid = self._refdata.venue(venue).id
            v = self.venue_rate[vid] if lim == ev.RiskLimit.VENUE_ORDER_RATE else self.venue_burst[vid]
        elif lim == ev.RiskLimit.MAX_CCY_EXPOSURE:
            v = self.ccy_limit_e4[scope * MAX_CCY + self.positions.ccy_index(ccy.encode("ascii"))]
        elif lim == ev.RiskLimit.MAX_POSITION and instrument is not None:
            v = self.position_limit_e2[scope * self.n_slots + self._refdata.instrument(instrument).id]
        else:
            v = self.scopes[scope].lim.v[lim]
        return None if v == NO_LIMIT else v

    def gross_exposure(self, strategy_id=0):
        """(money_e4, currencies without a rate) of a scope's worst-case gross exposure now,
        without any new order: the figure the GROSS_EXPOSURE check starts from (strategy_id 0:
        the desk). Starts keeping it when no gross limit did yet."""
        scope = self.scope_of(strategy_id)
        if scope < 0:
            raise KeyError(f"strategy {strategy_id} is not known to the risk engine")
        if not self.gross_tracked:
            self._gross_track()
        self._gross_sync()
        return int(self.scopes[scope].gross_e4), int(self.scopes[scope].gross_missing)

    def killed(self, strategy_id=0):
        """Whether the kill switch is on (0: the global switch) or the strategy is stopped."""
        scope = self.scope_of(strategy_id)
        return scope >= 0 and bool(self.scopes[scope].killed)

    def open_orders(self, strategy_id=None):
        """{cl_ord_id: (instrument_id, side, leaves_e2, px_e8, strategy_id)} of open orders."""
        cdef OpenOrder* o
        out = {}
        for i in range(self.n_orders_cap):
            o = &self.orders[i]
            if o.live and (strategy_id is None or self.scopes[o.scope].strategy_id == strategy_id):
                out[o.cl_ord_id] = (o.instrument_id, o.side, o.leaves_e2, o.px_e8,
                                    self.scopes[o.scope].strategy_id)
        return dict(sorted(out.items()))

    def state_bytes(self):
        """A canonical image of the whole state (scopes by strategy id, orders by cl_ord_id)."""
        cdef Scope* s
        parts = [struct.pack("<qqq", self.now_ns, self.checks, self.rejects)]
        order = sorted(range(self.n_scopes), key=lambda k: (k != 0, self.scopes[k].strategy_id))
        for k in order:
            s = &self.scopes[k]
            parts.append(struct.pack("<IBqqqq", s.strategy_id, s.killed, s.open_orders, s.bucket.tokens,
                                     s.bucket.ts_ns, s.storm_n))
            parts.append(struct.pack(f"<{N_LIMITS}q", *[s.lim.v[j] for j in range(N_LIMITS)]))
            parts.append(struct.pack(f"<{STORM_MAX}q", *[s.storm_ts[j] for j in range(STORM_MAX)]))
            parts.append(struct.pack(f"<{self.n_slots}q", *[self.position_limit_e2[k * self.n_slots + j]
                                                             for j in range(self.n_slots)]))
            parts.append(struct.pack(f"<{MAX_CCY}q", *[self.ccy_limit_e4[k * MAX_CCY + j] for j in range(MAX_CCY)]))
        for v in range(self.n_venues):
            parts.append(struct.pack("<qqqq", self.venue_rate[v], self.venue_burst[v],
                                     self.venue_bucket[v].tokens, self.venue_bucket[v].ts_ns))
        for cl, o in self.open_orders().items():
            parts.append(struct.pack("<qHBqqI", cl, *o))
        return b"".join(parts)

    def state_hash(self):
        return hashlib.sha256(self.state_bytes()).digest()
