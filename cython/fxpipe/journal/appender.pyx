"""The journal's hot path: appending records into the memory-mapped current segment.

One SegmentAppender per writer. It owns the mapping of the segment being written, stamps each
record (sequence, CRC32C, commit marker stored last with release order), keeps the segment's
summary for its seal, samples the sparse index, and applies the fsync policy with msync. The
rare work (rolling to a new segment, recording an index entry) is delegated to two Python
callbacks so the per-record path stays a C loop. fxpipe.journal.writer wraps it.

Pages are prepared a megabyte ahead of the writer by pwrite()-ing zeros over them: the kernel
then sets up a whole megabyte of page cache in one call instead of one costly first-write
fault per page (about half the CPU per page on ext4), and a full disk surfaces as a clean
error there rather than as a SIGBUS inside the mapping.

The pwrite leaves the pages out of this process's page tables, and on a file system that tracks
dirty pages (ext4) a shared mapping's page is write-protected again each time it is written
back: the first record into each 4 KB then takes a fault (~2 us on a VM), on the hot path.
prefault() maps the next stretch writable ahead of the writer (MADV_POPULATE_WRITE), for a
writer to call when it is idle.
"""
from cpython.buffer cimport PyBUF_C_CONTIGUOUS, PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_GET_SIZE
from libc.errno cimport errno
from libc.stdint cimport INT64_MAX, INT64_MIN, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset
from posix.mman cimport MAP_FAILED, MAP_SHARED, MS_SYNC, PROT_READ, PROT_WRITE, mmap, msync, munmap

from fxpipe.journal.crc cimport fxj_crc32c, fxj_crc32c_init
from fxpipe.journal.layout cimport (
    COMMIT_MARK, RECORD_HEADER_SIZE, RT_RESERVED_MIN, RT_SEAL, RT_STAGE_START, RT_STATE_HASH,
    SEAL_BODY_SIZE, SEAL_RECORD_SIZE, SEGMENT_HEADER_SIZE, RecordHeader, SealBody, SegmentHeader,
)

import os

cdef extern from "fxjournal.h" nogil:
    void fxj_store_release_u32(uint32_t *p, uint32_t v)
    void fxj_store_release_u64(uint64_t *p, uint64_t v)
    int64_t fxj_monotonic_ns()
    const unsigned char *fxj_zeros
    uint64_t FXJ_PREPARE_CHUNK

cdef extern from "<unistd.h>" nogil:
    ssize_t pwrite(int fd, const void *buf, size_t count, long offset)

from libc.errno cimport EINTR, EINVAL, ENOSYS

cdef extern from "<sys/mman.h>" nogil:
    int madvise(void *addr, size_t length, int advice)

cdef enum:
    FXJ_MADV_POPULATE_WRITE = 23      # Linux 5.14+; older kernels say EINVAL

fxj_crc32c_init(0)

MAX_PAYLOAD = 0x7FFFFFF0
MAX_SEGMENT_SIZE = 0x7FFFFFFF8    # the synced watermark counts 8-byte units in 32 bits
POLICY_NEVER = FSYNC_NEVER
POLICY_EVERY_RECORD = FSYNC_EVERY_RECORD
POLICY_BATCH = FSYNC_BATCH


class JournalFailedError(OSError):
    """A sync failed: what was written since the last good sync may not be on disk, and the
    kernel may already have dropped the error, so this writer refuses to go on."""


cdef int _check_flags(int flags, int stage) except -1:
    if flags < 0 or flags > 255 or stage < 0 or stage > 255:
        raise ValueError(f"flags ({flags}) and stage ({stage}) must be within 0..255")
    return 0


cdef Py_ssize_t _row_count(Py_buffer* view, str caller) except -1:
    """The rows of an array an append takes one record per row from."""
    if view.ndim < 1:
        raise ValueError(f"{caller} needs an array of rows (ndim >= 1)")
    return view.shape[0]


cdef class SegmentAppender:

    def __cinit__(self, on_full, on_index, int policy, uint64_t sync_every_records,
                  int64_t sync_every_ns, uint64_t index_every, uint64_t next_seq, int64_t max_ts_ns):
        if index_every == 0 or (index_every & (index_every - 1)) != 0:
            raise ValueError(f"index_every must be a power of two, got {index_every}")
        if policy not in (FSYNC_NEVER, FSYNC_EVERY_RECORD, FSYNC_BATCH):
            raise ValueError(f"unknown fsync policy {policy}")
        self.on_full = on_full
        self.on_index = on_index
        self.policy = policy
        self.sync_every_records = sync_every_records
        self.sync_every_ns = sync_every_ns
        self.index_mask = index_every - 1
        self.next_seq = next_seq
        self.max_ts_ns = max_ts_ns
        self.base = NULL
        self.fd = -1

    def __dealloc__(self):
        if self.base != NULL:
            munmap(self.base, self.size)
            self.base = NULL

    def attach(self, int fd, uint64_t size, uint64_t segment_no, uint64_t pos, uint64_t first_seq,
               uint64_t count, int64_t min_ts, int64_t max_ts, uint32_t uni_size,
               uint16_t uni_type, bint mixed_size, bint mixed_type):
        """Maps segment `segment_no` (open read-write on fd, `size` bytes) and resumes at `pos`
        with the summary of the records already in it."""
        cdef void *p
        cdef uint64_t wm
        if self.base != NULL:
            raise RuntimeError("detach the current segment first")
        if pos < SEGMENT_HEADER_SIZE or pos + SEAL_RECORD_SIZE > size or (pos & 7):
            raise ValueError(f"cannot resume segment {segment_no} at offset {pos} (size {size})")
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        if p == MAP_FAILED:
            raise OSError(errno, f"mmap of journal segment {segment_no}: {os.strerror(errno)}")
        self.base = <unsigned char *>p
        self.size = size
        self.limit = size - SEAL_RECORD_SIZE
        self.fd = fd
        self.segment_no = segment_no
        self.pos = pos
        self.prepared = pos
        self.sync_from = pos
        self.unsynced = 0
        self.last_sync_ns = fxj_monotonic_ns()
        self.seg_first_seq = first_seq
        self.seg_count = count
        self.seg_min_ts = min_ts
        self.seg_max_ts = max_ts
        self.uni_size = uni_size
        self.uni_type = uni_type
        self.mixed_size = mixed_size
        self.mixed_type = mixed_type
        wm = <uint64_t>(<uint32_t *>(self.base + 56))[0] << 3
        if self.policy == FSYNC_BATCH:
            # The next sync also flushes what an earlier writer left unsynced (a crash leaves
            # it in the page cache), before the watermark moves past it.
            self.sync_from = wm if SEGMENT_HEADER_SIZE <= wm < pos else (pos if wm else SEGMENT_HEADER_SIZE)
        elif wm:
            # Not kept under this policy: clear it durably, so a stale watermark below records
            # this writer syncs can never make recovery cut them as unsynced.
            self._store_watermark(0)
            if msync(self.base, 4096, MS_SYNC) != 0:
                raise OSError(errno, f"msync of journal segment {segment_no} header: {os.strerror(errno)}")

    def detach(self):
        """Unmaps the current segment (syncing first unless the policy is never)."""
        if self.base == NULL:
            return
        if self.policy != FSYNC_NEVER and not self.failed:
            self.sync_now()
        munmap(self.base, self.size)
        self.base = NULL
        self.fd = -1

    @property
    def attached(self):
        return self.base != NULL

    def prefault(self, uint64_t nbytes):
        """Makes the next nbytes of the segment past the write position ready for the appends to
        come: zeroed (prepare) and mapped writable in this process (MADV_POPULATE_WRITE), so they
        take no page fault. For an idle moment: it costs what the faults would have (~2 us a
        page) and a write-back of the segment undoes it, so a writer calls it again whenever it
        appended since. Returns the bytes made ready: 0 when detached, at the segment's end, or
        on a kernel without MADV_POPULATE_WRITE (the appends then fault as they go). A full disk
        raises here, as it would on the append that reached it."""
        cdef uint64_t start, end
        cdef int rc
        if self.base == NULL or self.no_populate or nbytes == 0:
            return 0
        start = self.pos & ~(<uint64_t>4095)
        end = self.pos + nbytes
        if end > self.limit:
            end = self.limit
        end = (end + 4095) & ~(<uint64_t>4095)
        if end > self.size:
            end = self.size
        if end <= self.pos:
            return 0
        if end > self.prepared:
            # only what is readied now: a megabyte of zeros at once (the appender's own step)
            # would hold an idle writer for ~0.5 ms, and a quote arriving then would wait
            self._zero_to(end)
        if end > self.prepared:
            end = self.prepared
        with nogil:
            rc = madvise(self.base + start, end - start, FXJ_MADV_POPULATE_WRITE)
        if rc != 0:
            if errno == EINVAL or errno == ENOSYS:
                self.no_populate = True
            return 0            # ENOMEM, EINTR, ...: the appends fault as they go
        return end - start

    cdef int64_t append_raw(self, uint16_t rtype, const unsigned char *payload, uint64_t n,
                            int64_t ts_ns, uint8_t flags, uint8_t stage) except -1:
        cdef uint64_t padded = (n + 7) & ~(<uint64_t>7)
        cdef uint64_t rsz = RECORD_HEADER_SIZE + padded
        cdef uint64_t seq, at
        cdef RecordHeader *h
        cdef bint index_it
        if n > MAX_PAYLOAD:
            # The record's length field is 32 bits and readers take it as signed: refuse before
            # anything is written, whatever the segment size.
            raise ValueError(f"a {n}-byte payload is over the journal's record limit of {MAX_PAYLOAD} bytes")
        if self.failed:
            raise JournalFailedError("journal writer failed after a sync error; reopen the journal")
        if self.base == NULL:
            raise ValueError("journal writer is closed")
        if self.pos + rsz > self.limit:
            if rsz > self.size - SEGMENT_HEADER_SIZE - SEAL_RECORD_SIZE:
                raise ValueError(f"a {n}-byte payload cannot fit in a {self.size}-byte segment")
            self.on_full(rsz)
        if self.pos + rsz > self.prepared:
            self.prepare(self.pos + rsz)
        seq = self.next_seq
        h = <RecordHeader *>(self.base + self.pos)
        h.length = <uint32_t>n
        h.type = rtype
        h.stage = stage
        h.flags = flags
        h.seq = seq
        h.ts_ns = ts_ns
        if n:
            memcpy(self.base + self.pos + RECORD_HEADER_SIZE, payload, n)
        if padded != n:
            memset(self.base + self.pos + RECORD_HEADER_SIZE + n, 0, padded - n)
        h.crc = fxj_crc32c(self.base + self.pos + 8, RECORD_HEADER_SIZE - 8 + n)
        fxj_store_release_u32(&h.commit, COMMIT_MARK)
        # The record is committed: account for it before anything that may raise (the index
        # callback, a KeyboardInterrupt), so the next append can never overwrite it.
        at = self.pos
        self.pos += rsz
        self.next_seq = seq + 1
        self.seg_count += 1
        if ts_ns > self.max_ts_ns:
            self.max_ts_ns = ts_ns
        if self.seg_count == 1:
            self.seg_first_seq = seq
            self.seg_min_ts = ts_ns
            self.seg_max_ts = ts_ns
            self.uni_size = <uint32_t>rsz
            self.uni_type = rtype
            index_it = True
        else:
            if ts_ns < self.seg_min_ts:
                self.seg_min_ts = ts_ns
            if ts_ns > self.seg_max_ts:
                self.seg_max_ts = ts_ns
            if rsz != self.uni_size:
                self.mixed_size = True
            if rtype != self.uni_type:
                self.mixed_type = True
            index_it = (seq & self.index_mask) == 0
        if index_it:
            self.on_index(seq, self.max_ts_ns, self.segment_no, at)
        self.unsynced += 1
        if self.policy == FSYNC_EVERY_RECORD:
            self.sync_now()
        elif self.policy == FSYNC_BATCH:
            if self.sync_every_records and self.unsynced >= self.sync_every_records:
                self.sync_now()
            elif self.sync_every_ns and fxj_monotonic_ns() - self.last_sync_ns >= self.sync_every_ns:
                self.sync_now()
        return <int64_t>seq

    cdef int prepare(self, uint64_t upto) except -1:
        """Zeroes [prepared, upto + a chunk) with pwrite (page cache set up in bulk)."""
        cdef uint64_t target = upto if upto > self.prepared + FXJ_PREPARE_CHUNK else self.prepared + FXJ_PREPARE_CHUNK
        return self._zero_to(target)

    cdef int _zero_to(self, uint64_t target) except -1:
        """Zeroes [prepared, target rounded up to a page) with pwrite."""
        cdef uint64_t n
        cdef ssize_t r
        target = (target + 4095) & ~(<uint64_t>4095)
        if target > self.size:
            target = self.size
        while self.prepared < target:
            n = target - self.prepared
            if n > FXJ_PREPARE_CHUNK:
                n = FXJ_PREPARE_CHUNK
            with nogil:
                r = pwrite(self.fd, fxj_zeros, n, <long>self.prepared)
            if r < 0:
                if errno == EINTR:
                    continue
                raise OSError(errno, f"cannot extend journal segment {self.segment_no} at offset "
                                     f"{self.prepared}: {os.strerror(errno)}; free disk space")
            self.prepared += <uint64_t>r
        return 0

    cdef bint _watermark_behind(self) noexcept:
        return self.policy == FSYNC_BATCH and (<uint32_t *>(self.base + 56))[0] != <uint32_t>(self.pos >> 3)

    cdef void _store_watermark(self, uint64_t upto) noexcept:
        """Record in the segment header that everything before `upto` is on stable storage
        (batch policy): recovery then tells a hole a power cut left after it (never synced,
        cut) from corruption before it (refused). Written after the data's msync and flushed
        by its own, so it never runs ahead of the data; reserved word and header CRC change in
        one 8-byte store, so a reader never sees them disagree."""
        cdef SegmentHeader hdr
        cdef uint64_t word
        memcpy(&hdr, self.base, SEGMENT_HEADER_SIZE)
        hdr.reserved = <uint32_t>(upto >> 3)
        hdr.header_crc = fxj_crc32c(&hdr, 60)
        word = (<uint64_t>hdr.header_crc << 32) | hdr.reserved
        fxj_store_release_u64(<uint64_t *>(self.base + 56), word)

    cdef int sync_now(self) except -1:
        if self.base == NULL or (self.pos <= self.sync_from and not self._watermark_behind()):
            self.unsynced = 0
            self.last_sync_ns = fxj_monotonic_ns()
            return 0
        self._flush()
        self.syncs += 1
        return 0

    cdef int _flush(self) except -1:
        """msync [sync_from, pos); under the batch policy, then the watermark and its page."""
        cdef uint64_t start = self.sync_from & ~(<uint64_t>4095)
        cdef int rc
        with nogil:
            rc = msync(self.base + start, self.pos - start, MS_SYNC)
        if rc != 0:
            self.failed = True
            raise JournalFailedError(errno, f"msync of journal segment {self.segment_no}: "
                                            f"{os.strerror(errno)}")
        if self.policy == FSYNC_BATCH:
            self._store_watermark(self.pos)
            with nogil:
                rc = msync(self.base, 4096, MS_SYNC)
            if rc != 0:
                self.failed = True
                raise JournalFailedError(errno, f"msync of journal segment {self.segment_no} header: "
                                                f"{os.strerror(errno)}")
        self.sync_from = self.pos
        self.unsynced = 0
        self.last_sync_ns = fxj_monotonic_ns()
        return 0

    def append(self, int rtype, payload, int64_t ts_ns, int flags=0, int stage=0):
        """Appends one record of user type `rtype` (1 .. 0xFEFF) with a bytes-like payload;
        returns its sequence number."""
        cdef Py_buffer view
        cdef int64_t seq
        if rtype <= 0 or rtype >= RT_RESERVED_MIN:
            raise ValueError(f"record type {rtype} is outside 1..{RT_RESERVED_MIN - 1}")
        _check_flags(flags, stage)
        if PyBytes_CheckExact(payload):
            return self.append_raw(<uint16_t>rtype, <const unsigned char *>PyBytes_AS_STRING(payload),
                                   <uint64_t>PyBytes_GET_SIZE(payload), ts_ns, <uint8_t>flags,
                                   <uint8_t>stage)
        PyObject_GetBuffer(payload, &view, PyBUF_SIMPLE)
        try:
            seq = self.append_raw(<uint16_t>rtype, <const unsigned char *>view.buf, <uint64_t>view.len,
                                  ts_ns, <uint8_t>flags, <uint8_t>stage)
        finally:
            PyBuffer_Release(&view)
        return seq

    def append_internal(self, int rtype, payload, int64_t ts_ns, int flags=0, int stage=0):
        """Appends a journal-defined record (stage start, state hash)."""
        if rtype != RT_STAGE_START and rtype != RT_STATE_HASH:
            raise ValueError(f"record type {rtype:#x} is not a journal-defined record")
        cdef bytes data = bytes(payload)
        return self.append_raw(<uint16_t>rtype, <const unsigned char *>PyBytes_AS_STRING(data),
                               <uint64_t>PyBytes_GET_SIZE(data), ts_ns, <uint8_t>flags, <uint8_t>stage)

    def append_array(self, int rtype, events, ts_ns, int flags=0, int stage=0):
        """Appends every row of a C-contiguous array (a numpy structured array of one event
        type, or an (N, size) uint8 array) as one record each; `ts_ns` is an int64 array of
        N timestamps (a strided field view is fine) or one int for all. Returns the first
        sequence number, or -1 when there are no rows."""
        cdef Py_buffer view
        cdef const int64_t[:] ts
        cdef int64_t one_ts = 0, first = -1, seq
        cdef Py_ssize_t count, size, i
        cdef bint per_row
        cdef const unsigned char *p
        if rtype <= 0 or rtype >= RT_RESERVED_MIN:
            raise ValueError(f"record type {rtype} is outside 1..{RT_RESERVED_MIN - 1}")
        _check_flags(flags, stage)
        PyObject_GetBuffer(events, &view, PyBUF_C_CONTIGUOUS)
        try:
            count = _row_count(&view, "append_array")
            if count == 0:
                return -1
            size = view.len // count
            per_row = not isinstance(ts_ns, int)
            if per_row:
                ts = ts_ns
                if ts.shape[0] != count:
                    raise ValueError(f"{ts.shape[0]} timestamps for {count} rows")
            else:
                one_ts = ts_ns
            p = <const unsigned char *>view.buf
            for i in range(count):
                seq = self.append_raw(<uint16_t>rtype, p + i * size, <uint64_t>size,
                                      ts[i] if per_row else one_ts, <uint8_t>flags, <uint8_t>stage)
                if i == 0:
                    first = seq
        finally:
            PyBuffer_Release(&view)
        return first

    def append_slots(self, events, Py_ssize_t ts_offset, int flags=0, int stage=0):
        """Appends every row of a C-contiguous array of event slots (a structured array of
        fxpipe events, or an (N, size) uint8 array) as one record each, typed by the row's own
        first two bytes (the event header's type, little-endian) and stamped with the int64 at
        ts_offset in the row: a batch of mixed types in one call, where append_array takes one
        run of one type per call. Every row's type is checked before anything is written.
        Returns the first sequence number, or -1 when there are no rows."""
        cdef Py_buffer view
        cdef int64_t first = -1, seq, ts
        cdef Py_ssize_t count, size, i
        cdef uint16_t rtype
        cdef const unsigned char *p
        cdef const unsigned char *row
        _check_flags(flags, stage)
        PyObject_GetBuffer(events, &view, PyBUF_C_CONTIGUOUS)
        try:
            count = _row_count(&view, "append_slots")
            if count == 0:
                return -1
            size = view.len // count
            if size < 2 or ts_offset < 0 or ts_offset + 8 > size:
                raise ValueError(f"rows of {size} bytes hold no int64 timestamp at offset {ts_offset}")
            p = <const unsigned char *>view.buf
            for i in range(count):
                rtype = <uint16_t>(p[i * size] | (p[i * size + 1] << 8))
                if rtype == 0 or rtype >= RT_RESERVED_MIN:
                    raise ValueError(f"row {i}: record type {rtype} is outside 1..{RT_RESERVED_MIN - 1}; "
                                     f"nothing of this batch was written")
            for i in range(count):
                row = p + i * size
                rtype = <uint16_t>(row[0] | (row[1] << 8))
                memcpy(&ts, row + ts_offset, 8)
                seq = self.append_raw(rtype, row, <uint64_t>size, ts, <uint8_t>flags, <uint8_t>stage)
                if i == 0:
                    first = seq
        finally:
            PyBuffer_Release(&view)
        return first

    def write_seal(self, uint64_t next_segment_no):
        """Closes the current segment with a seal record naming the next one; returns the
        seal's offset. The segment stays mapped until detach()."""
        cdef RecordHeader *h
        cdef SealBody *b
        cdef uint64_t at = self.pos
        if self.base == NULL:
            raise ValueError("journal writer is closed")
        h = <RecordHeader *>(self.base + at)
        b = <SealBody *>(self.base + at + RECORD_HEADER_SIZE)
        memset(b, 0, SEAL_BODY_SIZE)
        b.next_segment_no = next_segment_no
        b.record_count = self.seg_count
        b.first_seq = self.seg_first_seq if self.seg_count else self.next_seq
        b.last_seq = self.next_seq - 1
        b.min_ts_ns = self.seg_min_ts if self.seg_count else 0
        b.max_ts_ns = self.seg_max_ts if self.seg_count else 0
        b.uniform_size = 0 if (self.mixed_size or not self.seg_count) else self.uni_size
        b.uniform_type = 0 if (self.mixed_type or not self.seg_count) else self.uni_type
        h.length = SEAL_BODY_SIZE
        h.type = RT_SEAL
        h.stage = 0
        h.flags = 0
        h.seq = self.next_seq
        h.ts_ns = self.seg_max_ts if self.seg_count else 0
        h.crc = fxj_crc32c(self.base + at + 8, RECORD_HEADER_SIZE - 8 + SEAL_BODY_SIZE)
        fxj_store_release_u32(&h.commit, COMMIT_MARK)
        self.pos = at + SEAL_RECORD_SIZE
        if self.policy != FSYNC_NEVER:
            self.sync_now()
        return at

    def sync(self):
        """msync everything written so far, whatever the policy."""
        self.sync_now()

    def maybe_sync(self):
        """Applies the time part of a batch policy while no records arrive (call it from an
        idle loop); returns True when it synced."""
        if self.policy == FSYNC_BATCH and self.unsynced and self.sync_every_ns and \
                fxj_monotonic_ns() - self.last_sync_ns >= self.sync_every_ns:
            self.sync_now()
            return True
        return False

    @property
    def unsynced_records(self):
        return self.unsynced

    def segment_summary(self):
        """(count, first_seq, min_ts, max_ts, uniform_size, uniform_type) of the current segment."""
        return (self.seg_count, self.seg_first_seq, self.seg_min_ts, self.seg_max_ts,
                0 if (self.mixed_size or not self.seg_count) else self.uni_size,
                0 if (self.mixed_type or not self.seg_count) else self.uni_type)
