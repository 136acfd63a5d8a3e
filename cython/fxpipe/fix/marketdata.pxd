# Direct paths for market data, C structs <-> FIX without Python objects:
#   MarketDataRequest   <-> MarketDataRequest (V)
#   MarketDataSnapshot  <-> MarketDataSnapshotFullRefresh (W)
#   MarketDataSnapshot  <-> MarketDataIncrementalRefresh (X)  (symbol per entry, update actions)
# Prices price_e8, sizes qty_e2. fix_top_of_book gives the best bid/offer a Quote event carries.
from libc.stdint cimport int64_t, uint8_t, uint32_t

from fxpipe.fix.encoder cimport FixTemplate
from fxpipe.fix.fields cimport FixId
from fxpipe.fix.scan cimport FixIndex

cdef enum:
    MD_MAX_ENTRIES = 64      # entries one struct holds; more is reason 5 on NoMDEntries
    MD_MAX_SYMBOLS = 8
    MD_MAX_ENTRY_TYPES = 8

ctypedef struct MdEntry:
    char entry_type          # 269: '0' bid, '1' offer, '2' trade
    char update_action       # 279 (X): '0' new, '1' change, '2' delete; 0 in W
    int64_t px_e8            # 270 (-1 when absent, as in an X delete)
    int64_t size_e2          # 271 (-1 when absent)
    FixId entry_id           # 278 (X)
    FixId symbol             # 55 (X: per entry; W: copied from the message)
    int64_t position_no      # 290 MDEntryPositionNo (1 = best; 0 when absent)

ctypedef struct MarketDataRequest:
    FixId md_req_id                          # 262
    char subscription_request_type           # 263
    int64_t market_depth                     # 264 (0 = full book, 1 = top of book)
    int64_t md_update_type                   # 265 (-1 when absent)
    uint8_t n_entry_types                    # 267
    char entry_types[MD_MAX_ENTRY_TYPES]     # 269 per entry
    uint8_t n_symbols                        # 146
    FixId symbols[MD_MAX_SYMBOLS]            # 55 per entry

ctypedef struct MarketDataSnapshot:
    char msg_type            # 'W' or 'X'
    FixId md_req_id          # 262
    FixId symbol             # 55 (W)
    uint32_t n_entries       # 268
    MdEntry entries[MD_MAX_ENTRIES]

ctypedef struct TopOfBook:
    int64_t bid_px_e8        # -1 when no bid
    int64_t bid_size_e2
    int64_t ask_px_e8        # -1 when no offer
    int64_t ask_size_e2

cdef Py_ssize_t fix_encode_md_request(char* buf, Py_ssize_t cap, const FixTemplate* t, int64_t seq,
                                      int64_t sending_ns, const MarketDataRequest* r,
                                      Py_ssize_t* start) noexcept nogil
cdef Py_ssize_t fix_encode_md_snapshot(char* buf, Py_ssize_t cap, const FixTemplate* t, int64_t seq,
                                       int64_t sending_ns, const MarketDataSnapshot* s,
                                       Py_ssize_t* start) noexcept nogil
cdef int fix_decode_md_request(FixIndex* ix, MarketDataRequest* r) noexcept nogil
cdef int fix_decode_md_snapshot(FixIndex* ix, MarketDataSnapshot* s) noexcept nogil
cdef void fix_top_of_book(const MarketDataSnapshot* s, TopOfBook* top) noexcept nogil
