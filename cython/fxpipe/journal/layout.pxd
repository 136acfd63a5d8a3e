# The on-disk layout of a journal segment, declared once. src/fxpipe/journal/layout.py mirrors
# it as named offsets and numpy dtypes; tests/journal/test_journal_layout.py checks the two
# agree (sizes, offsets, 8-byte alignment) against the C compiler's own offsetof/sizeof.
#
# Segment file NNNNNNNNNNNN.fxj (little-endian, preallocated to segment_size):
#
#   0       8       12      16          24           32          40           48    52     56    60    64
#   +-------+-------+-------+-----------+------------+-----------+------------+-----+------+-----+-----+
#   | magic |version|hdr sz | journal id| segment no | first seq | created ns | pid |pages | rsv | crc |
#   +-------+-------+-------+-----------+------------+-----------+------------+-----+------+-----+-----+
#   then records from offset 64, each 8-byte aligned, then zeros up to segment_size.
#   pages = segment_size / 4096, so a file shorter than its header says is seen as truncated;
#   rsv = synced watermark in 8-byte units (batch fsync policy; 0 = not kept): everything before
#   it is on stable storage, so recovery cuts a hole after it and refuses one before it;
#   crc = CRC32C of bytes [0, 60).
#
# Record (32-byte header, payload, zero padding to a multiple of 8):
#
#   0        4        8        12     14     15     16           24           32
#   +--------+--------+--------+------+------+------+------------+------------+------------+---+
#   | commit |  crc   | length | type |stage |flags |  sequence  | timestamp  |  payload   |pad|
#   +--------+--------+--------+------+------+------+------------+------------+------------+---+
#   commit: COMMIT_MARK, stored last with release order; 0 while the record is being written.
#   crc:    CRC32C of bytes [8, 32 + length): every header field after it, and the payload.
#
# The last record of a full segment is a seal (type RT_SEAL) whose body summarises the segment
# and names the next one; seals take no sequence number of their own (their seq field holds the
# next segment's first sequence).
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t

cdef enum:
    SEGMENT_HEADER_SIZE = 64
    RECORD_HEADER_SIZE = 32
    RECORD_ALIGN = 8
    LAYOUT_VERSION = 1
    COMMIT_MARK = 0x43525846     # "FXRC" little-endian
    SEAL_BODY_SIZE = 64
    SEAL_RECORD_SIZE = 96        # RECORD_HEADER_SIZE + SEAL_BODY_SIZE
    # Journal-internal record types (0xFF00 and above are reserved for the journal).
    RT_INVALID = 0
    RT_RESERVED_MIN = 0xFF00
    RT_STAGE_START = 0xFF01
    RT_STATE_HASH = 0xFF02
    RT_SEAL = 0xFFFF

# "FXJRNL\x00\x01" read as a little-endian uint64
cdef extern from *:
    """
    #define FXJ_SEGMENT_MAGIC 0x01004C4E524A5846ULL
    """
    uint64_t FXJ_SEGMENT_MAGIC

ctypedef struct SegmentHeader:
    uint64_t magic
    uint32_t version
    uint32_t header_size
    uint64_t journal_id
    uint64_t segment_no
    uint64_t first_seq
    int64_t created_ns
    uint32_t creator_pid
    uint32_t size_pages
    uint32_t reserved
    uint32_t header_crc

ctypedef struct RecordHeader:
    uint32_t commit
    uint32_t crc
    uint32_t length
    uint16_t type
    uint8_t stage
    uint8_t flags
    uint64_t seq
    int64_t ts_ns

ctypedef struct SealBody:
    uint64_t next_segment_no
    uint64_t record_count
    uint64_t first_seq
    uint64_t last_seq
    int64_t min_ts_ns
    int64_t max_ts_ns
    uint32_t uniform_size      # record size when every record has the same size, else 0
    uint16_t uniform_type      # record type when every record has the same type, else 0
    uint16_t reserved
    uint64_t reserved2

# One row of a segment's record table (what a scan returns; numpy RECORD_INDEX_DTYPE).
ctypedef struct RecordEntry:
    uint64_t offset
    uint64_t seq
    int64_t ts_ns
    uint32_t length
    uint16_t type
    uint8_t stage
    uint8_t flags

# Why a scan stopped (scan.pyx); the Python names are in fxpipe.journal.layout.ScanStatus.
cdef enum:
    SCAN_MORE = 0          # the output table is full; call again from the returned offset
    SCAN_END = 1           # a zero commit word: no record here (end of data, or one being written)
    SCAN_SEAL = 2          # a valid seal record at the returned offset
    SCAN_EOF = 3           # the data ends before another record header would fit
    SCAN_BAD_COMMIT = 4    # the commit word is neither 0 nor COMMIT_MARK
    SCAN_BAD_LENGTH = 5    # the length runs past the end of the data
    SCAN_BAD_CRC = 6       # the checksum does not match
    SCAN_BAD_PAD = 7       # padding after the payload is not zero
    SCAN_BAD_SEQ = 8       # an intact record whose sequence is not the one expected
    SCAN_BAD_TYPE = 9      # type 0, or a reserved type the journal does not define
