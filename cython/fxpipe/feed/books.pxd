# Receiver side of the binary feed: every instrument's ladder in C arrays, kept in sequence.
#
# A BookRefresh carries an instrument's whole ladder, so any refresh is safe to apply even
# after lost packets; what a loss costs is the instruments whose refreshes were lost. So a gap
# applies the packet anyway, marks every instrument stale, and asks for a snapshot; a later
# refresh or the snapshot clears an instrument's stale flag. rpt_seq (per instrument) never
# goes back, so neither a late duplicate nor an old snapshot can roll a book back.
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t

from fxpipe.feed.sbe cimport MAX_LEVELS, SYMBOL_SIZE, BookMsg, Level, PacketHeader
from fxpipe.model.events cimport Quote

cdef enum:
    MAX_INSTRUMENTS = 256    # instrument ids are 1..255; id 0 means "all" in requests
    MAX_CHANGED = 255

cdef enum ApplyStatus:
    APPLY_OK = 0             # in sequence; applied
    APPLY_GAP = 1            # applied, but packets before it were lost: ask for a snapshot
    APPLY_DUPLICATE = 2      # sequence at or below one already applied: ignored
    APPLY_NEW_STREAM = 3     # first packet, or the publisher restarted: applied; ask for a snapshot
    APPLY_WRONG_CHANNEL = 4  # not an incremental packet of this channel: ignored
    SNAPSHOT_PART = 5        # a snapshot packet was applied; the snapshot is not complete yet
    SNAPSHOT_DONE = 6        # the snapshot asked for is complete: every book is fresh
    SNAPSHOT_INCOMPLETE = 7  # complete arrived but parts were lost: ask again
    SNAPSHOT_IGNORED = 8     # a snapshot packet for another request or stream

cdef enum:
    HELD_MAX = 16            # datagrams a take() reads at most (one recvmmsg: the drain's batch)
    DATAGRAM_BYTES = 1472

cdef struct HeldBatch:
    # incremental datagrams a spinning worker's idle wait read off the socket ahead of the
    # stage (held_take), with their receive stamp: the next drain applies them first
    int n
    int error                # -errno of a read that failed: the next drain raises it
    int64_t t_recv           # the wall clock as the first came off the socket
    unsigned int lens[HELD_MAX]
    unsigned char bufs[HELD_MAX][DATAGRAM_BYTES]

# One read of the datagrams waiting on fd into h (none when h still holds some): how many h now
# holds, a negative errno when the read failed, 0 when nothing waits. Never blocks.
cdef int held_take(HeldBatch* h, int fd) noexcept nogil

cdef struct InstrumentBook:
    uint32_t rpt_seq
    uint8_t defined          # an InstrumentDefinition was received
    uint8_t has_book
    uint8_t stale            # may have missed refreshes since the last gap
    uint8_t price_decimals
    uint8_t settle_days
    uint16_t n_bids
    uint16_t n_asks
    int64_t transact_ns
    int64_t pip_e8
    int64_t tick_e8
    char symbol[SYMBOL_SIZE]
    Level bids[MAX_LEVELS]
    Level asks[MAX_LEVELS]

cdef class FeedBooks:
    cdef InstrumentBook books[MAX_INSTRUMENTS]
    cdef BookMsg scratch
    cdef readonly uint16_t channel_id
    cdef readonly uint32_t stream_id
    cdef readonly uint64_t expected_seq     # 0 until the first packet
    cdef uint32_t changed_ids[MAX_CHANGED]
    cdef readonly int n_changed
    cdef readonly uint64_t packets, heartbeats, refreshes, gaps, lost_packets, duplicates, errors
    cdef readonly uint32_t snapshot_request_id
    cdef readonly uint32_t snapshot_received
    cdef readonly uint64_t need_seq         # the snapshot must reflect at least this packet
    cdef uint8_t in_snapshot[MAX_INSTRUMENTS]
    cdef HeldBatch held

    cdef int apply_incremental(self, const uint8_t* buf, Py_ssize_t n) noexcept nogil
    cdef int apply_snapshot(self, const uint8_t* buf, Py_ssize_t n) noexcept nogil
    cdef int _apply_book(self, const BookMsg* m) noexcept nogil
    cdef void _all_stale(self) noexcept nogil
    cdef int _error(self, int rc) noexcept nogil
    cdef int _open_packet(self, const uint8_t* buf, Py_ssize_t n, PacketHeader* h,
                          uint8_t channel_type) noexcept nogil
    cdef const InstrumentBook* book(self, uint32_t instrument_id) noexcept nogil
    # fxpipe Quote events (model/events.pxd), one per level, best first, into out[0..max_out):
    # what the feed stage puts on the md ring. Returns how many were written.
    cdef int write_quotes(self, uint32_t instrument_id, uint16_t venue_id, int64_t ts_receive_ns,
                          Quote* out, int max_out) noexcept nogil
    # quote_events() of one instrument appended to a list; how many
    cdef int _append_quote_events(self, list out, uint32_t instrument_id, uint16_t venue_id,
                                  int64_t ts_receive_ns, int64_t first_sequence, int64_t ts_decode_ns) except -1
    # the incremental datagrams waiting on a socket read and applied (drain(), drain_quotes())
    cdef int _drain(self, int fd, int max_packets, uint32_t* ids, int* n_ids, int* flags,
                    int64_t* t_recv) noexcept nogil
    cdef void _apply_batch(self, unsigned char (*bufs)[DATAGRAM_BYTES], unsigned int* lens, int got,
                           uint8_t* seen, uint32_t* ids, int* n_ids, int* flags) noexcept nogil
