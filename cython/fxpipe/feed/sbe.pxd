# The binary market-data feed's wire format: C-level encoder and decoder (no Python objects).
#
# One UDP datagram = one packet, little-endian, in the style of Simple Binary Encoding:
#
#   0        8           16          20          22     23
#   +--------+-----------+-----------+-----------+------+-------+
#   | seq u64| sending_ns| stream_id | channel_id| chan | msg   |   packet header, 24 bytes
#   |        | u64       | u32       | u16       | type | count |
#   +--------+-----------+-----------+-----------+------+-------+
#   | message 1 | message 2 | ... (msg count of them)            |
#   +--------------------------------------------------------------+
#
#   message: | size u16 | block_length u16 | template_id u16 | schema_id u16 | version u16 |
#            | root block (block_length bytes) | groups: | block_length u16 | count u16 | entries |
#
# Every offset, size and template is in docs/binary-feed.md; tests/venue/test_venue_feed_codec.py
# checks this declaration against the documented offsets byte by byte.
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t

cdef enum:
    FEED_SCHEMA_ID = 0x4658  # "FX" little-endian
    FEED_SCHEMA_VERSION = 1
    PACKET_HEADER_SIZE = 24
    MESSAGE_HEADER_SIZE = 10
    GROUP_HEADER_SIZE = 4
    LEVEL_SIZE = 16
    MAX_LEVELS = 10
    MAX_PACKET = 1472  # largest UDP payload that fits an Ethernet MTU without fragments
    SYMBOL_SIZE = 8

    BOOK_REFRESH_BLOCK = 16
    SNAPSHOT_BLOCK = 32
    INSTRUMENT_BLOCK = 40
    SNAPSHOT_REQUEST_BLOCK = 8
    SNAPSHOT_COMPLETE_BLOCK = 16

cdef enum Template:
    TEMPLATE_HEARTBEAT = 1
    TEMPLATE_BOOK_REFRESH = 2
    TEMPLATE_SNAPSHOT = 3
    TEMPLATE_INSTRUMENT = 4
    TEMPLATE_SNAPSHOT_REQUEST = 5
    TEMPLATE_SNAPSHOT_COMPLETE = 6

cdef enum ChannelType:
    CHANNEL_INCREMENTAL = 1
    CHANNEL_SNAPSHOT = 2
    CHANNEL_REQUEST = 3

cdef enum FeedStatus:
    FEED_OK = 0
    FEED_TRUNCATED = -1      # fewer bytes than a header or a declared size says
    FEED_BAD_SCHEMA = -2     # schema id or version this decoder does not know
    FEED_BAD_TEMPLATE = -3   # template id unknown, or not the one asked for
    FEED_TOO_MANY_LEVELS = -4
    FEED_BAD_BLOCK = -5      # block or entry length shorter than this version's layout
    FEED_NO_ROOM = -6        # (encoder) the packet buffer is full

cdef struct PacketHeader:
    uint64_t seq_num
    uint64_t sending_ns
    uint32_t stream_id      # the publisher's run: a new value means sequence numbers restart
    uint16_t channel_id
    uint8_t channel_type
    uint8_t msg_count

cdef struct Level:
    int64_t price_e8
    int64_t qty_e2

cdef struct MsgView:
    uint16_t size
    uint16_t block_length
    uint16_t template_id
    uint16_t schema_id
    uint16_t version
    const uint8_t* data     # first byte of the root block
    Py_ssize_t length       # bytes from data to the end of the message

# BookRefresh (incremental channel) and Snapshot (snapshot channel) decode into one struct;
# last_seq, request_id and tot_num_reports are zero for a BookRefresh.
cdef struct BookMsg:
    uint32_t instrument_id
    uint32_t rpt_seq
    int64_t transact_ns
    uint64_t last_seq
    uint32_t request_id
    uint16_t tot_num_reports
    uint16_t n_bids
    uint16_t n_asks
    Level bids[MAX_LEVELS]
    Level asks[MAX_LEVELS]

cdef struct InstrumentMsg:
    uint32_t instrument_id
    uint8_t price_decimals
    uint8_t settle_days
    int64_t pip_e8
    int64_t tick_e8
    char symbol[SYMBOL_SIZE]
    uint32_t request_id

cdef struct SnapshotRequestMsg:
    uint32_t request_id
    uint32_t instrument_id  # 0: every instrument

cdef struct SnapshotCompleteMsg:
    uint32_t request_id
    uint32_t num_instruments
    uint64_t last_seq       # the incremental packet the snapshots reflect

# -- decoding ---------------------------------------------------------------------------------
cdef int read_packet_header(const uint8_t* buf, Py_ssize_t n, PacketHeader* out) noexcept nogil
cdef int next_message(const uint8_t* buf, Py_ssize_t n, Py_ssize_t* pos, MsgView* out) noexcept nogil
cdef int decode_book(const MsgView* m, BookMsg* out) noexcept nogil
cdef int decode_instrument(const MsgView* m, InstrumentMsg* out) noexcept nogil
cdef int decode_snapshot_request(const MsgView* m, SnapshotRequestMsg* out) noexcept nogil
cdef int decode_snapshot_complete(const MsgView* m, SnapshotCompleteMsg* out) noexcept nogil

# -- encoding: each returns the bytes written at buf, or FEED_NO_ROOM when cap is too small --
cdef Py_ssize_t write_packet_header(uint8_t* buf, Py_ssize_t cap, const PacketHeader* h) noexcept nogil
cdef Py_ssize_t write_heartbeat(uint8_t* buf, Py_ssize_t cap) noexcept nogil
cdef Py_ssize_t write_book(uint8_t* buf, Py_ssize_t cap, uint16_t template_id, const BookMsg* m) noexcept nogil
cdef Py_ssize_t write_instrument(uint8_t* buf, Py_ssize_t cap, const InstrumentMsg* m) noexcept nogil
cdef Py_ssize_t write_snapshot_request(uint8_t* buf, Py_ssize_t cap, const SnapshotRequestMsg* m) noexcept nogil
cdef Py_ssize_t write_snapshot_complete(uint8_t* buf, Py_ssize_t cap, const SnapshotCompleteMsg* m) noexcept nogil

cdef class PacketWriter:
    cdef uint8_t buf[MAX_PACKET]
    cdef Py_ssize_t pos
    cdef PacketHeader header
    cdef BookMsg scratch
    cdef int _add(self, Py_ssize_t written) noexcept
    cdef int _fill_levels(self, levels, Level* dst, uint16_t* n) except -1
