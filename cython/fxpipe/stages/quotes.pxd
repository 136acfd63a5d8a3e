# The decision stage's quote path in C: a venue's top of book, and the one call made for every
# quote (live and in a backtest): book update, then each strategy's on_quote.
from libc.stdint cimport int64_t

from fxpipe.model.events cimport Quote


cdef class _Value:
    pass


cdef class VenueQuote(_Value):
    cdef readonly int64_t bid_px_e8
    cdef readonly int64_t bid_qty_e2
    cdef readonly int64_t ask_px_e8
    cdef readonly int64_t ask_qty_e2
    cdef readonly bint firm
    cdef readonly int64_t ts_ns          # event time of the last update


cdef class TopOfBook(_Value):
    cdef readonly int instrument_id
    cdef readonly int64_t bid_px_e8
    cdef readonly int64_t bid_qty_e2
    cdef readonly int bid_venue_id       # venue with the most quantity at the best bid (0: no bid)
    cdef readonly int64_t bid_age_ns     # age of that venue's bid at the market state's event time
    cdef readonly int64_t ask_px_e8
    cdef readonly int64_t ask_qty_e2
    cdef readonly int ask_venue_id
    cdef readonly int64_t ask_age_ns
    cdef readonly bint firm


cdef int read_quote(object raw, Quote* out) except -1
cdef int apply_top(object market, const Quote* q) except -1


cdef class QuotePath:
    cdef object stage                    # the DecisionStage: its _failed() and _stop()
    cdef object market                   # its MarketStateStage
    cdef list hosted                     # [(StrategyContext, strategy)], in configuration order
    cdef set paused
    cdef dict stopped
    cdef object quote_type               # fxpipe.strategy.Quote (a NamedTuple)

    cpdef list on_quote(self, object raw)
