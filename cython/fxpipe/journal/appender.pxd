from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t

cdef enum:
    FSYNC_NEVER = 0
    FSYNC_EVERY_RECORD = 1
    FSYNC_BATCH = 2        # every N records or T ns, whichever comes first


cdef class SegmentAppender:
    cdef unsigned char *base
    cdef readonly uint64_t size
    cdef uint64_t limit
    cdef readonly uint64_t pos
    cdef readonly uint64_t prepared
    cdef readonly uint64_t next_seq
    cdef readonly int64_t max_ts_ns
    cdef readonly uint64_t segment_no
    cdef int fd
    cdef readonly int policy
    cdef uint64_t sync_every_records
    cdef int64_t sync_every_ns
    cdef uint64_t unsynced
    cdef uint64_t sync_from
    cdef int64_t last_sync_ns
    cdef readonly uint64_t syncs
    cdef readonly bint failed
    cdef readonly uint64_t seg_count
    cdef readonly uint64_t seg_first_seq
    cdef readonly int64_t seg_min_ts
    cdef readonly int64_t seg_max_ts
    cdef uint32_t uni_size
    cdef uint16_t uni_type
    cdef bint mixed_size
    cdef bint mixed_type
    cdef uint64_t index_mask
    cdef readonly bint no_populate      # the kernel refused MADV_POPULATE_WRITE: prefault() is a no-op
    cdef object on_full
    cdef object on_index

    # The C-level append for Cython callers: one record, returns its sequence number.
    # `rtype` must be a user type (1 .. 0xFEFF) or RT_STAGE_START / RT_STATE_HASH.
    cdef int64_t append_raw(self, uint16_t rtype, const unsigned char *payload, uint64_t n,
                            int64_t ts_ns, uint8_t flags, uint8_t stage) except -1
    cdef int sync_now(self) except -1
    cdef int _flush(self) except -1
    cdef void _store_watermark(self, uint64_t upto) noexcept
    cdef bint _watermark_behind(self) noexcept
    cdef int prepare(self, uint64_t upto) except -1
    cdef int _zero_to(self, uint64_t target) except -1
