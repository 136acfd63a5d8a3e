# cython: language_level=3, boundscheck=False, wraparound=False
"""The decision stage's quote path, in C: the one call made for every quote, live (the trader,
the decision worker) and in a backtest.

A quote's fields are read from its bytes through the event's C struct, the market state's book
for its venue and instrument is replaced, and each strategy that is neither paused nor stopped
gets its on_quote. Everything a strategy sees and does is Python as before (the Quote it is
handed, its context, its intents); what moved here is the glue around it, which in Python cost
about 1 us a quote (a struct unpack into 25 objects, a dataclass and a named tuple built through
their Python constructors, the loop's attribute traffic): more than the strategy itself.
"""
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_SET_ITEM
from cpython.object cimport PyTypeObject
from libc.stdint cimport int64_t

from fxpipe.model.events cimport EVT_QUOTE, FLAG_SYNTHETIC, QUOTE_INDICATIVE, Quote, copy_event
from fxpipe.stages.strategy_context cimport StrategyContext


cdef extern from "Python.h":
    object PyType_GenericAlloc(PyTypeObject* type, Py_ssize_t nitems)


cdef class _Value:
    """What the immutable values below share: equality, hashing and pickling by their _key(),
    their fields in the constructor's order."""

    def __eq__(self, other):
        if not isinstance(other, type(self)):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __reduce__(self):
        return type(self), self._key()


cdef class VenueQuote(_Value):
    """One venue's top of book for one instrument, as the market state keeps it (immutable: a
    new quote replaces it whole)."""

    def __init__(self, int64_t bid_px_e8=0, int64_t bid_qty_e2=0, int64_t ask_px_e8=0, int64_t ask_qty_e2=0,
                 bint firm=True, int64_t ts_ns=0):
        self.bid_px_e8, self.bid_qty_e2 = bid_px_e8, bid_qty_e2
        self.ask_px_e8, self.ask_qty_e2 = ask_px_e8, ask_qty_e2
        self.firm, self.ts_ns = firm, ts_ns

    def _key(self):
        return (self.bid_px_e8, self.bid_qty_e2, self.ask_px_e8, self.ask_qty_e2, self.firm, self.ts_ns)

    def __repr__(self):
        return (f"VenueQuote(bid_px_e8={self.bid_px_e8}, bid_qty_e2={self.bid_qty_e2}, "
                f"ask_px_e8={self.ask_px_e8}, ask_qty_e2={self.ask_qty_e2}, firm={bool(self.firm)}, "
                f"ts_ns={self.ts_ns})")


cdef class TopOfBook(_Value):
    """The composite top of book of one instrument across venues (MarketStateStage.composite):
    per side the best price among the venues whose quote on that side is fresh, the quantity of
    every such venue at that price added up, the venue with the most of it (the lowest venue id
    of those with as much) and that venue's quote age; a side without a fresh quote is 0s.
    `firm`: every venue that contributes quoted firm. Immutable."""

    def __init__(self, int instrument_id, int64_t bid_px_e8, int64_t bid_qty_e2, int bid_venue_id,
                 int64_t bid_age_ns, int64_t ask_px_e8, int64_t ask_qty_e2, int ask_venue_id, int64_t ask_age_ns,
                 bint firm):
        self.instrument_id = instrument_id
        self.bid_px_e8, self.bid_qty_e2, self.bid_venue_id, self.bid_age_ns = bid_px_e8, bid_qty_e2, bid_venue_id, bid_age_ns
        self.ask_px_e8, self.ask_qty_e2, self.ask_venue_id, self.ask_age_ns = ask_px_e8, ask_qty_e2, ask_venue_id, ask_age_ns
        self.firm = firm

    @property
    def crossed(self):
        """Both sides quoted and the best bid at or above the best offer."""
        return bool(self.bid_qty_e2 and self.ask_qty_e2 and self.bid_px_e8 >= self.ask_px_e8)

    def _key(self):
        return (self.instrument_id, self.bid_px_e8, self.bid_qty_e2, self.bid_venue_id, self.bid_age_ns,
                self.ask_px_e8, self.ask_qty_e2, self.ask_venue_id, self.ask_age_ns, bool(self.firm))

    def __repr__(self):
        k = self._key()
        return ("TopOfBook(instrument_id={}, bid_px_e8={}, bid_qty_e2={}, bid_venue_id={}, bid_age_ns={}, "
                "ask_px_e8={}, ask_qty_e2={}, ask_venue_id={}, ask_age_ns={}, firm={})".format(*k))


cdef extern from *:
    bint __builtin_add_overflow(int64_t a, int64_t b, int64_t* r) nogil
    bint __builtin_sub_overflow(int64_t a, int64_t b, int64_t* r) nogil


cdef inline int64_t _added(int64_t a, int64_t b) except? -1:
    cdef int64_t r
    if __builtin_add_overflow(a, b, &r):
        raise OverflowError(f"the quantity at one price adds up past int64 ({a} + {b}): a venue's "
                            f"quote is not a quantity")
    return r


cdef struct _Best:
    # one side of the composite: the best price, the quantity at it over every venue, and the
    # venue named for it (the most quantity, then the lowest id) with its quantity and age
    int64_t px
    int64_t tot
    int64_t qty
    int64_t age
    int venue
    bint firm


cdef inline int _offer(_Best* s, int64_t px, int64_t qty, int venue, int64_t age, bint firm,
                       bint better) except -1:
    """One venue's side (qty > 0) into the side's best; better: px beats s.px on that side."""
    if s.tot == 0 or better:
        s.px, s.tot, s.venue, s.qty, s.age, s.firm = px, qty, venue, qty, age, firm
    elif px == s.px:
        s.tot = _added(s.tot, qty)
        s.firm = s.firm and firm
        if qty > s.qty or (qty == s.qty and venue < s.venue):
            s.venue, s.qty, s.age = venue, qty, age
    return 0


def composite_of(market, int instrument_id):
    """MarketStateStage.composite(instrument_id): the TopOfBook of the market state's books at
    its clock (market.now_ns), quotes older than market.stale_after_ns left out."""
    cdef int64_t now = market.now_ns, stale = market.stale_after_ns, age
    cdef _Best b = _Best(0, 0, 0, 0, 0, True)
    cdef _Best a = _Best(0, 0, 0, 0, 0, True)
    cdef int venue
    cdef VenueQuote v
    book = (<dict>market.books).get(instrument_id)
    if book:
        for key, q in (<dict>book).items():
            v = <VenueQuote?>q
            venue = key
            if __builtin_sub_overflow(now, v.ts_ns, &age) or age > stale:
                continue            # stale (an age past int64 is stale too, not a wrapped number)
            if v.bid_qty_e2 > 0:
                _offer(&b, v.bid_px_e8, v.bid_qty_e2, venue, age, v.firm, v.bid_px_e8 > b.px)
            if v.ask_qty_e2 > 0:
                _offer(&a, v.ask_px_e8, v.ask_qty_e2, venue, age, v.firm, v.ask_px_e8 < a.px)
    cdef TopOfBook t = TopOfBook.__new__(TopOfBook)
    t.instrument_id = instrument_id
    t.bid_px_e8, t.bid_qty_e2, t.bid_venue_id, t.bid_age_ns = b.px, b.tot, b.venue, b.age
    t.ask_px_e8, t.ask_qty_e2, t.ask_venue_id, t.ask_age_ns = a.px, a.tot, a.venue, a.age
    t.firm = b.firm and a.firm
    return t


cdef inline VenueQuote _venue_quote(const Quote* q, int64_t ts):
    cdef VenueQuote v = VenueQuote.__new__(VenueQuote)
    v.bid_px_e8, v.bid_qty_e2 = q.bid_px_e8, q.bid_qty_e2
    v.ask_px_e8, v.ask_qty_e2 = q.ask_px_e8, q.ask_qty_e2
    v.firm = q.quote_cond != QUOTE_INDICATIVE
    v.ts_ns = ts
    return v


cdef enum:
    QUOTE_RECORD_FIELDS = 8


cdef inline void _put(object record, Py_ssize_t i, object value):
    Py_INCREF(value)                    # PyTuple_SET_ITEM takes the reference
    PyTuple_SET_ITEM(record, i, value)


cdef object _quote_record(object quote_type, const Quote* q, int64_t now, int64_t seq):
    """fxpipe.strategy.Quote(venue_id, instrument_id, bid_px_e8, bid_qty_e2, ask_px_e8,
    ask_qty_e2, ts_ns, seq) as tuple.__new__ makes an instance of a tuple subclass (allocated by
    its type, the items set in place), without the call through Python and the two argument
    tuples that takes: ~700 instructions less on every quote a strategy sees."""
    cdef object r = PyType_GenericAlloc(<PyTypeObject*>quote_type, QUOTE_RECORD_FIELDS)
    _put(r, 0, q.hdr.venue_id)
    _put(r, 1, q.hdr.instrument_id)
    _put(r, 2, q.bid_px_e8)
    _put(r, 3, q.bid_qty_e2)
    _put(r, 4, q.ask_px_e8)
    _put(r, 5, q.ask_qty_e2)
    _put(r, 6, now)
    _put(r, 7, seq)
    return r


cdef int read_quote(object raw, Quote* out) except -1:
    """Copies the Quote event in `raw` (bytes, bytearray or any buffer of one event) to *out."""
    copy_event(raw, out, "a Quote event")
    if out.hdr.type != EVT_QUOTE:
        raise ValueError(f"event {out.hdr.sequence} is of type {out.hdr.type}, not a Quote")
    return 0


cdef int apply_top(object market, const Quote* q) except -1:
    """The market state takes a quote: its clock moves to the quote's time if later, and a top of
    book (level 0) replaces its venue's book for the instrument."""
    cdef int64_t ts = q.hdr.ts_receive_ns if q.hdr.ts_receive_ns else q.hdr.ts_venue_ns
    cdef dict books, book
    if ts > market.now_ns:
        market.now_ns = ts
    if q.level != 0:
        return 0
    books = market.books
    instr = q.hdr.instrument_id
    book = books.get(instr)
    if book is None:
        book = books[instr] = {}
    book[q.hdr.venue_id] = _venue_quote(q, ts)
    return 0


def apply_quote(market, raw):
    """MarketStateStage.apply() of a Quote given as its bytes."""
    cdef Quote q
    read_quote(raw, &q)
    apply_top(market, &q)


def top_of(raw):
    """(sequence, event time, venue_id, instrument_id, bid_px_e8, bid_qty_e2, ask_px_e8,
    ask_qty_e2) of the Quote event in raw: what a simulated venue needs of it."""
    cdef Quote q
    read_quote(raw, &q)
    return (q.hdr.sequence, q.hdr.ts_receive_ns if q.hdr.ts_receive_ns else q.hdr.ts_venue_ns, q.hdr.venue_id, q.hdr.instrument_id,
            q.bid_px_e8, q.bid_qty_e2, q.ask_px_e8, q.ask_qty_e2)


cdef class QuotePath:
    """DecisionStage's on_quote, for a quote given as its bytes. Holds the stage's own containers
    (hosted, paused, stopped), which the stage changes in place and never replaces."""

    def __init__(self, stage, quote_type):
        self.stage = stage
        self.market = stage.market
        self.hosted = stage.hosted
        self.paused = stage.paused
        self.stopped = stage.stopped
        if not (isinstance(quote_type, type) and issubclass(quote_type, tuple)
                and quote_type.__basicsize__ == tuple.__basicsize__
                and len(getattr(quote_type, "_fields", ())) == QUOTE_RECORD_FIELDS):
            raise TypeError(f"quote_type must be a NamedTuple of {QUOTE_RECORD_FIELDS} fields, got {quote_type!r}")
        self.quote_type = quote_type

    cpdef list on_quote(self, object raw):
        """The intents (and stop events) the strategies made on this quote, in order."""
        cdef Quote q
        cdef list out = []
        cdef tuple pair
        cdef int64_t now, seq
        cdef StrategyContext ctx
        read_quote(raw, &q)
        if q.hdr.flags & FLAG_SYNTHETIC or q.level:
            return out
        apply_top(self.market, &q)
        now = q.hdr.ts_receive_ns if q.hdr.ts_receive_ns else q.hdr.ts_venue_ns
        seq = q.hdr.sequence
        quote = _quote_record(self.quote_type, &q, now, seq)
        py_now = now
        for item in self.hosted:
            pair = <tuple>item
            ctx = <StrategyContext?>pair[0]
            strat = pair[1]
            sid = ctx.strategy_id
            if sid in self.paused or sid in self.stopped:
                continue
            ctx.now_ns = now
            ctx.trigger_seq = seq
            ctx.hop_venue_ns, ctx.hop_receive_ns, ctx.hop_decode_ns = \
                q.hdr.ts_venue_ns, q.hdr.ts_receive_ns, q.hdr.ts_decode_ns
            ctx.has_hops = True
            try:
                strat.on_quote(quote)
            except Exception as exc:    # a strategy's defect stops it, not the stage
                ctx.has_hops = False
                self.stage._failed(ctx, "on_quote", exc)
                out.extend(self.stage._stop(ctx, py_now))
                continue
            ctx.has_hops = False
            if ctx.pending:
                out.extend(ctx.take_bytes() if self.stage.bytes_out else ctx.take())
        return out
