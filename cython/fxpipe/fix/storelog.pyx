# cython: language_level=3, boundscheck=False, wraparound=False
"""A FIX session store's message-log record, written in C into the log's mapping.

Every message a session sends is in its store's log before it goes on the wire, so this is on
the order path once per order. In Python (a struct pack, two zlib.crc32 calls, a concatenation
and a slice assignment into the mmap) it cost ~3-5 us; here one pass over the bytes.

The checksum is CRC-32 folded with carry-less multiplication where the CPU has it
(fxpipe/includes/fx_crc32.h).

Record: | magic u16 | version u8 | flags u8 | seq u64 | length u32 | crc32 u32 | payload |, little
endian; crc32 is zlib's CRC-32 of the first 16 header bytes, continued over the payload (what
fxpipe.fix.session.store reads back with zlib.crc32).
"""
from cpython.buffer cimport PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy

cdef enum:
    RECORD_HEADER_SIZE_C = 20      # | magic u16 | version u8 | flags u8 | seq u64 | length u32 | crc32 u32 |
RECORD_HEADER_SIZE = RECORD_HEADER_SIZE_C


cdef extern from "fx_crc32.h" nogil:
    void fx_crc32_init()
    uint32_t fx_crc32(uint32_t crc, const uint8_t* p, size_t n)
    uint32_t fx_crc32_table_only(uint32_t crc, const uint8_t* p, size_t n)
    int fx_crc32_folding()


fx_crc32_init()


cdef inline uint32_t _crc32(uint32_t crc, const uint8_t* p, Py_ssize_t n) noexcept nogil:
    return fx_crc32(crc, p, <size_t>n)


cdef inline void _le(uint8_t* p, uint64_t v, int n) noexcept nogil:
    cdef int i
    for i in range(n):
        p[i] = <uint8_t>(v >> (8 * i))


def crc32(data, uint32_t crc=0, bint table_only=False):
    """zlib.crc32(data, crc), the same number; table_only: without the folding path (the tests
    hold both to zlib's numbers)."""
    cdef Py_buffer view
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        if table_only:
            return fx_crc32_table_only(crc, <const uint8_t*>view.buf, <size_t>view.len)
        return _crc32(crc, <const uint8_t*>view.buf, view.len)
    finally:
        PyBuffer_Release(&view)


def crc32_folding() -> bool:
    """Whether this CPU's checksums take the carry-less multiplication path."""
    return bool(fx_crc32_folding())


cdef Py_ssize_t _write_record(object mm, Py_ssize_t offset, uint16_t magic, uint8_t version, uint8_t flags,
                              uint64_t seq, object payload) except -1:
    cdef Py_buffer dst, src
    cdef uint8_t head[RECORD_HEADER_SIZE_C]
    cdef const uint8_t* p
    cdef Py_ssize_t n
    cdef uint32_t crc
    cdef bint own_src = False
    if type(payload) is bytes:
        p, n = <const uint8_t*>PyBytes_AS_STRING(payload), PyBytes_GET_SIZE(payload)
    else:
        PyObject_GetBuffer(payload, &src, PyBUF_SIMPLE)
        own_src = True
        p, n = <const uint8_t*>src.buf, src.len
    try:
        if n > 0xFFFFFFFF:
            raise ValueError(f"a record holds at most 4 GiB, got {n} bytes")
        PyObject_GetBuffer(mm, &dst, PyBUF_WRITABLE)
        try:
            if offset < 0 or offset + RECORD_HEADER_SIZE_C + n > dst.len:
                raise ValueError(f"a record of {n} bytes at {offset} does not fit in {dst.len} bytes")
            _le(head, magic, 2)
            head[2] = version
            head[3] = flags
            _le(head + 4, seq, 8)
            _le(head + 12, <uint64_t>n, 4)
            crc = _crc32(_crc32(0, head, 16), p, n)
            _le(head + 16, crc, 4)
            memcpy(<uint8_t*>dst.buf + offset, head, RECORD_HEADER_SIZE_C)
            memcpy(<uint8_t*>dst.buf + offset + RECORD_HEADER_SIZE_C, p, n)
        finally:
            PyBuffer_Release(&dst)
    finally:
        if own_src:
            PyBuffer_Release(&src)
    return offset + RECORD_HEADER_SIZE_C + n


def write_record(mm, Py_ssize_t offset, uint16_t magic, uint8_t version, uint8_t flags, uint64_t seq,
                 payload) -> int:
    """Writes the record of `payload` at `offset` of the writable buffer mm (the log's mapping);
    returns the offset just after it. The header is written first, then the payload: a crash
    between leaves a record whose checksum fails, which recovery cuts."""
    return _write_record(mm, offset, magic, version, flags, seq, payload)


cdef class StoreLog:
    """What a FIX session's FileStore (fxpipe.fix.session.store) does on every message sent,
    in C: the message into the log (its record through the log's mapping, no syscall) and the
    number used. FileStore is this class with everything else (open, recovery, the index, the
    slots, resends) around it; the attributes are the store's own."""
    # attributes: storelog.pxd

    def _log_format(self, uint16_t magic, uint8_t version, uint8_t committed_flag, Py_ssize_t max_record,
                    bint sync_each):
        """The record layout (magic, version, the committed flag), the longest message taken, and
        whether each write is made durable at once (the store's fsync policy)."""
        self._magic, self._version, self._committed = magic, version, committed_flag
        self._max_record = max_record
        self._sync_each = sync_each

    cpdef int64_t log_sent(self, int64_t seq, raw) except -1:
        """save_sent's first half, all a message needs before it goes out: it is in the log
        (through the mapping, no syscall) and seq is used. Returns where it lies, for
        index_sent. A crash before the index entry loses nothing: recovery's tail scan indexes
        the log past the slot's indexed_end."""
        return self.log_sent_c(seq, raw)

    cdef int64_t log_sent_c(self, int64_t seq, raw) except -1:
        """log_sent() for a Cython caller (the session's outbox): a C call without the instance
        look-up a cpdef call makes; the caller uses it only while the object's type keeps
        StoreLog.log_sent (fxpipe.includes.overrides)."""
        cdef Py_ssize_t n = len(raw)
        cdef int64_t offset
        if n > self._max_record:
            self._refuse(n)
        offset = self._append_record(seq, raw, self._committed)
        if seq >= self.next_sender:
            self.next_sender = seq + 1
        return offset

    def _append(self, int64_t seq, payload, int flags) -> int:
        return self._append_record(seq, payload, <uint8_t>flags)

    cdef int64_t _append_record(self, int64_t seq, payload, uint8_t flags) except -1:
        cdef int64_t offset = self._log_end
        cdef int64_t end = offset + RECORD_HEADER_SIZE_C + len(payload)
        if end > self._log_cap:
            self._grow_log(end)
        if self._log_map is None:
            raise ValueError("the store's log is used only between open() and close()")
        # Into the page cache through the mapping, as write() would put it, without the
        # syscall: a crash leaves the record whole or torn, and recovery tells which.
        self._log_end = _write_record(self._log_map, offset, self._magic, self._version, flags, <uint64_t>seq,
                                      payload)
        if self._sync_each:
            self._wrote(self._log_fd)
        else:
            self._dirty = True
        return offset


def write_slot(mm, Py_ssize_t offset, bytes magic, uint32_t version, uint64_t generation, uint64_t next_sender,
               uint64_t next_target, int64_t creation_ns, uint64_t indexed_end) -> None:
    """Writes a sequence-number slot (| magic 4s | version u32 | generation u64 | next_sender u64 |
    next_target u64 | creation_ns i64 | indexed_end u64 | crc32 u32 |, zlib's CRC-32 of what
    precedes it) at `offset` of the writable buffer mm: once per message sent and per message
    taken, so in C."""
    cdef Py_buffer dst
    cdef uint8_t slot[52]
    if PyBytes_GET_SIZE(magic) != 4:
        raise ValueError("a slot's magic is 4 bytes")
    memcpy(slot, PyBytes_AS_STRING(magic), 4)
    _le(slot + 4, version, 4)
    _le(slot + 8, generation, 8)
    _le(slot + 16, next_sender, 8)
    _le(slot + 24, next_target, 8)
    _le(slot + 32, <uint64_t>creation_ns, 8)
    _le(slot + 40, indexed_end, 8)
    _le(slot + 48, _crc32(0, slot, 48), 4)
    PyObject_GetBuffer(mm, &dst, PyBUF_WRITABLE)
    try:
        if offset < 0 or offset + 52 > dst.len:
            raise ValueError(f"a slot at {offset} does not fit in {dst.len} bytes")
        memcpy(<uint8_t*>dst.buf + offset, slot, 52)
    finally:
        PyBuffer_Release(&dst)
