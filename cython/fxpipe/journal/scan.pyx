"""Scanning segment bytes: the loop that walks records, checks commit marker, length, padding,
sequence and CRC32C, and fills a compact record table; plus the resync search that tells a
torn tail (nothing valid after the bad spot) from corruption in the middle (valid records
follow). Pure C loops over a buffer; the policy of what to do with each outcome is in
fxpipe.journal.recovery."""
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t

from fxpipe.journal.crc cimport fxj_crc32c, fxj_crc32c_init
from fxpipe.journal.layout cimport (
    COMMIT_MARK, RECORD_HEADER_SIZE, RT_INVALID, RT_RESERVED_MIN, RT_SEAL, RT_STAGE_START,
    RT_STATE_HASH, SCAN_BAD_COMMIT, SCAN_BAD_CRC, SCAN_BAD_LENGTH, SCAN_BAD_PAD, SCAN_BAD_SEQ,
    SCAN_BAD_TYPE, SCAN_END, SCAN_EOF, SCAN_MORE, SCAN_SEAL, SEAL_BODY_SIZE, SEGMENT_HEADER_SIZE,
    RecordEntry, RecordHeader, SealBody, SegmentHeader,
)

cdef extern from "fxjournal.h" nogil:
    uint32_t fxj_load_acquire_u32(const uint32_t *p)
    uint64_t fxj_last_nonzero(const unsigned char *base, uint64_t start, uint64_t end)

fxj_crc32c_init(0)

# A record whose CRC matches but whose length is absurd is still refused: no single record is
# allowed to be larger than this (the writer enforces the same bound).
cdef uint64_t MAX_PAYLOAD = 0x7FFFFFF0


cdef inline bint known_type(uint16_t t) noexcept nogil:
    if t == RT_INVALID:
        return False
    if t >= RT_RESERVED_MIN:
        return t == RT_SEAL or t == RT_STAGE_START or t == RT_STATE_HASH
    return True


cdef int check_record(const unsigned char *base, uint64_t pos, uint64_t end, uint64_t expect_seq,
                      bint verify_crc, bint check_seq) noexcept nogil:
    """The status of the record at pos: 0 when it is intact, else a SCAN_* reason."""
    cdef const RecordHeader *h
    cdef uint32_t commit
    cdef uint64_t length, padded, i
    if pos + RECORD_HEADER_SIZE > end:
        return SCAN_EOF
    h = <const RecordHeader *>(base + pos)
    commit = fxj_load_acquire_u32(&h.commit)
    if commit == 0:
        return SCAN_END
    if commit != COMMIT_MARK:
        return SCAN_BAD_COMMIT
    length = h.length
    padded = (length + 7) & ~(<uint64_t>7)
    if length > MAX_PAYLOAD or pos + RECORD_HEADER_SIZE + padded > end:
        return SCAN_BAD_LENGTH
    if verify_crc:
        if fxj_crc32c(base + pos + 8, RECORD_HEADER_SIZE - 8 + length) != h.crc:
            return SCAN_BAD_CRC
        for i in range(pos + RECORD_HEADER_SIZE + length, pos + RECORD_HEADER_SIZE + padded):
            if base[i] != 0:
                return SCAN_BAD_PAD
    if not known_type(h.type):
        return SCAN_BAD_TYPE
    if h.type == RT_SEAL:
        if length != SEAL_BODY_SIZE:
            return SCAN_BAD_LENGTH
        return SCAN_SEAL if (not check_seq or h.seq == expect_seq) else SCAN_BAD_SEQ
    if check_seq and h.seq != expect_seq:
        return SCAN_BAD_SEQ
    return 0


def scan_records(const unsigned char[::1] buf not None, uint64_t start, uint64_t end,
                 uint64_t expect_seq, bint verify_crc, RecordEntry[::1] out not None,
                 bint check_seq=True):
    """Walks records from `start`, filling `out` (a RECORD_INDEX_DTYPE array) until a stop.

    Returns (count, offset, status, next_seq): `count` rows were written, `offset` is where the
    scan stopped (the record that stopped it, or the next free byte), `status` why (SCAN_*),
    and `next_seq` the sequence expected at `offset`.
    """
    cdef const unsigned char *base = &buf[0]
    cdef uint64_t pos = start, n = 0, cap = out.shape[0]
    cdef int status = SCAN_MORE
    cdef const RecordHeader *h
    cdef RecordEntry *e
    if end > <uint64_t>buf.shape[0]:
        end = buf.shape[0]
    with nogil:
        while True:
            if n == cap:
                status = SCAN_MORE
                break
            status = check_record(base, pos, end, expect_seq, verify_crc, check_seq)
            if status != 0:
                break
            h = <const RecordHeader *>(base + pos)
            e = &out[n]
            e.offset = pos
            e.seq = h.seq
            e.ts_ns = h.ts_ns
            e.length = h.length
            e.type = h.type
            e.stage = h.stage
            e.flags = h.flags
            n += 1
            expect_seq = h.seq + 1
            pos += RECORD_HEADER_SIZE + ((h.length + 7) & ~(<uint64_t>7))
    return n, pos, status, expect_seq


def resync(const unsigned char[::1] buf not None, uint64_t start, uint64_t end):
    """Offset of the first intact record (commit, length, CRC, padding) at an 8-aligned offset
    in [start, end), or -1. Used after a bad spot: anything found means the damage is in the
    middle of the data, not a torn tail."""
    cdef const unsigned char *base = &buf[0]
    cdef uint64_t pos = (start + 7) & ~(<uint64_t>7)
    cdef int64_t found = -1
    cdef int st
    if end > <uint64_t>buf.shape[0]:
        end = buf.shape[0]
    with nogil:
        while pos + RECORD_HEADER_SIZE <= end:
            if (<const uint32_t *>(base + pos))[0] == COMMIT_MARK:
                st = check_record(base, pos, end, 0, True, False)
                if st == 0 or st == SCAN_SEAL:
                    found = pos
                    break
            pos += 8
    return found


def last_nonzero(const unsigned char[::1] buf not None, uint64_t start, uint64_t end):
    """One past the last non-zero byte in [start, end), or start when the range is all zero."""
    if end > <uint64_t>buf.shape[0]:
        end = buf.shape[0]
    if start >= end:
        return start
    return fxj_last_nonzero(&buf[0], start, end)


def record_status(const unsigned char[::1] buf not None, uint64_t pos, uint64_t expect_seq=0,
                  bint check_seq=False):
    """SCAN_* status of the one record at `pos` (0 when intact)."""
    return check_record(&buf[0], pos, buf.shape[0], expect_seq, True, check_seq)


def layout_info():
    """Sizes and offsets of the C layout, as the compiler sees them (checked by a test against
    fxpipe.journal.layout)."""
    cdef SegmentHeader sh
    cdef RecordHeader rh
    cdef SealBody sb
    cdef RecordEntry re
    cdef char *s = <char *>&sh
    cdef char *r = <char *>&rh
    cdef char *b = <char *>&sb
    cdef char *e = <char *>&re
    return {
        "SegmentHeader": (sizeof(SegmentHeader), {
            "magic": <char *>&sh.magic - s, "version": <char *>&sh.version - s,
            "header_size": <char *>&sh.header_size - s, "journal_id": <char *>&sh.journal_id - s,
            "segment_no": <char *>&sh.segment_no - s, "first_seq": <char *>&sh.first_seq - s,
            "created_ns": <char *>&sh.created_ns - s, "creator_pid": <char *>&sh.creator_pid - s,
            "size_pages": <char *>&sh.size_pages - s, "reserved": <char *>&sh.reserved - s,
            "header_crc": <char *>&sh.header_crc - s}),
        "RecordHeader": (sizeof(RecordHeader), {
            "commit": <char *>&rh.commit - r, "crc": <char *>&rh.crc - r,
            "length": <char *>&rh.length - r, "type": <char *>&rh.type - r,
            "stage": <char *>&rh.stage - r, "flags": <char *>&rh.flags - r,
            "seq": <char *>&rh.seq - r, "ts_ns": <char *>&rh.ts_ns - r}),
        "SealBody": (sizeof(SealBody), {
            "next_segment_no": <char *>&sb.next_segment_no - b,
            "record_count": <char *>&sb.record_count - b, "first_seq": <char *>&sb.first_seq - b,
            "last_seq": <char *>&sb.last_seq - b, "min_ts_ns": <char *>&sb.min_ts_ns - b,
            "max_ts_ns": <char *>&sb.max_ts_ns - b, "uniform_size": <char *>&sb.uniform_size - b,
            "uniform_type": <char *>&sb.uniform_type - b, "reserved": <char *>&sb.reserved - b,
            "reserved2": <char *>&sb.reserved2 - b}),
        "RecordEntry": (sizeof(RecordEntry), {
            "offset": <char *>&re.offset - e, "seq": <char *>&re.seq - e,
            "ts_ns": <char *>&re.ts_ns - e, "length": <char *>&re.length - e,
            "type": <char *>&re.type - e, "stage": <char *>&re.stage - e,
            "flags": <char *>&re.flags - e}),
    }
