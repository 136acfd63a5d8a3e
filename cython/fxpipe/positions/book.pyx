"""Positions and PnL per strategy book, exact and deterministic, at C speed.

A book is one strategy's position in one instrument: net base quantity, cost of the open
position, realized PnL, turnover and fill count in the quote currency, commissions in their
own currencies. Average cost (default) or FIFO. A fill that crosses zero is split: the closing
part realizes against the open cost, the rest opens at the fill price. Every fill also moves
the strategy's currency exposure (a EUR/USD buy of q at p: +q EUR, -q*p USD) on the fill's
value date. Busts and corrections (ExecTransType 1 and 2, found by ExecRefID) take the fill out
of, or change it in, the book's history and derive the book again from that history, so a bust
of a fill that flipped the position leaves exactly what the book would be without it.

Exactness: products of price_e8 and qty_e2 are kept at 1e-10 in 128 bits; the only rounding
inside a book is the share of cost an average-cost reduction takes (cost * closed / open, half
to even at 1e-10). Money leaves at 1e-4, half to even; conversion to the reporting currency
goes along a path fixed from the reference data (a direct pair, else through USD), one
rounding per leg, with the mids used written into the events.

The C-level API is in book.pxd; the Python methods below are a thin view for strategies,
status and tests.
"""
import hashlib
import struct

from libc.stdlib cimport free, malloc, realloc
from libc.stdint cimport INT64_MAX, int8_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcmp, memcpy, memset

from fxpipe.includes.int128 cimport fx_int128
from fxpipe.model.events cimport (
    CCY_LEN, CONV_DIV, CONV_MUL, CONV_NONE, EVT_PNL, EVT_POSITION_UPDATE, EXEC_TRANS_CANCEL,
    EXEC_TRANS_CORRECT, EXEC_TRANS_NEW, FIX_ID_LEN, MARK_MISSING, MARK_NO_PATH, MARK_OK,
    PNL_CURRENCY, PNL_TOTAL, POS_BUST, POS_CORRECTION, POS_FILL, SIDE_BUY, SIDE_SELL, Event, Fill, PnlEvent, PositionUpdate, Quote,
    event_init,
)
from fxpipe.model.numbers cimport NUM_OK
from fxpipe.positions.wide cimport (
    abs128, div_even64, e10_to_e4, fits64, fx_div_even_wide, mul_div_even, share_of,
)

import numpy as np

from fxpipe.model import events as ev

# Bounds that keep every intermediate inside 128 bits with room to spare (10 trillion units of
# base, a price of a million, a position of a thousand trillion units).
cdef int64_t MAX_FILL_QTY_E2 = 1000000000000000
cdef int64_t MAX_PRICE_E8 = 100000000000000
cdef int64_t MAX_POSITION_E2 = 100000000000000000
cdef int64_t PRICE_ONE = 100000000
# An ExecID index this large misses the cache on every new fill; in 2 MiB pages it at least
# stops missing the TLB as well, and the batch path prefetches it a few fills ahead.
cdef size_t HUGE_PAGE = 2 * 1024 * 1024
cdef enum:
    PREFETCH_AHEAD = 8          # fills the batch path hashes (and prefetches) ahead: a power of two
cdef int32_t PREFETCH_MIN_SLOTS = 1 << 16      # below this the index stays in cache anyway
cdef size_t STREAM_MIN_BYTES = 1 << 20          # apply_fills streams an output bigger than this

cdef extern from *:
    """
    #include <stdlib.h>
    #include <sys/mman.h>
    #ifndef MADV_HUGEPAGE
    #define MADV_HUGEPAGE MADV_NORMAL
    #endif
    """
    int madvise(void* addr, size_t length, int advice) noexcept nogil
    int posix_memalign(void** memptr, size_t alignment, size_t size) noexcept nogil
    int MADV_HUGEPAGE
    void prefetch_w "__builtin_prefetch"(const void* addr, int rw, int locality) noexcept nogil

cdef extern from *:
    """
    #if defined(__SSE2__)
    #include <emmintrin.h>
    /* A whole event to memory without reading its lines first (no read-for-ownership): for
       a batch's output array, written once and read long after. 16-byte aligned targets only;
       anything else, and machines without SSE2, take memcpy. */
    static inline void fx_stream_event(void* dst, const void* src, size_t size) {
        if (((uintptr_t)dst & 15) == 0 && (size & 15) == 0) {
            for (size_t k = 0; k < size; k += 16)
                _mm_stream_si128((__m128i*)((char*)dst + k), _mm_loadu_si128((const __m128i*)((const char*)src + k)));
        } else {
            memcpy(dst, src, size);
        }
    }
    static inline void fx_stream_fence(void) { _mm_sfence(); }
    #else
    static inline void fx_stream_event(void* dst, const void* src, size_t size) { memcpy(dst, src, size); }
    static inline void fx_stream_fence(void) { }
    #endif
    """
    void fx_stream_event(void* dst, const void* src, size_t size) noexcept nogil
    void fx_stream_fence() noexcept nogil


cdef void* _alloc_table(size_t size) noexcept nogil:
    """Zeroed memory for a hash table; a large one aligned to, and advised into, huge pages."""
    cdef void* p = _alloc_big(size)
    if p != NULL:
        memset(p, 0, size)
    return p


cdef void* _alloc_big(size_t size) noexcept nogil:
    """Memory for an array the fill path walks (the ExecID index, the fill history): a large one
    aligned to, and advised into, huge pages. The caller touches it all before the first fill,
    so the session's page faults happen at start, not one per 4 KiB of fills."""
    cdef void* p = NULL
    if size < HUGE_PAGE:
        p = malloc(size)
    elif posix_memalign(&p, HUGE_PAGE, size) == 0:
        madvise(p, size, MADV_HUGEPAGE)     # only advice: without THP it is ordinary memory
    else:
        p = NULL
    return p


cdef inline uint32_t _pack_ccy(const char* c) noexcept nogil:
    return (<uint8_t>c[0]) | ((<uint8_t>c[1]) << 8) | ((<uint8_t>c[2]) << 16)


cdef inline uint64_t _exec_hash(uint16_t venue, const char* exec_id) noexcept nogil:
    """Hash of (venue, ExecID) over the whole NUL-padded field, a word at a time: an ExecID
    field is always FIX_ID_LEN bytes (fix_id_set pads it), so no byte loop is needed."""
    cdef uint64_t h = (<uint64_t>0x9E3779B97F4A7C15ULL) ^ venue, w
    cdef int i
    for i in range(0, FIX_ID_LEN, 8):
        memcpy(&w, exec_id + i, 8)
        h = (h ^ w) * (<uint64_t>0xff51afd7ed558ccdULL)
        h ^= h >> 29
    return mix64(h)


cdef inline uint64_t _ladder_key(int sx, int ccy, uint32_t date) noexcept nogil:
    return (<uint64_t>sx << 40) | (<uint64_t>ccy << 32) | date


cdef inline int _sign(int64_t v) noexcept nogil:
    return (v > 0) - (v < 0)


cdef class PositionEngine:

    def __init__(self, refdata, accounting="average", reporting_currency=None, int max_strategies=64,
                 int fill_capacity=1024, int exec_hash_bits=64):
        """refdata: fxpipe.model.refdata.RefData; accounting: "average" or "fifo";
        reporting_currency: default refdata.reporting_currency; fill_capacity: the fills (and
        busts, corrections) a session expects, sized up front so that no fill pays for growing
        the history or rehashing the ExecID index (more still fit: both grow, by doubling);
        exec_hash_bits: 64 in production; a test lowers it to make ExecIDs collide in the index."""
        if fill_capacity < 1 or fill_capacity > (1 << 29):
            raise ValueError(f"fill_capacity must be 1..{1 << 29}, got {fill_capacity}")
        if not 1 <= exec_hash_bits <= 64:
            raise ValueError(f"exec_hash_bits must be 1..64, got {exec_hash_bits}")
        if accounting not in ("average", "fifo"):
            raise ValueError(f"accounting must be 'average' or 'fifo', got {accounting!r}")
        if not 1 <= max_strategies <= 65536:
            raise ValueError(f"max_strategies must be 1..65536, got {max_strategies}")
        self.accounting = ACCOUNTING_AVERAGE if accounting == "average" else ACCOUNTING_FIFO
        self.max_strategies = max_strategies
        self._refdata = refdata
        rpt = reporting_currency or refdata.reporting_currency
        ccys = sorted(refdata.currencies())
        if rpt not in ccys:
            raise ValueError(f"reporting currency {rpt!r} is not a currency of any instrument "
                             f"({', '.join(ccys)}); amounts could not be converted to it")
        if len(ccys) > MAX_CCY:
            raise ValueError(f"{len(ccys)} currencies in the reference data; at most {MAX_CCY}")
        self.n_ccy = 0
        for c in ccys:
            self._add_ccy(c.encode("ascii"))
        self.rpt_ccy = ccys.index(rpt)
        self.usd_ccy = ccys.index("USD") if "USD" in ccys else -1
        instruments = list(refdata.instruments.values())
        self.n_slots = max(i.id for i in instruments) + 1
        self.base_ccy = <int8_t*>malloc(self.n_slots * 2)
        self.quote_ccy = self.base_ccy + self.n_slots
        self.mid_e8 = <int64_t*>malloc(self.n_slots * 3 * sizeof(int64_t))
        self.mark_ts_ns = self.mid_e8 + self.n_slots
        self.instr_net_e2 = self.mid_e8 + 2 * self.n_slots
        if self.base_ccy == NULL or self.mid_e8 == NULL:
            raise MemoryError()
        memset(self.base_ccy, 0xFF, self.n_slots * 2)
        memset(self.mid_e8, 0, self.n_slots * 3 * sizeof(int64_t))
        self._symbols = {}
        for i in instruments:
            self.base_ccy[i.id] = ccys.index(i.base)
            self.quote_ccy[i.id] = ccys.index(i.quote)
            self._symbols[i.id] = i.symbol
        self._paths = {}
        for c in range(self.n_ccy):
            self._build_path(c, {(i.base, i.quote): i.id for i in instruments}, ccys)
        cap = 16
        while cap < 2 * max_strategies:
            cap *= 2
        self.strategy_table_mask = cap - 1
        self.strategy_table = <int32_t*>malloc(cap * sizeof(int32_t))
        self.strategy_id = <uint32_t*>malloc(max_strategies * sizeof(uint32_t))
        nbooks = max_strategies * self.n_slots
        self.books = <Book*>malloc(nbooks * sizeof(Book))
        self.book_comm_e4 = <int64_t*>malloc(nbooks * MAX_CCY * sizeof(int64_t))
        self.exposure_e10 = <fx_int128*>malloc((max_strategies + 1) * MAX_CCY * sizeof(fx_int128))
        self.desk_exposure_e10 = self.exposure_e10 + max_strategies * MAX_CCY
        self.commission_e4 = <int64_t*>malloc(max_strategies * MAX_CCY * sizeof(int64_t))
        self.ladder_last = <int32_t*>malloc(max_strategies * MAX_CCY * sizeof(int32_t))
        if (self.strategy_table == NULL or self.strategy_id == NULL or self.books == NULL
                or self.book_comm_e4 == NULL or self.exposure_e10 == NULL or self.commission_e4 == NULL
                or self.ladder_last == NULL):
            raise MemoryError()
        for b in range(max_strategies * MAX_CCY):
            self.ladder_last[b] = -1
        memset(self.strategy_table, 0, cap * sizeof(int32_t))
        memset(self.books, 0, nbooks * sizeof(Book))
        for b in range(nbooks):
            self.books[b].first_fill = -1
            self.books[b].last_fill = -1
            self.books[b].instrument = b % self.n_slots
            self.books[b].strategy = b // self.n_slots
        memset(self.book_comm_e4, 0, nbooks * MAX_CCY * sizeof(int64_t))
        memset(self.exposure_e10, 0, (max_strategies + 1) * MAX_CCY * sizeof(fx_int128))
        memset(self.commission_e4, 0, max_strategies * MAX_CCY * sizeof(int64_t))
        self.n_strategies = 0
        self.last_strategy_sx = -1
        self.fills_cap = 1024
        while self.fills_cap <= fill_capacity:
            self.fills_cap *= 2
        self.fills = <FillRecord*>_alloc_big(self.fills_cap * sizeof(FillRecord))
        if self.fills != NULL:
            memset(self.fills, 0, self.fills_cap * sizeof(FillRecord))
        self.exec_table_mask = 4 * self.fills_cap - 1        # at most half full when the arena is
        self.exec_table = <uint64_t*>_alloc_table(4 * self.fills_cap * sizeof(uint64_t))
        self.exec_hash_mask = <uint64_t>0xFFFFFFFFFFFFFFFFULL if exec_hash_bits == 64 else \
            ((<uint64_t>1 << exec_hash_bits) - 1)
        self.exec_free_slot = -1
        self.ladder_cap = 256
        self.ladder_key = <uint64_t*>malloc(self.ladder_cap * sizeof(uint64_t))
        self.ladder_e10 = <fx_int128*>malloc(self.ladder_cap * sizeof(fx_int128))
        self.ladder_table_mask = 1023
        self.ladder_table = <int32_t*>malloc(1024 * sizeof(int32_t))
        if (self.fills == NULL or self.exec_table == NULL or self.ladder_key == NULL
                or self.ladder_e10 == NULL or self.ladder_table == NULL):
            raise MemoryError()
        memset(self.ladder_table, 0, 1024 * sizeof(int32_t))
        self.n_fills = 0
        self.n_ladder = 0
        self.last_book = -1
        self.last_change = -1
        self.revision = 0
        self.fills_applied = 0

    def __dealloc__(self):
        cdef int b
        if self.books != NULL:
            for b in range(self.max_strategies * self.n_slots):
                free(self.books[b].lots)
        free(self.base_ccy)
        free(self.mid_e8)
        free(self.strategy_table)
        free(self.strategy_id)
        free(self.books)
        free(self.book_comm_e4)
        free(self.exposure_e10)
        free(self.commission_e4)
        free(self.ladder_last)
        free(self.fills)
        free(self.exec_table)
        free(self.ladder_key)
        free(self.ladder_e10)
        free(self.ladder_table)

    # ------------------------------------------------------------------ set-up

    cdef int _add_ccy(self, const char* code) noexcept nogil:
        if self.n_ccy >= MAX_CCY:
            return -1
        self.ccy_code[self.n_ccy] = _pack_ccy(code)
        self.n_ccy += 1
        return self.n_ccy - 1

    def _build_path(self, int c, dict pairs, list ccys):
        """The fixed route from currency c to the reporting currency: the direct pair (either
        way round), else through USD; none at all is MARK_NO_PATH (a visible state)."""
        cdef ConvPath* p = &self.path[c]
        memset(p, 0, sizeof(ConvPath))
        frm, to = ccys[c], ccys[self.rpt_ccy]
        if frm == to:
            return

        def leg(a, b):
            if (a, b) in pairs:
                return pairs[(a, b)], CONV_MUL
            if (b, a) in pairs:
                return pairs[(b, a)], CONV_DIV
            return None

        legs = [leg(frm, to)]
        if legs[0] is None:
            legs = [leg(frm, "USD"), leg("USD", to)] if "USD" not in (frm, to) else [None]
        if any(x is None for x in legs):
            p.status = MARK_NO_PATH
            return
        p.legs = len(legs)
        for k, (instr, op) in enumerate(legs):
            p.instrument[k] = instr
            p.op[k] = op

    # ------------------------------------------------------------------ lookups

    cdef int strategy_index(self, uint32_t strategy_id) noexcept nogil:
        return strategy_index_of(self, strategy_id)

    cdef inline int _strategy_add(self, uint32_t strategy_id) noexcept nogil:
        """The index of a strategy, added on its first fill; -1 past max_strategies. Fills come
        in runs of one strategy: the last one resolved is answered before any probe."""
        if strategy_id == self.last_strategy_id and self.last_strategy_sx >= 0:
            return self.last_strategy_sx
        return self._strategy_resolve(strategy_id)

    cdef int _strategy_resolve(self, uint32_t strategy_id) noexcept nogil:
        cdef int sx, slot
        sx = strategy_index_of(self, strategy_id)
        if sx >= 0:
            self.last_strategy_id = strategy_id
            self.last_strategy_sx = sx
            return sx
        if self.n_strategies >= self.max_strategies:
            return -1
        sx = self.n_strategies
        self.n_strategies += 1
        self.strategy_id[sx] = strategy_id
        slot = <int>(strategy_hash(strategy_id) & self.strategy_table_mask)
        while self.strategy_table[slot] != 0:
            slot = (slot + 1) & self.strategy_table_mask
        self.strategy_table[slot] = sx + 1
        self.last_strategy_id = strategy_id
        self.last_strategy_sx = sx
        return sx

    cdef int ccy_index(self, const char* code) noexcept nogil:
        cdef uint32_t k = _pack_ccy(code)
        cdef int c
        for c in range(self.n_ccy):
            if self.ccy_code[c] == k:
                return c
        return -1

    cdef inline int _find_exec(self, uint16_t venue, const char* exec_id) noexcept nogil:
        return self._find_exec_h(venue, exec_id, _exec_hash(venue, exec_id) & self.exec_hash_mask)

    cdef inline int _find_exec_h(self, uint16_t venue, const char* exec_id, uint64_t h) noexcept nogil:
        # each slot keeps the upper half of the hash, so a probe reads a fill record only when
        # the tags agree: a new ExecID (the common case) costs one cache line of the table
        cdef uint64_t e
        self.last_exec_hash = h
        cdef uint64_t tag = h & <uint64_t>0xFFFFFFFF00000000ULL
        cdef int slot = <int>(h & self.exec_table_mask)
        cdef int32_t fx
        while True:
            e = self.exec_table[slot]
            if e == 0:
                self.exec_free_slot = slot     # where this ExecID goes if it is applied next
                return -1
            if (e & <uint64_t>0xFFFFFFFF00000000ULL) == tag:
                fx = <int32_t>(e & (<uint64_t>0xFFFFFFFFULL)) - 1
                if self.fills[fx].venue_id == venue and memcmp(self.fills[fx].exec_id, exec_id, FIX_ID_LEN) == 0:
                    return fx
            slot = (slot + 1) & self.exec_table_mask

    cdef inline uint64_t _hash_ahead(self, const Fill* f) noexcept nogil:
        """The batch path's look-ahead: the ExecID's hash, and its index slot on its way into
        the cache when the index is too big to stay there. The hash is kept for the fill's own
        lookup, so the batch hashes each ExecID once."""
        cdef uint64_t h = _exec_hash(f.hdr.venue_id, f.exec_id) & self.exec_hash_mask
        if self.exec_table_mask >= PREFETCH_MIN_SLOTS:
            prefetch_w(&self.exec_table[h & <uint64_t>self.exec_table_mask], 1, 3)
        return h

    cdef void _index_exec(self, int32_t fx) noexcept nogil:
        cdef uint64_t h = _exec_hash(self.fills[fx].venue_id, self.fills[fx].exec_id) & self.exec_hash_mask
        cdef int slot = <int>(h & self.exec_table_mask)
        while self.exec_table[slot] != 0:
            slot = (slot + 1) & self.exec_table_mask
        self.exec_table[slot] = (h & <uint64_t>0xFFFFFFFF00000000ULL) | <uint64_t>(fx + 1)

    cdef inline int _reserve_fill(self) noexcept nogil:
        """Room for one more record (and the index at most half full); -1 without memory."""
        if self.n_fills + 1 < self.fills_cap and 2 * (self.n_fills + 1) <= self.exec_table_mask:
            return 0
        return self._grow_history()

    cdef int _grow_history(self) noexcept nogil:
        cdef FillRecord* grown
        cdef uint64_t* table
        cdef int32_t i, size
        if self.n_fills + 1 >= self.fills_cap:
            grown = <FillRecord*>realloc(self.fills, 2 * self.fills_cap * sizeof(FillRecord))
            if grown == NULL:
                return -1
            self.fills = grown
            self.fills_cap *= 2
        if 2 * (self.n_fills + 1) > self.exec_table_mask:
            size = 2 * (self.exec_table_mask + 1)
            table = <uint64_t*>_alloc_table(size * sizeof(uint64_t))
            if table == NULL:
                return -1
            free(self.exec_table)
            self.exec_free_slot = -1
            self.exec_table = table
            self.exec_table_mask = size - 1
            for i in range(self.n_fills):
                self._index_exec(i)
        return 0

    # ------------------------------------------------------------------ book arithmetic

    cdef int _push_lot(self, Book* b, int64_t qty, int64_t px) noexcept nogil:
        cdef Lot* grown
        cdef int32_t cap
        if b.lot_head + b.lot_count == b.lot_cap:
            if b.lot_head > 0:
                memcpy(b.lots, b.lots + b.lot_head, b.lot_count * sizeof(Lot))
                b.lot_head = 0
            else:
                cap = 8 if b.lot_cap == 0 else 2 * b.lot_cap
                grown = <Lot*>realloc(b.lots, cap * sizeof(Lot))
                if grown == NULL:
                    return -1
                b.lots = grown
                b.lot_cap = cap
        b.lots[b.lot_head + b.lot_count].qty_e2 = qty
        b.lots[b.lot_head + b.lot_count].px_e8 = px
        b.lot_count += 1
        return 0

    cdef inline int _book_apply(self, int bx, const FillRecord* r) noexcept nogil:
        """One live fill into its book: open, add, reduce, close or flip."""
        cdef Book* b = &self.books[bx]
        cdef int64_t q = r.qty_e2, px = r.px_e8, n = b.net_qty_e2, closing
        cdef fx_int128 removed
        b.turnover_e10 += <fx_int128>(q if q > 0 else -q) * px
        b.fill_count += 1
        if r.comm_ccy >= 0:
            self.book_comm_e4[bx * MAX_CCY + r.comm_ccy] += r.commission_e4
            b.comm_ccys |= (<uint32_t>1) << r.comm_ccy
        if self.accounting == ACCOUNTING_FIFO:
            return self._book_apply_fifo(b, q, px)
        if n == 0 or _sign(n) == _sign(q):
            b.cost_e10 += <fx_int128>q * px
            b.net_qty_e2 = n + q
            return 0
        closing = n if (q if q > 0 else -q) >= (n if n > 0 else -n) else -q
        removed = b.cost_e10 if closing == n else share_of(b.cost_e10, closing, n)
        b.realized_e10 += <fx_int128>closing * px - removed
        b.cost_e10 -= removed
        n -= closing
        q += closing
        b.net_qty_e2 = n
        if q != 0:       # the part beyond flat opens the other way at the fill price
            b.cost_e10 += <fx_int128>q * px
            b.net_qty_e2 = n + q
        return 0

    cdef int _book_apply_fifo(self, Book* b, int64_t q, int64_t px) noexcept nogil:
        """_book_apply's position part under FIFO: lot by lot, oldest first."""
        cdef int64_t n = b.net_qty_e2, take
        cdef Lot* lot
        if n == 0 or _sign(n) == _sign(q):
            b.cost_e10 += <fx_int128>q * px
            b.net_qty_e2 = n + q
            return self._push_lot(b, q, px)
        while q != 0 and b.lot_count > 0:
            lot = &b.lots[b.lot_head]
            take = lot.qty_e2 if (q if q > 0 else -q) >= (lot.qty_e2 if lot.qty_e2 > 0 else -lot.qty_e2) else -q
            b.realized_e10 += <fx_int128>take * (px - lot.px_e8)
            b.cost_e10 -= <fx_int128>take * lot.px_e8
            lot.qty_e2 -= take
            n -= take
            q += take
            if lot.qty_e2 == 0:
                b.lot_head += 1
                b.lot_count -= 1
        if b.lot_count == 0:
            b.lot_head = 0
        b.net_qty_e2 = n
        if q != 0:       # the part beyond flat opens the other way at the fill price
            b.cost_e10 += <fx_int128>q * px
            b.net_qty_e2 = n + q
            return self._push_lot(b, q, px)
        return 0

    cdef int _book_rederive(self, int bx) noexcept nogil:
        """The book again from its history of live fills (after a bust or a correction)."""
        cdef Book* b = &self.books[bx]
        cdef int32_t fx = b.first_fill
        b.cost_e10 = 0
        b.realized_e10 = 0
        b.turnover_e10 = 0
        b.net_qty_e2 = 0
        b.fill_count = 0
        b.lot_head = 0
        b.lot_count = 0
        b.comm_ccys = 0
        memset(&self.book_comm_e4[bx * MAX_CCY], 0, MAX_CCY * sizeof(int64_t))
        while fx >= 0:
            if self.fills[fx].state == FILL_LIVE and self._book_apply(bx, &self.fills[fx]) != 0:
                return -1
            fx = self.fills[fx].next
        return 0

    cdef inline int _ladder_add(self, int sx, int ccy, uint32_t date, fx_int128 amount) noexcept nogil:
        """amount into the value-date ladder of (strategy, currency, date). Fills run on one
        value date at a time, so the entry used last is tested before any probe."""
        cdef int32_t last = self.ladder_last[sx * MAX_CCY + ccy]
        if last >= 0 and self.ladder_key[last] == _ladder_key(sx, ccy, date):
            self.ladder_e10[last] += amount
            return 0
        return self._ladder_insert(sx, ccy, date, amount)

    cdef int _ladder_insert(self, int sx, int ccy, uint32_t date, fx_int128 amount) noexcept nogil:
        cdef uint64_t key = _ladder_key(sx, ccy, date)
        cdef int32_t e, i, size
        cdef int slot
        cdef int32_t* table
        cdef uint64_t* keys
        cdef fx_int128* amounts
        slot = <int>(mix64(key) & self.ladder_table_mask)
        while True:
            e = self.ladder_table[slot]
            if e == 0:
                break
            if self.ladder_key[e - 1] == key:
                self.ladder_e10[e - 1] += amount
                self.ladder_last[sx * MAX_CCY + ccy] = e - 1
                return 0
            slot = (slot + 1) & self.ladder_table_mask
        if self.n_ladder + 1 >= self.ladder_cap:
            keys = <uint64_t*>realloc(self.ladder_key, 2 * self.ladder_cap * sizeof(uint64_t))
            if keys == NULL:
                return -1
            self.ladder_key = keys
            amounts = <fx_int128*>realloc(self.ladder_e10, 2 * self.ladder_cap * sizeof(fx_int128))
            if amounts == NULL:
                return -1
            self.ladder_e10 = amounts
            self.ladder_cap *= 2
        if 2 * (self.n_ladder + 1) > self.ladder_table_mask:
            size = 2 * (self.ladder_table_mask + 1)
            table = <int32_t*>malloc(size * sizeof(int32_t))
            if table == NULL:
                return -1
            memset(table, 0, size * sizeof(int32_t))
            free(self.ladder_table)
            self.ladder_table = table
            self.ladder_table_mask = size - 1
            for i in range(self.n_ladder):
                slot = <int>(mix64(self.ladder_key[i]) & self.ladder_table_mask)
                while self.ladder_table[slot] != 0:
                    slot = (slot + 1) & self.ladder_table_mask
                self.ladder_table[slot] = i + 1
            slot = <int>(mix64(key) & self.ladder_table_mask)
            while self.ladder_table[slot] != 0:
                slot = (slot + 1) & self.ladder_table_mask
        self.ladder_key[self.n_ladder] = key
        self.ladder_e10[self.n_ladder] = amount
        self.ladder_last[sx * MAX_CCY + ccy] = self.n_ladder
        self.n_ladder += 1
        self.ladder_table[slot] = self.n_ladder
        return 0

    cdef int _flows(self, const FillRecord* r, int direction) noexcept nogil:
        """The fill's cash flows into (direction 1) or out of (-1) the strategy's currencies,
        its value-date ladder, the desk totals and the per-instrument net."""
        return self._flows_of(r, self.books[r.book].strategy, self.books[r.book].instrument, direction)

    cdef inline int _flows_of(self, const FillRecord* r, int sx, int instr, int direction) noexcept nogil:
        """_flows with the book's strategy and instrument known (no division on the fill path)."""
        cdef int base = self.base_ccy[instr], quote = self.quote_ccy[instr]
        cdef fx_int128 base_e10 = <fx_int128>r.qty_e2 * PRICE_ONE
        cdef fx_int128 quote_e10 = -(<fx_int128>r.qty_e2 * r.px_e8)
        cdef int64_t qty = r.qty_e2, comm = r.commission_e4
        if direction < 0:      # a bust takes the flows out again: a negation, not a 128-bit product
            base_e10 = -base_e10
            quote_e10 = -quote_e10
            qty = -qty
            comm = -comm
        self.exposure_e10[sx * MAX_CCY + base] += base_e10
        self.exposure_e10[sx * MAX_CCY + quote] += quote_e10
        self.desk_exposure_e10[base] += base_e10
        self.desk_exposure_e10[quote] += quote_e10
        self.instr_net_e2[instr] += qty
        if r.comm_ccy >= 0:
            self.commission_e4[sx * MAX_CCY + r.comm_ccy] += comm
        if self._ladder_add(sx, base, r.settl_date, base_e10) != 0:
            return -1
        return self._ladder_add(sx, quote, r.settl_date, quote_e10)

    # ------------------------------------------------------------------ events in

    cdef int apply_fill(self, const Fill* f, int64_t seq) noexcept nogil:
        return self._apply_fill_h(f, seq, _exec_hash(f.hdr.venue_id, f.exec_id) & self.exec_hash_mask)

    cdef int _apply_fill_h(self, const Fill* f, int64_t seq, uint64_t exec_hash) noexcept nogil:
        """apply_fill with the hash of (venue, ExecID) already made (the batch path makes it
        when it looks ahead)."""
        cdef int instr = f.hdr.instrument_id, sx, bx, comm = -1, ref, fx, rc
        cdef uint64_t h_new
        cdef int64_t q, n_new
        cdef FillRecord* r
        cdef FillRecord* orig
        cdef Book* b
        if instr <= 0 or instr >= self.n_slots or self.base_ccy[instr] < 0:
            return FILL_ERR_INSTRUMENT
        if f.side != SIDE_BUY and f.side != SIDE_SELL:
            return FILL_ERR_SIDE
        if f.exec_id[0] == 0:
            return FILL_ERR_EXEC_ID
        if f.exec_trans_type != EXEC_TRANS_NEW and f.exec_trans_type != EXEC_TRANS_CANCEL \
                and f.exec_trans_type != EXEC_TRANS_CORRECT:
            return FILL_ERR_TRANS_TYPE
        if self._find_exec_h(f.hdr.venue_id, f.exec_id, exec_hash) >= 0:
            return FILL_DUPLICATE
        h_new = exec_hash
        if f.exec_trans_type != EXEC_TRANS_CANCEL:
            if f.last_qty_e2 <= 0 or f.last_qty_e2 > MAX_FILL_QTY_E2:
                return FILL_ERR_QTY
            if f.last_px_e8 <= 0 or f.last_px_e8 > MAX_PRICE_E8:
                return FILL_ERR_PRICE
            if f.commission_e4 != 0:
                if f.commission_ccy[0] == 0:
                    return FILL_ERR_COMMISSION
                comm = self.ccy_index(f.commission_ccy)
                if comm < 0:
                    comm = self._add_ccy(f.commission_ccy)
                    if comm < 0:
                        return FILL_ERR_CURRENCIES
        q = f.last_qty_e2 if f.side == SIDE_BUY else -f.last_qty_e2
        if self._reserve_fill() != 0:
            return FILL_ERR_MEMORY
        if f.exec_trans_type == EXEC_TRANS_NEW:
            sx = self._strategy_add(f.strategy_id)
            if sx < 0:
                return FILL_ERR_STRATEGIES
            bx = sx * self.n_slots + instr
            b = &self.books[bx]
            n_new = b.net_qty_e2 + q
            if n_new > MAX_POSITION_E2 or n_new < -MAX_POSITION_E2:
                return FILL_ERR_RANGE
            fx = self._new_record(f, seq, bx, q, comm, f.settl_date)
            if b.last_fill >= 0:
                self.fills[b.last_fill].next = fx
            else:
                b.first_fill = fx
            b.last_fill = fx
            if self._flows_of(&self.fills[fx], sx, instr, 1) != 0 or self._book_apply(bx, &self.fills[fx]) != 0:
                return FILL_ERR_MEMORY
            self.last_book = bx
            self.last_change = bx
            self.revision += 1
            self.fills_applied += 1
            return FILL_APPLIED
        # a bust or a correction of an earlier fill
        if f.exec_ref_id[0] == 0:
            return FILL_ERR_EXEC_ID
        ref = self._find_exec(f.hdr.venue_id, f.exec_ref_id)
        self.last_exec_hash = h_new      # the record made below is indexed by the new ExecID
        if ref < 0 or self.fills[ref].state == FILL_MARKER:
            return FILL_ERR_UNKNOWN_REF
        orig = &self.fills[ref]
        if orig.state == FILL_SUPERSEDED:
            return FILL_ERR_SUPERSEDED
        bx = orig.book
        if bx % self.n_slots != instr or self.strategy_id[bx // self.n_slots] != f.strategy_id \
                or (orig.qty_e2 > 0) != (f.side == SIDE_BUY):
            return FILL_ERR_MISMATCH
        if orig.state == FILL_BUSTED:
            if f.exec_trans_type == EXEC_TRANS_CANCEL:
                return FILL_DUPLICATE    # busted before under another ExecID
            return FILL_ERR_UNKNOWN_REF
        if f.exec_trans_type == EXEC_TRANS_CANCEL:
            fx = self._new_record(f, seq, -1, 0, -1, 0)
            self.fills[fx].state = FILL_MARKER
            orig = &self.fills[ref]
            orig.state = FILL_BUSTED
            rc = self._flows(orig, -1)
        else:
            fx = self._new_record(f, seq, bx, q, comm, f.settl_date or self.fills[ref].settl_date)
            orig = &self.fills[ref]
            r = &self.fills[fx]
            r.next = orig.next      # the correction takes the original's place in trade order
            orig.next = fx
            if self.books[bx].last_fill == ref:
                self.books[bx].last_fill = fx
            orig.state = FILL_SUPERSEDED
            rc = self._flows(orig, -1)
            if rc == 0:
                rc = self._flows(r, 1)
        if rc != 0 or self._book_rederive(bx) != 0:
            return FILL_ERR_MEMORY
        self.last_book = bx
        self.last_change = bx
        self.revision += 1
        self.fills_applied += 1
        return FILL_APPLIED

    cdef int32_t _new_record(self, const Fill* f, int64_t seq, int bx, int64_t q, int comm,
                             uint32_t settl_date) noexcept nogil:
        cdef int32_t fx = self.n_fills
        cdef FillRecord* r = &self.fills[fx]
        memcpy(r.exec_id, f.exec_id, FIX_ID_LEN)
        r.qty_e2 = q
        r.px_e8 = f.last_px_e8
        r.commission_e4 = f.commission_e4 if comm >= 0 else 0
        r.seq = seq
        r.book = bx
        r.next = -1
        r.comm_ccy = comm
        r.settl_date = settl_date
        r.venue_id = f.hdr.venue_id
        r.state = FILL_LIVE
        self.n_fills += 1
        if self.exec_free_slot >= 0:      # the slot the lookup of this ExecID ended on
            # apply_fill looked this ExecID up just before: last_exec_hash is its hash
            self.exec_table[self.exec_free_slot] = (self.last_exec_hash & <uint64_t>0xFFFFFFFF00000000ULL) \
                | <uint64_t>(fx + 1)
            self.exec_free_slot = -1
        else:
            self._index_exec(fx)
        return fx

    cdef int apply_quote(self, const Quote* q) noexcept nogil:
        cdef int instr = q.hdr.instrument_id
        cdef int64_t mid, ts
        if q.level != 0 or instr <= 0 or instr >= self.n_slots or self.base_ccy[instr] < 0:
            return 0
        if q.bid_qty_e2 <= 0 or q.ask_qty_e2 <= 0 or q.bid_px_e8 <= 0 or q.ask_px_e8 <= 0:
            return 0     # a one-sided quote is no mid: the previous mark stands
        if mul_div_even(q.bid_px_e8 + q.ask_px_e8, 1, 2, &mid) != NUM_OK:
            return 0
        ts = q.hdr.ts_receive_ns if q.hdr.ts_receive_ns else q.hdr.ts_venue_ns
        if ts > self.mark_ts_ns[instr]:
            self.mark_ts_ns[instr] = ts
        if mid == self.mid_e8[instr]:
            return 0
        self.mid_e8[instr] = mid
        self.last_change = -1 - instr
        self.revision += 1
        return 1

    # ------------------------------------------------------------------ queries

    cdef int64_t position_e2(self, int sx, int instrument_id) noexcept nogil:
        if instrument_id <= 0 or instrument_id >= self.n_slots:
            return 0
        if sx == DESK:
            return self.instr_net_e2[instrument_id]
        if sx < 0 or sx >= self.n_strategies:
            return 0
        return self.books[sx * self.n_slots + instrument_id].net_qty_e2

    cdef fx_int128 exposure_of(self, int sx, int ccy) noexcept nogil:
        return exposure_at(self, sx, ccy)

    cdef int unrealized_e10(self, int bx, fx_int128* out) noexcept nogil:
        cdef Book* b = &self.books[bx]
        cdef int64_t mid = self.mid_e8[b.instrument]
        if b.net_qty_e2 == 0:
            out[0] = 0
            return MARK_OK
        if mid == 0:
            out[0] = 0
            return MARK_MISSING
        out[0] = <fx_int128>b.net_qty_e2 * mid - b.cost_e10
        return MARK_OK

    cdef int convert(self, int ccy, int64_t amount_e4, int64_t* out, Conversion* conv) noexcept nogil:
        cdef ConvPath* p = &self.path[ccy]
        cdef int k
        cdef int64_t v = amount_e4, rate
        conv.rate_e8[0] = 0
        conv.rate_e8[1] = 0
        conv.status = p.status
        out[0] = 0
        if p.status != MARK_OK:
            return p.status
        for k in range(p.legs):
            rate = self.mid_e8[p.instrument[k]]
            conv.rate_e8[k] = rate
            if rate == 0:
                conv.status = MARK_MISSING
                return MARK_MISSING
        if v == 0:          # zero at any rate: no division (the rates used are still reported)
            return MARK_OK
        for k in range(p.legs):
            if p.op[k] == CONV_MUL:
                if mul_div_even(v, conv.rate_e8[k], PRICE_ONE, &v) != NUM_OK:
                    return MARK_MISSING
            elif mul_div_even(v, PRICE_ONE, conv.rate_e8[k], &v) != NUM_OK:
                return MARK_MISSING
        out[0] = v
        return MARK_OK

    cdef int pnl_in(self, int sx, int ccy, int64_t* realized_e4, int64_t* unrealized_e4,
                    int64_t* commission_e4) noexcept nogil:
        """PnL of a strategy (or the desk) arising in one currency: the realized and unrealized
        of the books quoted in it (summed at 1e-10, rounded once) and its commissions."""
        cdef int s, s0 = 0, s1 = self.n_strategies, i, bx, status = MARK_OK
        cdef fx_int128 real = 0, unreal = 0, u
        cdef int64_t comm = 0
        if sx != DESK:
            s0, s1 = sx, sx + 1
        for s in range(s0, s1):
            comm += self.commission_e4[s * MAX_CCY + ccy]
            for i in range(1, self.n_slots):
                if self.quote_ccy[i] != ccy:
                    continue
                bx = s * self.n_slots + i
                real += self.books[bx].realized_e10
                if self.unrealized_e10(bx, &u) != MARK_OK:
                    status = MARK_MISSING
                unreal += u
        commission_e4[0] = comm
        if e10_to_e4(real, realized_e4) != NUM_OK or e10_to_e4(unreal, unrealized_e4) != NUM_OK:
            return MARK_MISSING
        return status

    cdef int total_pnl_rpt(self, int sx, int64_t* out_e4) noexcept nogil:
        """Realized + unrealized - commissions of a strategy (or the desk), in the reporting
        currency; MARK_MISSING (with the convertible part in out_e4) when a rate is missing."""
        cdef int c, status = MARK_OK, st
        cdef int64_t real, unreal, comm, v, total = 0
        cdef Conversion conv
        for c in range(self.n_ccy):
            st = self.pnl_in(sx, c, &real, &unreal, &comm)
            if real == 0 and unreal == 0 and comm == 0 and st == MARK_OK:
                continue
            if st != MARK_OK:
                status = st
            if self.convert(c, real + unreal - comm, &v, &conv) != MARK_OK:
                status = conv.status
                continue
            total += v
        out_e4[0] = total
        return status

    # ------------------------------------------------------------------ events out

    cdef void write_position(self, int bx, int reason, int64_t cause_seq,
                             PositionUpdate* out) noexcept nogil:
        cdef Book* b = &self.books[bx]
        cdef int instr = b.instrument, sx = b.strategy, quote = self.quote_ccy[instr]
        cdef int c, st
        cdef uint32_t paid = b.comm_ccys
        cdef fx_int128 u
        cdef int64_t v, comm_rpt = 0, avg = 0
        cdef Conversion conv
        cdef Conversion rates
        event_init(out, EVT_POSITION_UPDATE)
        out.hdr.instrument_id = instr
        out.strategy_id = self.strategy_id[sx]
        out.reason = reason
        out.cause_seq = cause_seq
        out.net_qty_e2 = b.net_qty_e2
        if b.net_qty_e2 != 0:      # cost / net half to even: one division when the quotient fits
            if fits64(b.cost_e10):
                avg = div_even64(<int64_t>b.cost_e10, b.net_qty_e2)
            elif fx_div_even_wide(b.cost_e10, b.net_qty_e2, &avg) != 0:
                avg = <int64_t>(share_of(b.cost_e10, 1, b.net_qty_e2))
        out.avg_px_e8 = avg
        out.mark_px_e8 = self.mid_e8[instr]
        e10_to_e4(b.realized_e10, &out.realized_pnl_e4)
        e10_to_e4(b.turnover_e10, &out.turnover_e4)
        st = self.unrealized_e10(bx, &u)
        e10_to_e4(u, &out.unrealized_pnl_e4)
        out.fill_count = <uint32_t>b.fill_count
        out.accounting = self.accounting
        memcpy(out.rpt_ccy, &self.ccy_code[self.rpt_ccy], CCY_LEN)
        # the rates of the quote currency's path, whatever the amount: what the event reports
        if self.convert(quote, out.realized_pnl_e4, &out.realized_pnl_rpt_e4, &rates) != MARK_OK:
            st = rates.status
        if st == MARK_OK:
            self.convert(quote, out.unrealized_pnl_e4, &out.unrealized_pnl_rpt_e4, &conv)
        c = 0
        while paid:             # only the currencies the book paid commission in, A-Z
            if paid & 1 and self.book_comm_e4[bx * MAX_CCY + c] != 0:
                if self.convert(c, self.book_comm_e4[bx * MAX_CCY + c], &v, &conv) == MARK_OK:
                    comm_rpt += v
                elif st == MARK_OK:
                    st = conv.status
            paid >>= 1
            c += 1
        conv = rates
        out.commission_e4 = comm_rpt
        out.rpt_rate_e8 = conv.rate_e8[0]
        out.rpt_leg2_rate_e8 = conv.rate_e8[1]
        out.rpt_leg1_instrument_id = self.path[quote].instrument[0]
        out.rpt_leg2_instrument_id = self.path[quote].instrument[1]
        out.rpt_leg1_op = self.path[quote].op[0]
        out.rpt_leg2_op = self.path[quote].op[1]
        out.mark_status = st

    cdef int write_pnl(self, int sx, int ccy, int64_t cause_seq, PnlEvent* out) noexcept nogil:
        cdef Conversion conv
        cdef int st, st2
        event_init(out, EVT_PNL)
        out.pnl_kind = PNL_CURRENCY
        out.strategy_id = 0 if sx == DESK else self.strategy_id[sx]
        out.cause_seq = cause_seq
        memcpy(out.ccy, &self.ccy_code[ccy], CCY_LEN)
        memcpy(out.rpt_ccy, &self.ccy_code[self.rpt_ccy], CCY_LEN)
        st = self.pnl_in(sx, ccy, &out.realized_e4, &out.unrealized_e4, &out.commission_e4)
        st2 = self.convert(ccy, out.realized_e4, &out.realized_rpt_e4, &conv)
        self.convert(ccy, out.unrealized_e4, &out.unrealized_rpt_e4, &conv)
        self.convert(ccy, out.commission_e4, &out.commission_rpt_e4, &conv)
        out.leg1_rate_e8 = conv.rate_e8[0]
        out.leg2_rate_e8 = conv.rate_e8[1]
        out.leg1_instrument_id = self.path[ccy].instrument[0]
        out.leg2_instrument_id = self.path[ccy].instrument[1]
        out.leg1_op = self.path[ccy].op[0]
        out.leg2_op = self.path[ccy].op[1]
        out.mark_status = st2 if st2 != MARK_OK else st
        return out.mark_status

    cdef int write_pnl_total(self, int sx, int64_t cause_seq, PnlEvent* out) noexcept nogil:
        cdef PnlEvent one
        cdef int c
        cdef int64_t total_r = 0, total_u = 0, total_c = 0
        cdef uint16_t missing = 0
        cdef int64_t r, u, cm
        event_init(out, EVT_PNL)
        out.pnl_kind = PNL_TOTAL
        out.strategy_id = 0 if sx == DESK else self.strategy_id[sx]
        out.cause_seq = cause_seq
        memcpy(out.ccy, &self.ccy_code[self.rpt_ccy], CCY_LEN)
        memcpy(out.rpt_ccy, &self.ccy_code[self.rpt_ccy], CCY_LEN)
        for c in range(self.n_ccy):   # currency index order is A-Z for refdata's currencies
            if self.pnl_in(sx, c, &r, &u, &cm) == MARK_OK and r == 0 and u == 0 and cm == 0:
                continue      # nothing arises in c: it needs no rate
            self.write_pnl(sx, c, cause_seq, &one)
            if one.mark_status != MARK_OK:
                if missing == 0:
                    memcpy(out.missing_ccy, one.ccy, CCY_LEN)
                    out.mark_status = one.mark_status
                missing += 1
                continue
            total_r += one.realized_rpt_e4
            total_u += one.unrealized_rpt_e4
            total_c += one.commission_rpt_e4
        out.realized_e4 = out.realized_rpt_e4 = total_r
        out.unrealized_e4 = out.unrealized_rpt_e4 = total_u
        out.commission_e4 = out.commission_rpt_e4 = total_c
        out.missing_count = missing
        return out.mark_status

    # ------------------------------------------------------------------ Python view

    def _sx(self, strategy_id):
        if strategy_id is None:
            return DESK
        return self.strategy_index(strategy_id)

    def _instr(self, instrument):
        return self._refdata.instrument(instrument).id

    def _ccy(self, code):
        cdef bytes raw = code.encode("ascii") if isinstance(code, str) else bytes(code)
        if len(raw) != 3:
            raise ValueError(f"a currency is a three-letter code, got {code!r}")
        c = self.ccy_index(raw)
        if c < 0:
            raise KeyError(f"currency {code!r} is not tracked; tracked: {', '.join(self.currencies)}")
        return c

    @property
    def currencies(self):
        return [self._code(c) for c in range(self.n_ccy)]

    @property
    def reporting_currency(self):
        return self._code(self.rpt_ccy)

    @property
    def strategies(self):
        return sorted(self.strategy_id[s] for s in range(self.n_strategies))

    def _code(self, int c):
        cdef uint32_t k = self.ccy_code[c]
        return bytes([k & 0xFF, (k >> 8) & 0xFF, (k >> 16) & 0xFF]).decode("ascii")

    def apply(self, rec):
        """Feed one Fill or Quote record (numpy, from fxpipe.model.events). For a fill, the
        FillResult code (FILL_APPLIED 0, FILL_DUPLICATE 1, an error < 0: nothing changed);
        for a quote, 1 when the mark moved."""
        cdef bytes raw = rec.tobytes()
        cdef const Event* e = <const Event*><const char*>raw
        if len(raw) != sizeof(Event):
            raise ValueError(f"an event is {sizeof(Event)} bytes, got {len(raw)}")
        if e.hdr.type == ev.EventType.FILL:
            return self.apply_fill(&e.fill, e.hdr.sequence)
        if e.hdr.type == ev.EventType.QUOTE:
            return self.apply_quote(&e.quote)
        raise ValueError(f"PositionEngine takes FILL and QUOTE events, not {ev.EventType(e.hdr.type).name}")

    def apply_fills(self, fills, out=None):
        """The batch path: every Fill of a contiguous array (fxpipe.model.events records) applied
        in order with the GIL released, and with `out` (a PositionUpdate array of the same
        length) the PositionUpdate of each applied fill's book written to out[i]. Stops at the
        first refused fill. Returns (applied, duplicates, index of the refused fill or -1)."""
        arr = np.ascontiguousarray(fills)
        if arr.dtype != ev.dtype_for(ev.EventType.FILL):
            raise TypeError("apply_fills takes an array of FILL events (fxpipe.model.events.empty/view)")
        cdef const uint8_t[::1] src = arr.view(np.uint8).reshape(-1)
        cdef uint8_t[::1] dst
        cdef Py_ssize_t i, n = arr.shape[0]
        cdef int64_t applied = 0, dups = 0, bad = -1
        cdef int rc, reason
        cdef bint write = out is not None
        cdef const Event* e
        cdef uint64_t h
        cdef uint64_t ahead[PREFETCH_AHEAD]
        # An output larger than the cache is written around it: each PositionUpdate is made
        # here, in L1, and streamed out, so its three lines are not read from memory first.
        cdef Event pu
        cdef bint stream = write and n * sizeof(Event) > STREAM_MIN_BYTES
        if write:
            if out.dtype != ev.dtype_for(ev.EventType.POSITION_UPDATE) or out.shape[0] < n:
                raise TypeError(f"out must be a POSITION_UPDATE array of at least {n} events")
            dst = out.view(np.uint8).reshape(-1)
        if n == 0:
            return 0, 0, -1
        with nogil:
            for i in range(min(n, PREFETCH_AHEAD)):
                ahead[i] = self._hash_ahead(&(<const Event*>&src[i * sizeof(Event)]).fill)
            for i in range(n):
                h = ahead[i & (PREFETCH_AHEAD - 1)]
                if i + PREFETCH_AHEAD < n:
                    ahead[i & (PREFETCH_AHEAD - 1)] = self._hash_ahead(
                        &(<const Event*>&src[(i + PREFETCH_AHEAD) * sizeof(Event)]).fill)
                e = <const Event*>&src[i * sizeof(Event)]
                rc = self._apply_fill_h(&e.fill, e.hdr.sequence, h)
                if rc == FILL_APPLIED:
                    applied += 1
                    if write:
                        reason = POS_FILL if e.fill.exec_trans_type == EXEC_TRANS_NEW else (
                            POS_BUST if e.fill.exec_trans_type == EXEC_TRANS_CANCEL else POS_CORRECTION)
                        if stream:
                            self.write_position(self.last_book, reason, e.hdr.sequence, &pu.position)
                            fx_stream_event(&dst[i * sizeof(Event)], &pu, sizeof(Event))
                        else:
                            self.write_position(self.last_book, reason, e.hdr.sequence,
                                                <PositionUpdate*>&dst[i * sizeof(Event)])
                elif rc == FILL_DUPLICATE:
                    dups += 1
                else:
                    bad = i
                    break
            if stream:
                fx_stream_fence()     # the streamed events are visible before the GIL is taken
        return applied, dups, bad

    def mid(self, instrument):
        """The current mark (mid, price_e8) of an instrument, or None before its first quote."""
        m = self.mid_e8[self._instr(instrument)]
        return m or None

    def position(self, strategy_id, instrument):
        """A dict view of one book (exact ints; *_e10 are exact products at 1e-10)."""
        cdef int i = self._instr(instrument), sx = self._sx(strategy_id), bx, c
        cdef fx_int128 u
        cdef Book* b
        if sx < 0:
            return {"net_qty_e2": 0, "avg_px_e8": 0, "realized_pnl_e4": 0, "unrealized_pnl_e4": 0,
                    "cost_e10": 0, "realized_e10": 0, "turnover_e4": 0, "fill_count": 0,
                    "commissions_e4": {}, "mark_status": ev.MarkStatus.OK, "lots": []}
        bx = sx * self.n_slots + i
        b = &self.books[bx]
        st = self.unrealized_e10(bx, &u)
        return {
            "net_qty_e2": b.net_qty_e2,
            "avg_px_e8": _py_div_even(_py128(b.cost_e10), b.net_qty_e2) if b.net_qty_e2 else 0,
            "realized_pnl_e4": _py_div_even(_py128(b.realized_e10), 1000000),
            "unrealized_pnl_e4": _py_div_even(_py128(u), 1000000) if st == MARK_OK else None,
            "cost_e10": _py128(b.cost_e10),
            "realized_e10": _py128(b.realized_e10),
            "turnover_e4": _py_div_even(_py128(b.turnover_e10), 1000000),
            "fill_count": b.fill_count,
            "commissions_e4": {self._code(c): self.book_comm_e4[bx * MAX_CCY + c]
                               for c in range(self.n_ccy) if self.book_comm_e4[bx * MAX_CCY + c]},
            "mark_status": ev.MarkStatus(st),
            "lots": [(b.lots[k].qty_e2, b.lots[k].px_e8) for k in range(b.lot_head, b.lot_head + b.lot_count)],
        }

    def net_qty(self, strategy_id, instrument):
        """Net base quantity (qty_e2) of one strategy, or of the desk when strategy_id is None."""
        sx = self._sx(strategy_id)
        if sx < 0 and strategy_id is not None:
            return 0
        return self.position_e2(sx, self._instr(instrument))

    def exposure_exact(self, strategy_id=None):
        """{currency: exact exposure at 1e-10} of a strategy, or of the desk (None)."""
        sx = self._sx(strategy_id)
        if sx < 0 and strategy_id is not None:
            return {}
        return {self._code(c): _py128(self.exposure_of(sx, c)) for c in range(self.n_ccy)
                if self.exposure_of(sx, c) != 0}

    def exposure(self, strategy_id=None):
        """{currency: exposure in money_e4} (rounded half to even from the exact amount)."""
        return {c: _py_div_even(v, 1000000) for c, v in self.exposure_exact(strategy_id).items()}

    def value_dates_e10(self, strategy_id=None):
        """{(currency, value date yyyymmdd or 0): exact amount at 1e-10}, A-Z then by date."""
        sx = self._sx(strategy_id)
        out = {}
        for i in range(self.n_ladder):
            key = self.ladder_key[i]
            s, c, d = key >> 40, (key >> 32) & 0xFF, key & 0xFFFFFFFF
            if strategy_id is not None and s != sx:
                continue
            k = (self._code(c), d)
            out[k] = out.get(k, 0) + _py128(self.ladder_e10[i])
        return {k: v for k, v in sorted(out.items()) if v != 0}

    def commissions(self, strategy_id=None):
        """{currency: commission_e4} of a strategy or the desk."""
        sx = self._sx(strategy_id)
        out = {}
        for s in range(self.n_strategies):
            if strategy_id is not None and s != sx:
                continue
            for c in range(self.n_ccy):
                if self.commission_e4[s * MAX_CCY + c]:
                    out[self._code(c)] = out.get(self._code(c), 0) + self.commission_e4[s * MAX_CCY + c]
        return dict(sorted(out.items()))

    def conversion_path(self, code):
        """[(instrument symbol, "mul" or "div"), ...] from code to the reporting currency;
        None when no route exists."""
        cdef ConvPath* p = &self.path[self._ccy(code)]
        if p.status == MARK_NO_PATH:
            return None
        return [(self._symbols[p.instrument[k]], "mul" if p.op[k] == CONV_MUL else "div")
                for k in range(p.legs)]

    def to_reporting(self, code, amount_e4):
        """(amount in the reporting currency, MarkStatus, (rate_e8, ...)) of an amount in code."""
        cdef Conversion conv
        cdef int64_t out = 0
        cdef ConvPath* p = &self.path[self._ccy(code)]
        st = self.convert(self._ccy(code), amount_e4, &out, &conv)
        return (out if st == MARK_OK else None), ev.MarkStatus(st), tuple(conv.rate_e8[k] for k in range(p.legs))

    def total_pnl(self, strategy_id=None):
        """(realized + unrealized - commissions in the reporting currency, MarkStatus)."""
        cdef int64_t out = 0
        sx = self._sx(strategy_id)
        if sx < 0 and strategy_id is not None:
            return 0, ev.MarkStatus.OK
        st = self.total_pnl_rpt(sx, &out)
        return out, ev.MarkStatus(st)

    def position_event(self, strategy_id, instrument, reason, cause_seq=0):
        """The PositionUpdate record of one book now."""
        sx = self._sx(strategy_id)
        if sx < 0:
            raise KeyError(f"strategy {strategy_id} has no fills")
        rec = ev.empty(ev.EventType.POSITION_UPDATE, 1)
        cdef unsigned char[:] buf = rec.view(np.uint8)
        self.write_position(sx * self.n_slots + self._instr(instrument), reason, cause_seq,
                            <PositionUpdate*>&buf[0])
        return rec[0]

    def last_position_event(self, reason, cause_seq=0):
        """The PositionUpdate of the book the last applied fill touched."""
        rec = ev.empty(ev.EventType.POSITION_UPDATE, 1)
        cdef unsigned char[:] buf = rec.view(np.uint8)
        if self.last_book < 0:
            raise LookupError("no fill applied yet")
        self.write_position(self.last_book, reason, cause_seq, <PositionUpdate*>&buf[0])
        return rec[0]

    def books_of(self, instrument):
        """[(strategy_id, ...)] strategies with an open position in instrument, by strategy id."""
        i = self._instr(instrument)
        return sorted(self.strategy_id[s] for s in range(self.n_strategies)
                      if self.books[s * self.n_slots + i].net_qty_e2 != 0)

    def strategies_with_positions(self):
        """Strategy ids with an open position in any instrument, ascending: those whose
        unrealized PnL moves with the marks."""
        cdef int sx, i
        out = []
        for sx in range(self.n_strategies):
            for i in range(self.n_slots):
                if self.books[sx * self.n_slots + i].net_qty_e2 != 0:
                    out.append(self.strategy_id[sx])
                    break
        return sorted(out)

    def pnl_events(self, strategy_id=None, cause_seq=0):
        """PnL records of a strategy (or the desk, None): one per currency with any amount, A-Z,
        then the total in the reporting currency."""
        cdef int sx = self._sx(strategy_id), c
        cdef int64_t r, u, cm
        out = []
        if sx < 0 and strategy_id is not None:
            raise KeyError(f"strategy {strategy_id} has no fills")
        for c in range(self.n_ccy):
            st = self.pnl_in(sx, c, &r, &u, &cm)
            if r == 0 and u == 0 and cm == 0 and st == MARK_OK:
                continue
            rec = ev.empty(ev.EventType.PNL, 1)
            self._write_pnl_into(rec, sx, c, cause_seq)
            out.append(rec[0])
        rec = ev.empty(ev.EventType.PNL, 1)
        self._write_pnl_into(rec, sx, -1, cause_seq)
        out.append(rec[0])
        return out

    def _write_pnl_into(self, rec, int sx, int c, int64_t cause_seq):
        cdef unsigned char[:] buf = rec.view(np.uint8)
        if c < 0:
            self.write_pnl_total(sx, cause_seq, <PnlEvent*>&buf[0])
        else:
            self.write_pnl(sx, c, cause_seq, <PnlEvent*>&buf[0])

    def fill_state(self, venue_id, exec_id):
        """'live', 'busted', 'superseded', 'bust' (a bust's own id) or None if never seen."""
        cdef char key[FIX_ID_LEN]
        raw = exec_id.encode("ascii") if isinstance(exec_id, str) else bytes(exec_id)
        memset(key, 0, FIX_ID_LEN)
        memcpy(key, <const char*>raw, min(len(raw), FIX_ID_LEN))
        fx = self._find_exec(venue_id, key)
        if fx < 0:
            return None
        return {FILL_LIVE: "live", FILL_BUSTED: "busted", FILL_SUPERSEDED: "superseded",
                FILL_MARKER: "bust"}[self.fills[fx].state]

    def state_bytes(self):
        """A canonical image of the whole state (strategies by id, instruments by id,
        currencies A-Z then in order of first use, fills in applied order)."""
        cdef Book* b
        cdef FillRecord* r
        parts = [struct.pack("<iiq", self.accounting, self.rpt_ccy, self.fills_applied)]
        for c in range(self.n_ccy):
            parts.append(self._code(c).encode())
        for i in range(1, self.n_slots):
            parts.append(struct.pack("<qqq", self.mid_e8[i], self.mark_ts_ns[i], self.instr_net_e2[i]))
        order = sorted(range(self.n_strategies), key=lambda s: self.strategy_id[s])
        for s in order:
            parts.append(struct.pack("<I", self.strategy_id[s]))
            for c in range(self.n_ccy):
                parts.append(_pack128(self.exposure_e10[s * MAX_CCY + c]))
                parts.append(struct.pack("<q", self.commission_e4[s * MAX_CCY + c]))
            for i in range(1, self.n_slots):
                bx = s * self.n_slots + i
                b = &self.books[bx]
                parts.append(struct.pack("<qq", b.net_qty_e2, b.fill_count) + _pack128(b.cost_e10)
                             + _pack128(b.realized_e10) + _pack128(b.turnover_e10))
                for k in range(b.lot_head, b.lot_head + b.lot_count):
                    parts.append(struct.pack("<qq", b.lots[k].qty_e2, b.lots[k].px_e8))
                for c in range(self.n_ccy):
                    parts.append(struct.pack("<q", self.book_comm_e4[bx * MAX_CCY + c]))
        for i in range(self.n_fills):
            r = &self.fills[i]
            sid = self.strategy_id[r.book // self.n_slots] if r.book >= 0 else 0
            parts.append(r.exec_id[:FIX_ID_LEN] + struct.pack(
                "<qqqqiiIIHB", r.qty_e2, r.px_e8, r.commission_e4, r.seq,
                r.book % self.n_slots if r.book >= 0 else -1, r.comm_ccy, sid, r.settl_date,
                r.venue_id, r.state))
        for k, v in self.value_dates_e10().items():
            parts.append(struct.pack("<3sI", k[0].encode(), k[1]) + v.to_bytes(16, "little", signed=True))
        return b"".join(parts)

    def state_hash(self):
        return hashlib.sha256(self.state_bytes()).digest()


cdef object _py128(fx_int128 v):
    return (<object>(<int64_t>(v >> 64)) << 64) | <object>(<uint64_t>v)


cdef bytes _pack128(fx_int128 v):
    return _py128(v).to_bytes(16, "little", signed=True)


def _py_div_even(num, den):
    """num / den rounded half to even, on Python ints (views only)."""
    if den < 0:
        num, den = -num, -den
    q, r = divmod(num, den)
    twice = 2 * r
    if twice > den or (twice == den and q % 2 == 1):
        q += 1
    return q
