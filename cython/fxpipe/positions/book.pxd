# Positions and PnL: the C-level API of fxpipe.positions.book, for the OMS stage's Cython code.
#
# One PositionEngine holds every book (strategy x instrument), the per-currency exposure of every
# strategy with its value-date ladder, the marks, and the history of fills that busts and
# corrections refer to. Amounts that money depends on are exact: quantities qty_e2, prices
# price_e8, and products of the two at scale 1e-10 (_e10) in 128 bits; money leaves the engine
# as money_e4, rounded once, half to even. No Python object is touched on the fill, quote or
# query paths below (all nogil).
cimport cython
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t

from fxpipe.includes.int128 cimport fx_int128
from fxpipe.model.events cimport (
    CONV_MUL, FIX_ID_LEN, MARK_MISSING, MARK_OK, Fill, PnlEvent, PositionUpdate, Quote,
)
from fxpipe.model.numbers cimport NUM_OK
from fxpipe.positions.wide cimport mul_div_even

cdef enum:
    MAX_CCY = 32                # currencies one engine tracks (refdata's and commission ones)
    ACCOUNTING_AVERAGE = 1      # average cost (default)
    ACCOUNTING_FIFO = 2         # first in, first out, lot by lot
    DESK = -1                   # strategy index meaning "every strategy together"

cdef enum FillResult:           # what apply_fill did; < 0 is an error and nothing changed
    FILL_APPLIED = 0
    FILL_DUPLICATE = 1          # the (venue, ExecID) was applied before: ignored (idempotent)
    FILL_ERR_INSTRUMENT = -1    # instrument id not in the reference data
    FILL_ERR_SIDE = -2
    FILL_ERR_QTY = -3           # not > 0, or above MAX_FILL_QTY_E2
    FILL_ERR_PRICE = -4         # not > 0, or above MAX_PRICE_E8
    FILL_ERR_EXEC_ID = -5       # no ExecID (or a bust/correction without ExecRefID)
    FILL_ERR_UNKNOWN_REF = -6   # a bust/correction names an ExecID never applied
    FILL_ERR_TRANS_TYPE = -7    # ExecTransType other than NEW, CANCEL (bust), CORRECT
    FILL_ERR_STRATEGIES = -8    # more strategies than the engine was sized for
    FILL_ERR_CURRENCIES = -9    # more than MAX_CCY currencies
    FILL_ERR_RANGE = -10        # the position would exceed MAX_POSITION_E2
    FILL_ERR_SUPERSEDED = -11   # a bust/correction names an ExecID a correction replaced
    FILL_ERR_MEMORY = -12
    FILL_ERR_MISMATCH = -13     # a bust/correction for another instrument/strategy/side
    FILL_ERR_COMMISSION = -14   # a commission without its currency

cdef enum FillState:
    FILL_LIVE = 1
    FILL_BUSTED = 2
    FILL_SUPERSEDED = 3         # replaced by a correction (the correction's record follows it)
    FILL_MARKER = 4             # a bust's own ExecID, kept only so a duplicate bust is ignored

cdef struct ConvPath:           # how a currency converts to the reporting currency
    uint16_t instrument[2]      # the pair of each leg
    uint8_t op[2]               # ConvOp of each leg
    uint8_t legs                # 0 (it is the reporting currency), 1 or 2 (through USD)
    uint8_t status              # MARK_OK, or MARK_NO_PATH when the reference data has no route

cdef struct Conversion:         # one conversion done: the mids used and whether it could be done
    int64_t rate_e8[2]
    uint8_t status              # MarkStatus

cdef struct Lot:                # FIFO: an open lot, qty signed like the position
    int64_t qty_e2
    int64_t px_e8

cdef struct Book:               # one strategy's position in one instrument
    fx_int128 cost_e10          # signed cost of the open position (sum of qty * px still open)
    fx_int128 realized_e10      # quote currency
    fx_int128 turnover_e10      # quote currency, sum of |qty * px|
    int64_t net_qty_e2
    int64_t fill_count
    int32_t first_fill          # this book's fills in trade order (FillRecord.next), -1 if none
    int32_t last_fill
    Lot* lots                   # FIFO only: lots[lot_head .. lot_head + lot_count)
    int32_t lot_head
    int32_t lot_count
    int32_t lot_cap
    uint32_t comm_ccys          # bit c: the book has paid commission in currency c
    int32_t instrument          # bx % n_slots and bx // n_slots, kept: no division on the
    int32_t strategy            # PositionUpdate path

cdef struct FillRecord:         # a fill as applied; busts and corrections find it by ExecID
    char exec_id[FIX_ID_LEN]    # 96 bytes a record: the history of a session streams through memory
    int64_t qty_e2              # signed: a buy > 0
    int64_t px_e8
    int64_t commission_e4       # in comm_ccy
    int64_t seq                 # sequence of the Fill event
    int32_t book                # -1 for a marker
    int32_t next                # next record of the same book, -1 at the end
    int32_t comm_ccy            # currency index, -1 when no commission
    uint32_t settl_date         # value date yyyymmdd, 0 when the fill carried none
    uint16_t venue_id
    uint8_t state               # FillState

@cython.final                   # no subclass: calls inside the module are direct, and inlined
cdef class PositionEngine:
    cdef readonly int accounting
    cdef readonly int max_strategies
    cdef int n_slots                    # instrument ids 0 .. n_slots-1
    cdef int n_ccy
    cdef int rpt_ccy
    cdef int usd_ccy
    cdef int n_strategies
    cdef uint32_t last_strategy_id      # the strategy _strategy_add resolved last, and its index
    cdef int last_strategy_sx           # (-1 before the first): strategy indices never change
    cdef uint32_t ccy_code[MAX_CCY]     # three ASCII letters packed little-endian
    cdef ConvPath path[MAX_CCY]
    cdef int8_t* base_ccy               # per instrument id, -1 when unknown
    cdef int8_t* quote_ccy
    cdef int64_t* mid_e8                # per instrument id, 0 = no mark yet
    cdef int64_t* mark_ts_ns
    cdef int64_t* instr_net_e2          # every strategy together
    cdef uint32_t* strategy_id          # per strategy index
    cdef int32_t* strategy_table        # open addressing: strategy id -> index + 1
    cdef int strategy_table_mask
    cdef Book* books                    # [strategy index * n_slots + instrument id]
    cdef int64_t* book_comm_e4          # [book * MAX_CCY + ccy]
    cdef fx_int128* exposure_e10        # [strategy index * MAX_CCY + ccy]
    cdef fx_int128* desk_exposure_e10   # [ccy]
    cdef int64_t* commission_e4         # [strategy index * MAX_CCY + ccy]
    cdef FillRecord* fills
    cdef int32_t n_fills
    cdef int32_t fills_cap
    cdef uint64_t* exec_table           # open addressing: hash tag << 32 | (fill index + 1)
    cdef int32_t exec_table_mask
    cdef uint64_t* ladder_key           # value-date ladder: (strategy, ccy, date) -> amount
    cdef fx_int128* ladder_e10
    cdef int32_t n_ladder
    cdef int32_t ladder_cap
    cdef int32_t* ladder_table
    cdef int32_t* ladder_last           # [strategy * MAX_CCY + ccy]: the entry used last, -1 none
    cdef int32_t ladder_table_mask
    cdef uint64_t last_exec_hash        # of the ExecID _find_exec looked up last
    cdef readonly int last_book         # the book the last applied fill touched
    # Bumped by every applied fill and every moved mark, so a reader that keeps figures derived
    # from positions and marks (risk's gross exposure) knows when, and by how much, it is behind;
    # last_change says what the latest bump changed: a book (>= 0) or a mark (-1 - instrument).
    cdef readonly uint64_t revision
    cdef readonly int last_change
    cdef readonly int64_t fills_applied
    cdef uint64_t exec_hash_mask        # all ones; fewer bits only to test the collision path
    cdef int32_t exec_free_slot         # the empty slot _find_exec ended on, -1 when unknown
    cdef object _refdata
    cdef dict _symbols
    cdef dict _paths

    # events in
    cdef int apply_fill(self, const Fill* f, int64_t seq) noexcept nogil
    cdef int apply_quote(self, const Quote* q) noexcept nogil          # 1: the mark moved
    # lookups
    cdef int strategy_index(self, uint32_t strategy_id) noexcept nogil   # -1 if never seen
    cdef int ccy_index(self, const char* code) noexcept nogil      # -1 if unknown
    # queries (sx: strategy index, or DESK)
    cdef int64_t position_e2(self, int sx, int instrument_id) noexcept nogil
    cdef fx_int128 exposure_of(self, int sx, int ccy) noexcept nogil
    cdef int unrealized_e10(self, int book, fx_int128* out) noexcept nogil   # MarkStatus
    cdef int convert(self, int ccy, int64_t amount_e4, int64_t* out, Conversion* conv) noexcept nogil
    cdef int pnl_in(self, int sx, int ccy, int64_t* realized_e4, int64_t* unrealized_e4,
                    int64_t* commission_e4) noexcept nogil                   # MarkStatus
    cdef int total_pnl_rpt(self, int sx, int64_t* out_e4) noexcept nogil     # MarkStatus
    # events out
    cdef void write_position(self, int book, int reason, int64_t cause_seq,
                             PositionUpdate* out) noexcept nogil
    cdef int write_pnl(self, int sx, int ccy, int64_t cause_seq, PnlEvent* out) noexcept nogil
    cdef int write_pnl_total(self, int sx, int64_t cause_seq, PnlEvent* out) noexcept nogil
    # internals
    cdef int _add_ccy(self, const char* code) noexcept nogil
    cdef inline int _strategy_add(self, uint32_t strategy_id) noexcept nogil
    cdef int _strategy_resolve(self, uint32_t strategy_id) noexcept nogil
    cdef inline int _find_exec(self, uint16_t venue, const char* exec_id) noexcept nogil
    cdef inline int _find_exec_h(self, uint16_t venue, const char* exec_id, uint64_t h) noexcept nogil
    cdef inline uint64_t _hash_ahead(self, const Fill* f) noexcept nogil
    cdef int _apply_fill_h(self, const Fill* f, int64_t seq, uint64_t exec_hash) noexcept nogil
    cdef void _index_exec(self, int32_t fx) noexcept nogil
    cdef inline int _reserve_fill(self) noexcept nogil
    cdef int _grow_history(self) noexcept nogil
    cdef int _push_lot(self, Book* b, int64_t qty, int64_t px) noexcept nogil
    cdef inline int _book_apply(self, int bx, const FillRecord* r) noexcept nogil
    cdef int _book_apply_fifo(self, Book* b, int64_t q, int64_t px) noexcept nogil
    cdef int _book_rederive(self, int bx) noexcept nogil
    cdef inline int _ladder_add(self, int sx, int ccy, uint32_t date, fx_int128 amount) noexcept nogil
    cdef int _ladder_insert(self, int sx, int ccy, uint32_t date, fx_int128 amount) noexcept nogil
    cdef int _flows(self, const FillRecord* r, int direction) noexcept nogil
    cdef inline int _flows_of(self, const FillRecord* r, int sx, int instr, int direction) noexcept nogil
    cdef int32_t _new_record(self, const Fill* f, int64_t seq, int bx, int64_t q, int comm,
                             uint32_t settl_date) noexcept nogil


cdef inline uint64_t mix64(uint64_t h) noexcept nogil:
    """The 64-bit finalizer of MurmurHash3: every input bit moves every output bit."""
    h ^= h >> 33
    h *= <uint64_t>0xff51afd7ed558ccdULL
    h ^= h >> 33
    h *= <uint64_t>0xc4ceb9fe1a85ec53ULL
    h ^= h >> 33
    return h


cdef inline uint64_t strategy_hash(uint32_t strategy_id) noexcept nogil:
    """Where a strategy id starts its probe in the engine's strategy table."""
    return mix64(strategy_id + (<uint64_t>0x9E3779B97F4A7C15ULL))


cdef inline int strategy_index_of(PositionEngine pe, uint32_t strategy_id) noexcept nogil:
    """PositionEngine.strategy_index() inlined where it is called from another module (risk,
    the oms core): a call through the type's method table costs more than the probe itself."""
    cdef int slot = <int>(strategy_hash(strategy_id) & pe.strategy_table_mask)
    cdef int32_t e
    while True:
        e = pe.strategy_table[slot]
        if e == 0:
            return -1
        if pe.strategy_id[e - 1] == strategy_id:
            return e - 1
        slot = (slot + 1) & pe.strategy_table_mask


cdef inline fx_int128 exposure_at(PositionEngine pe, int sx, int ccy) noexcept nogil:
    """PositionEngine.exposure_of() inlined (risk's worst-case currency check)."""
    if ccy < 0 or ccy >= pe.n_ccy:
        return 0
    if sx == DESK:
        return pe.desk_exposure_e10[ccy]
    if sx < 0 or sx >= pe.n_strategies:
        return 0
    return pe.exposure_e10[sx * MAX_CCY + ccy]


cdef inline int convert_e4(PositionEngine pe, int ccy, int64_t amount_e4, int64_t* out) noexcept nogil:
    """PositionEngine.convert() without the record of the mids used, inlined where it is called
    (risk's checks): the same legs and the same roundings, so the same amount."""
    cdef ConvPath* p = &pe.path[ccy]
    cdef int64_t v = amount_e4, rate
    cdef int k
    out[0] = 0
    if p.status != MARK_OK:
        return p.status
    for k in range(p.legs):
        if pe.mid_e8[p.instrument[k]] == 0:
            return MARK_MISSING
    if v == 0:
        return MARK_OK
    for k in range(p.legs):
        rate = pe.mid_e8[p.instrument[k]]
        if p.op[k] == CONV_MUL:
            if mul_div_even(v, rate, 100000000, &v) != NUM_OK:
                return MARK_MISSING
        elif mul_div_even(v, 100000000, rate, &v) != NUM_OK:
            return MARK_MISSING
    out[0] = v
    return MARK_OK
