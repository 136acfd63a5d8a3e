# Pre-trade risk: the C-level API of fxpipe.risk.engine, for the OMS stage's Cython code.
#
# check_intent() runs every check on one OrderIntent before it leaves and either accepts it
# (the order then counts as open, worst case, in every position and exposure check) or fills
# one RiskEvent with the check, the limit, the value and the intent. The engine follows the
# orders' lives (on_update), fills and marks (on_fill, on_mark: loss limits), operator
# commands (on_control: kill switch, cancel all, limit changes) and emits what those cause
# (RiskEvents, cancel intents) into its outbox. Time is event time only. Limits live in two
# scopes: global (index 0) and per strategy; INT64_MAX means "no limit".
cimport cython
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t

from fxpipe.includes.int128 cimport fx_int128
from fxpipe.model.events cimport Control, Event, Fill, OrderIntent, OrderUpdate, RiskEvent
from fxpipe.positions.book cimport MAX_CCY, PositionEngine, exposure_at, strategy_index_of

cdef enum:
    STORM_MAX = 64              # reject-storm windows hold at most this many rejects
    N_LIMITS = 18               # RiskLimit values 1..17 index Limits.v

cdef struct Limits:             # one scope's limits, indexed by RiskLimit
    int64_t v[N_LIMITS]

cdef struct Bucket:             # token bucket on event time; tokens in 1e-9 orders
    int64_t tokens
    int64_t ts_ns
    uint8_t started

cdef struct Scope:              # global (index 0) or one strategy
    Limits lim
    Bucket bucket
    int64_t open_orders
    int64_t storm_ts[STORM_MAX] # event times of the latest venue rejects (a ring)
    int32_t storm_n
    uint32_t strategy_id
    uint8_t killed              # global: the kill switch; strategy: stopped
    # worst-case gross exposure kept as it changes: the sum of the terms of gross_term_e4, and
    # how many of those terms lack a rate (a check then rejects NO_MARK)
    fx_int128 gross_e4
    int32_t gross_missing
    int32_t pe_sx1              # the positions engine's index of the strategy + 1; 0 until it has one

cdef struct OpenOrder:          # an order sent and not yet done, as counted worst case
    int64_t cl_ord_id
    int64_t leaves_e2
    int64_t px_e8               # its limit price, or the mid when it was sent (market)
    int32_t scope
    uint16_t instrument_id
    uint16_t venue_id
    uint8_t side
    uint8_t live                # 0: the record is free

@cython.final                   # no subclass: the checks' helper calls are direct, and inlined
cdef class RiskEngine:
    cdef readonly PositionEngine positions
    cdef int max_scopes
    cdef int n_scopes
    cdef int n_slots
    cdef int n_venues
    cdef Scope* scopes
    cdef int64_t* position_limit_e2     # [scope * n_slots + instrument]
    cdef int64_t* ccy_limit_e4          # [scope * MAX_CCY + ccy]
    cdef int64_t* venue_rate            # [venue]: orders per second, burst
    cdef int64_t* venue_burst
    cdef Bucket* venue_bucket
    cdef int64_t* open_buy_e2           # [(scope + 1) * n_slots + instrument]; row 0: desk
    cdef int64_t* open_sell_e2
    cdef fx_int128* open_long_e10       # [(scope + 1) * MAX_CCY + ccy]; row 0: desk
    cdef fx_int128* open_short_e10
    cdef int64_t* pip_e8                # [instrument]
    # gross exposure, kept per scope and instrument once a gross limit exists (so a check is
    # O(1)): each term is that instrument's larger worst-case side in the reporting currency,
    # exactly as a loop over every instrument would compute it at this moment
    cdef int64_t* gross_term_e4         # [scope * n_slots + instrument]
    cdef int64_t* gross_term_qty_e2     # [scope * n_slots + instrument]: the side it values
    cdef uint8_t* gross_term_missing    # [scope * n_slots + instrument]: 1 when it lacks a rate
    cdef bint gross_tracked
    cdef uint64_t gross_revision        # positions.revision the terms reflect
    cdef OpenOrder* orders
    cdef int32_t n_orders_cap
    cdef int32_t* order_table           # cl_ord_id -> order index + 1; -1 tombstone
    cdef int32_t order_table_mask
    cdef int32_t order_table_used
    cdef int32_t free_order
    cdef readonly int64_t now_ns
    cdef readonly int64_t checks
    cdef readonly int64_t rejects
    cdef Event* outbox
    cdef readonly int n_out
    cdef int out_cap
    cdef object _refdata

    # events in (each clears the outbox, then adds what it causes)
    cdef int check_intent(self, const OrderIntent* it, RiskEvent* out) noexcept nogil  # 0 or RiskCheck
    cdef int on_update(self, const OrderUpdate* u) noexcept nogil
    cdef int on_fill(self, const Fill* f) noexcept nogil           # after positions applied it
    cdef int on_mark(self, int instrument_id, int64_t ts_ns) noexcept nogil
    cdef int on_control(self, const Control* c) noexcept nogil
    # lookups
    cdef int scope_of(self, uint32_t strategy_id) noexcept nogil  # -1 when unknown
    cdef int set_limit(self, int scope, int limit_id, int instrument_id, int ccy, int venue_id,
                       int64_t value, int64_t* old) noexcept nogil

    # internals
    cdef int _scope_add(self, uint32_t strategy_id) noexcept nogil
    cdef int64_t _limit(self, int scope, int limit_id) noexcept nogil
    cdef bint _take_token(self, Bucket* b, int64_t rate, int64_t burst, bint take) noexcept nogil
    cdef bint _refill(self, Bucket* b, int64_t rate, int64_t burst) noexcept nogil
    cdef int64_t _net(self, int sx, int instr) noexcept nogil
    cdef int _gross_term(self, int scope, int sx, int instr, int64_t add_buy, int64_t add_sell,
                         int64_t* out) noexcept nogil
    cdef void _gross_refresh(self, int scope, int sx, int instr) noexcept nogil
    cdef void _gross_refresh_scope(self, int scope) noexcept nogil
    cdef int64_t _gross_side(self, int scope, int sx, int instr) noexcept nogil
    cdef inline void _gross_sync(self) noexcept nogil
    cdef void _gross_catch_up(self) noexcept nogil
    cdef void _gross_track(self) noexcept nogil
    cdef int _sx_of(self, int scope) noexcept nogil
    cdef int _find_order(self, int64_t cl_ord_id) noexcept nogil
    cdef int _add_order(self, int64_t cl_ord_id, int scope, const OrderIntent* it, int64_t px) noexcept nogil
    cdef void _order_leaves(self, int ox, int64_t leaves) noexcept nogil
    cdef void _drop_order(self, int ox) noexcept nogil
    cdef Event* _emit(self) noexcept nogil
    cdef int _reject(self, const OrderIntent* it, RiskEvent* out, int check, int limit_id, int scope,
                     int64_t observed, int64_t limit, int scale) noexcept nogil
    cdef void _risk_event(self, RiskEvent* r, int check, int action, int scope, int64_t observed,
                          int64_t limit, int scale) noexcept nogil
    cdef void _kill(self, int scope, int check, int64_t observed, int64_t limit, int scale,
                    int64_t cause_seq) noexcept nogil
    cdef void _cancel_all(self, int scope, int64_t cause_seq) noexcept nogil
    cdef int _check_loss(self, int scope, int64_t cause_seq) noexcept nogil
    cdef int _reject_storm(self, int scope, int64_t ts, int64_t cause_seq) noexcept nogil
