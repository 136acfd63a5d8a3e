# cython: language_level=3
"""Encoder and decoder of fxpipe's binary market-data feed (layout in sbe.pxd and
docs/binary-feed.md).

The C-level functions read and write packets with no Python objects, for the receiver's hot
path (fxpipe.feed.books) and any other Cython module that cimports them. PacketWriter is the
publisher's encoder; decode_packet() turns a packet into Python dicts for tests and tools.
Decoding follows SBE's rules for growth: a root block or group entry longer than this version
knows is skipped by its declared length, a shorter one is refused, an unknown template is
stepped over by its size.
"""
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset

from fxpipe.includes.feed_le cimport (
    le_i64,
    le_put_i64,
    le_put_u16,
    le_put_u32,
    le_put_u64,
    le_u16,
    le_u32,
    le_u64,
)

# Python mirrors of the C constants, for tests, tools and the publisher
SCHEMA_ID = FEED_SCHEMA_ID
SCHEMA_VERSION = FEED_SCHEMA_VERSION
PACKET_HEADER_BYTES = PACKET_HEADER_SIZE
MESSAGE_HEADER_BYTES = MESSAGE_HEADER_SIZE
GROUP_HEADER_BYTES = GROUP_HEADER_SIZE
LEVEL_BYTES = LEVEL_SIZE
MAX_LEVELS_PER_SIDE = MAX_LEVELS
MAX_PACKET_BYTES = MAX_PACKET
TEMPLATES = {
    "heartbeat": TEMPLATE_HEARTBEAT, "book_refresh": TEMPLATE_BOOK_REFRESH, "snapshot": TEMPLATE_SNAPSHOT,
    "instrument": TEMPLATE_INSTRUMENT, "snapshot_request": TEMPLATE_SNAPSHOT_REQUEST,
    "snapshot_complete": TEMPLATE_SNAPSHOT_COMPLETE,
}
BLOCK_LENGTHS = {
    TEMPLATE_HEARTBEAT: 0, TEMPLATE_BOOK_REFRESH: BOOK_REFRESH_BLOCK, TEMPLATE_SNAPSHOT: SNAPSHOT_BLOCK,
    TEMPLATE_INSTRUMENT: INSTRUMENT_BLOCK, TEMPLATE_SNAPSHOT_REQUEST: SNAPSHOT_REQUEST_BLOCK,
    TEMPLATE_SNAPSHOT_COMPLETE: SNAPSHOT_COMPLETE_BLOCK,
}
CHANNELS = {"incremental": CHANNEL_INCREMENTAL, "snapshot": CHANNEL_SNAPSHOT, "request": CHANNEL_REQUEST}
STATUS_TEXT = {
    FEED_TRUNCATED: "truncated: fewer bytes than a header or a declared size",
    FEED_BAD_SCHEMA: "unknown schema id or version",
    FEED_BAD_TEMPLATE: "unexpected template id",
    FEED_TOO_MANY_LEVELS: f"more than {MAX_LEVELS} levels on a side",
    FEED_BAD_BLOCK: "block or entry length shorter than this version's layout",
    FEED_NO_ROOM: "no room left in the packet",
}


class FeedDecodeError(ValueError):
    """A packet that does not follow the schema; the message says which rule it broke."""


# -- decoding ---------------------------------------------------------------------------------
cdef int read_packet_header(const uint8_t* buf, Py_ssize_t n, PacketHeader* out) noexcept nogil:
    if n < PACKET_HEADER_SIZE:
        return FEED_TRUNCATED
    out.seq_num = le_u64(buf)
    out.sending_ns = le_u64(buf + 8)
    out.stream_id = le_u32(buf + 16)
    out.channel_id = le_u16(buf + 20)
    out.channel_type = buf[22]
    out.msg_count = buf[23]
    return FEED_OK


cdef int next_message(const uint8_t* buf, Py_ssize_t n, Py_ssize_t* pos, MsgView* out) noexcept nogil:
    cdef Py_ssize_t p = pos[0]
    cdef uint16_t size
    if n - p < MESSAGE_HEADER_SIZE:
        return FEED_TRUNCATED
    size = le_u16(buf + p)
    if size < MESSAGE_HEADER_SIZE or size > n - p:
        return FEED_TRUNCATED
    out.size = size
    out.block_length = le_u16(buf + p + 2)
    out.template_id = le_u16(buf + p + 4)
    out.schema_id = le_u16(buf + p + 6)
    out.version = le_u16(buf + p + 8)
    out.data = buf + p + MESSAGE_HEADER_SIZE
    out.length = size - MESSAGE_HEADER_SIZE
    pos[0] = p + size
    if out.schema_id != FEED_SCHEMA_ID or out.version < 1:
        return FEED_BAD_SCHEMA
    if out.block_length > out.length:
        return FEED_TRUNCATED
    return FEED_OK


cdef inline int _levels(const uint8_t* p, Py_ssize_t avail, Level* dst, uint16_t* count,
                        Py_ssize_t* used) noexcept nogil:
    cdef uint16_t entry, num, k
    if avail < GROUP_HEADER_SIZE:
        return FEED_TRUNCATED
    entry = le_u16(p)
    num = le_u16(p + 2)
    if entry < LEVEL_SIZE:
        return FEED_BAD_BLOCK
    if num > MAX_LEVELS:
        return FEED_TOO_MANY_LEVELS
    if <Py_ssize_t>entry * num > avail - GROUP_HEADER_SIZE:
        return FEED_TRUNCATED
    p += GROUP_HEADER_SIZE
    for k in range(num):
        dst[k].price_e8 = le_i64(p)
        dst[k].qty_e2 = le_i64(p + 8)
        p += entry
    count[0] = num
    used[0] = GROUP_HEADER_SIZE + <Py_ssize_t>entry * num
    return FEED_OK


cdef int decode_book(const MsgView* m, BookMsg* out) noexcept nogil:
    cdef const uint8_t* p = m.data
    cdef Py_ssize_t avail, used = 0
    cdef int rc
    if m.template_id == TEMPLATE_BOOK_REFRESH:
        if m.block_length < BOOK_REFRESH_BLOCK:
            return FEED_BAD_BLOCK
        out.last_seq = 0
        out.request_id = 0
        out.tot_num_reports = 0
    elif m.template_id == TEMPLATE_SNAPSHOT:
        if m.block_length < SNAPSHOT_BLOCK:
            return FEED_BAD_BLOCK
        out.last_seq = le_u64(p + 16)
        out.request_id = le_u32(p + 24)
        out.tot_num_reports = le_u16(p + 28)
    else:
        return FEED_BAD_TEMPLATE
    out.instrument_id = le_u32(p)
    out.rpt_seq = le_u32(p + 4)
    out.transact_ns = le_i64(p + 8)
    p += m.block_length
    avail = m.length - m.block_length
    rc = _levels(p, avail, out.bids, &out.n_bids, &used)
    if rc != FEED_OK:
        return rc
    p += used
    avail -= used
    return _levels(p, avail, out.asks, &out.n_asks, &used)


cdef inline int _fixed_msg(const MsgView* m, uint16_t template_id, uint16_t block) noexcept nogil:
    """FEED_OK when m is a template_id message whose block holds at least `block` bytes."""
    if m.template_id != template_id:
        return FEED_BAD_TEMPLATE
    if m.block_length < block:
        return FEED_BAD_BLOCK
    return FEED_OK


cdef int decode_instrument(const MsgView* m, InstrumentMsg* out) noexcept nogil:
    cdef const uint8_t* p = m.data
    cdef int rc = _fixed_msg(m, TEMPLATE_INSTRUMENT, INSTRUMENT_BLOCK)
    if rc != FEED_OK:
        return rc
    out.instrument_id = le_u32(p)
    out.price_decimals = p[4]
    out.settle_days = p[5]
    out.pip_e8 = le_i64(p + 8)
    out.tick_e8 = le_i64(p + 16)
    memcpy(out.symbol, p + 24, SYMBOL_SIZE)
    out.request_id = le_u32(p + 32)
    return FEED_OK


cdef int decode_snapshot_request(const MsgView* m, SnapshotRequestMsg* out) noexcept nogil:
    cdef int rc = _fixed_msg(m, TEMPLATE_SNAPSHOT_REQUEST, SNAPSHOT_REQUEST_BLOCK)
    if rc != FEED_OK:
        return rc
    out.request_id = le_u32(m.data)
    out.instrument_id = le_u32(m.data + 4)
    return FEED_OK


cdef int decode_snapshot_complete(const MsgView* m, SnapshotCompleteMsg* out) noexcept nogil:
    cdef int rc = _fixed_msg(m, TEMPLATE_SNAPSHOT_COMPLETE, SNAPSHOT_COMPLETE_BLOCK)
    if rc != FEED_OK:
        return rc
    out.request_id = le_u32(m.data)
    out.num_instruments = le_u32(m.data + 4)
    out.last_seq = le_u64(m.data + 8)
    return FEED_OK


# -- encoding ---------------------------------------------------------------------------------
cdef Py_ssize_t write_packet_header(uint8_t* buf, Py_ssize_t cap, const PacketHeader* h) noexcept nogil:
    if cap < PACKET_HEADER_SIZE:
        return FEED_NO_ROOM
    le_put_u64(buf, h.seq_num)
    le_put_u64(buf + 8, h.sending_ns)
    le_put_u32(buf + 16, h.stream_id)
    le_put_u16(buf + 20, h.channel_id)
    buf[22] = h.channel_type
    buf[23] = h.msg_count
    return PACKET_HEADER_SIZE


cdef inline void _msg_header(uint8_t* buf, uint16_t size, uint16_t block, uint16_t template_id) noexcept nogil:
    le_put_u16(buf, size)
    le_put_u16(buf + 2, block)
    le_put_u16(buf + 4, template_id)
    le_put_u16(buf + 6, FEED_SCHEMA_ID)
    le_put_u16(buf + 8, FEED_SCHEMA_VERSION)


cdef inline uint8_t* _start_fixed(uint8_t* buf, Py_ssize_t cap, uint16_t block,
                                  uint16_t template_id) noexcept nogil:
    """Writes the header of a fixed-size message (no groups) and returns where its block
    starts, or NULL when cap cannot hold header and block."""
    if cap < MESSAGE_HEADER_SIZE + block:
        return NULL
    _msg_header(buf, MESSAGE_HEADER_SIZE + block, block, template_id)
    return buf + MESSAGE_HEADER_SIZE


cdef Py_ssize_t write_heartbeat(uint8_t* buf, Py_ssize_t cap) noexcept nogil:
    if _start_fixed(buf, cap, 0, TEMPLATE_HEARTBEAT) == NULL:
        return FEED_NO_ROOM
    return MESSAGE_HEADER_SIZE


cdef inline uint8_t* _put_levels(uint8_t* p, const Level* src, uint16_t num) noexcept nogil:
    cdef uint16_t k
    le_put_u16(p, LEVEL_SIZE)
    le_put_u16(p + 2, num)
    p += GROUP_HEADER_SIZE
    for k in range(num):
        le_put_i64(p, src[k].price_e8)
        le_put_i64(p + 8, src[k].qty_e2)
        p += LEVEL_SIZE
    return p


cdef Py_ssize_t write_book(uint8_t* buf, Py_ssize_t cap, uint16_t template_id, const BookMsg* m) noexcept nogil:
    cdef uint16_t block = BOOK_REFRESH_BLOCK if template_id == TEMPLATE_BOOK_REFRESH else SNAPSHOT_BLOCK
    cdef Py_ssize_t size
    cdef uint8_t* p
    if template_id != TEMPLATE_BOOK_REFRESH and template_id != TEMPLATE_SNAPSHOT:
        return FEED_BAD_TEMPLATE
    if m.n_bids > MAX_LEVELS or m.n_asks > MAX_LEVELS:
        return FEED_TOO_MANY_LEVELS
    size = MESSAGE_HEADER_SIZE + block + 2 * GROUP_HEADER_SIZE + LEVEL_SIZE * (m.n_bids + m.n_asks)
    if cap < size:
        return FEED_NO_ROOM
    _msg_header(buf, <uint16_t>size, block, template_id)
    p = buf + MESSAGE_HEADER_SIZE
    le_put_u32(p, m.instrument_id)
    le_put_u32(p + 4, m.rpt_seq)
    le_put_i64(p + 8, m.transact_ns)
    if template_id == TEMPLATE_SNAPSHOT:
        le_put_u64(p + 16, m.last_seq)
        le_put_u32(p + 24, m.request_id)
        le_put_u16(p + 28, m.tot_num_reports)
        le_put_u16(p + 30, 0)
    p = _put_levels(p + block, m.bids, m.n_bids)
    _put_levels(p, m.asks, m.n_asks)
    return size


cdef Py_ssize_t write_instrument(uint8_t* buf, Py_ssize_t cap, const InstrumentMsg* m) noexcept nogil:
    cdef uint8_t* p = _start_fixed(buf, cap, INSTRUMENT_BLOCK, TEMPLATE_INSTRUMENT)
    if p == NULL:
        return FEED_NO_ROOM
    memset(p, 0, INSTRUMENT_BLOCK)
    le_put_u32(p, m.instrument_id)
    p[4] = m.price_decimals
    p[5] = m.settle_days
    le_put_i64(p + 8, m.pip_e8)
    le_put_i64(p + 16, m.tick_e8)
    memcpy(p + 24, m.symbol, SYMBOL_SIZE)
    le_put_u32(p + 32, m.request_id)
    return MESSAGE_HEADER_SIZE + INSTRUMENT_BLOCK


cdef Py_ssize_t write_snapshot_request(uint8_t* buf, Py_ssize_t cap, const SnapshotRequestMsg* m) noexcept nogil:
    cdef uint8_t* p = _start_fixed(buf, cap, SNAPSHOT_REQUEST_BLOCK, TEMPLATE_SNAPSHOT_REQUEST)
    if p == NULL:
        return FEED_NO_ROOM
    le_put_u32(p, m.request_id)
    le_put_u32(p + 4, m.instrument_id)
    return MESSAGE_HEADER_SIZE + SNAPSHOT_REQUEST_BLOCK


cdef Py_ssize_t write_snapshot_complete(uint8_t* buf, Py_ssize_t cap, const SnapshotCompleteMsg* m) noexcept nogil:
    cdef uint8_t* p = _start_fixed(buf, cap, SNAPSHOT_COMPLETE_BLOCK, TEMPLATE_SNAPSHOT_COMPLETE)
    if p == NULL:
        return FEED_NO_ROOM
    le_put_u32(p, m.request_id)
    le_put_u32(p + 4, m.num_instruments)
    le_put_u64(p + 8, m.last_seq)
    return MESSAGE_HEADER_SIZE + SNAPSHOT_COMPLETE_BLOCK


# -- the publisher's encoder ----------------------------------------------------------------------
cdef class PacketWriter:
    """Builds one packet at a time in a fixed buffer: start(), add_*() until one returns False
    (no room: finish this packet and start the next), finish() -> the datagram's bytes."""

    def __cinit__(self):
        self.pos = 0
        memset(&self.header, 0, sizeof(PacketHeader))

    def start(self, uint64_t seq_num, uint64_t sending_ns, uint32_t stream_id, uint16_t channel_id,
              uint8_t channel_type):
        self.header.seq_num = seq_num
        self.header.sending_ns = sending_ns
        self.header.stream_id = stream_id
        self.header.channel_id = channel_id
        self.header.channel_type = channel_type
        self.header.msg_count = 0
        self.pos = PACKET_HEADER_SIZE

    cdef int _add(self, Py_ssize_t written) noexcept:
        if written < 0:
            return 0
        self.pos += written
        self.header.msg_count += 1
        return 1

    def _check(self):
        if self.pos == 0:
            raise RuntimeError("PacketWriter: call start() before adding messages")
        if self.header.msg_count == 255:
            return False
        return True

    def add_heartbeat(self):
        if not self._check():
            return False
        return bool(self._add(write_heartbeat(self.buf + self.pos, MAX_PACKET - self.pos)))

    cdef int _fill_levels(self, levels, Level* dst, uint16_t* n) except -1:
        cdef Py_ssize_t k = 0
        if len(levels) > MAX_LEVELS:
            raise ValueError(f"at most {MAX_LEVELS} levels per side, got {len(levels)}")
        for lv in levels:
            dst[k].price_e8 = lv[0]
            dst[k].qty_e2 = lv[1]
            k += 1
        n[0] = <uint16_t>k
        return 0

    def add_book(self, uint32_t instrument_id, uint32_t rpt_seq, int64_t transact_ns, bids, asks):
        """A BookRefresh: the instrument's whole ladder, (price_e8, qty_e2) per level, best first."""
        if not self._check():
            return False
        self.scratch.instrument_id = instrument_id
        self.scratch.rpt_seq = rpt_seq
        self.scratch.transact_ns = transact_ns
        self._fill_levels(bids, self.scratch.bids, &self.scratch.n_bids)
        self._fill_levels(asks, self.scratch.asks, &self.scratch.n_asks)
        return bool(self._add(write_book(self.buf + self.pos, MAX_PACKET - self.pos,
                                         TEMPLATE_BOOK_REFRESH, &self.scratch)))

    def add_snapshot(self, uint32_t instrument_id, uint32_t rpt_seq, int64_t transact_ns,
                     uint64_t last_seq, uint32_t request_id, uint16_t tot_num_reports, bids, asks):
        if not self._check():
            return False
        self.scratch.instrument_id = instrument_id
        self.scratch.rpt_seq = rpt_seq
        self.scratch.transact_ns = transact_ns
        self.scratch.last_seq = last_seq
        self.scratch.request_id = request_id
        self.scratch.tot_num_reports = tot_num_reports
        self._fill_levels(bids, self.scratch.bids, &self.scratch.n_bids)
        self._fill_levels(asks, self.scratch.asks, &self.scratch.n_asks)
        return bool(self._add(write_book(self.buf + self.pos, MAX_PACKET - self.pos,
                                         TEMPLATE_SNAPSHOT, &self.scratch)))

    def add_instrument(self, uint32_t instrument_id, str symbol, int64_t pip_e8, int64_t tick_e8,
                       uint8_t price_decimals, uint8_t settle_days, uint32_t request_id=0):
        cdef InstrumentMsg m
        cdef bytes sym = symbol.encode("ascii")
        if len(sym) > SYMBOL_SIZE:
            raise ValueError(f"symbol {symbol!r} is longer than {SYMBOL_SIZE} bytes")
        if not self._check():
            return False
        memset(&m, 0, sizeof(m))
        m.instrument_id = instrument_id
        m.price_decimals = price_decimals
        m.settle_days = settle_days
        m.pip_e8 = pip_e8
        m.tick_e8 = tick_e8
        memcpy(m.symbol, <const char*>sym, len(sym))
        m.request_id = request_id
        return bool(self._add(write_instrument(self.buf + self.pos, MAX_PACKET - self.pos, &m)))

    def add_snapshot_request(self, uint32_t request_id, uint32_t instrument_id=0):
        cdef SnapshotRequestMsg m
        if not self._check():
            return False
        m.request_id = request_id
        m.instrument_id = instrument_id
        return bool(self._add(write_snapshot_request(self.buf + self.pos, MAX_PACKET - self.pos, &m)))

    def add_snapshot_complete(self, uint32_t request_id, uint32_t num_instruments, uint64_t last_seq):
        cdef SnapshotCompleteMsg m
        if not self._check():
            return False
        m.request_id = request_id
        m.num_instruments = num_instruments
        m.last_seq = last_seq
        return bool(self._add(write_snapshot_complete(self.buf + self.pos, MAX_PACKET - self.pos, &m)))

    @property
    def msg_count(self):
        return self.header.msg_count

    @property
    def size(self):
        return self.pos

    def finish(self):
        """The packet's bytes (header with the final message count); the writer is then empty."""
        write_packet_header(self.buf, MAX_PACKET, &self.header)
        out = (<char*>self.buf)[:self.pos]
        self.pos = 0
        return out


# -- Python view for tests and tools (not the hot path) ---------------------------------------
cdef list _levels_dict(const Level* lv, uint16_t n):
    return [(lv[k].price_e8, lv[k].qty_e2) for k in range(n)]


def decode_packet(data) -> dict:
    """{"header": {...}, "messages": [{"template": name, ...fields}]}; raises FeedDecodeError."""
    cdef const uint8_t[::1] view = memoryview(data).cast("B")
    cdef Py_ssize_t n = view.shape[0], pos = PACKET_HEADER_SIZE
    cdef PacketHeader h
    cdef MsgView m
    cdef BookMsg b
    cdef InstrumentMsg ins
    cdef SnapshotRequestMsg req
    cdef SnapshotCompleteMsg done
    cdef int rc
    cdef const uint8_t* buf = &view[0] if n else NULL
    if n == 0 or read_packet_header(buf, n, &h) != FEED_OK:
        raise FeedDecodeError(f"packet of {n} bytes is shorter than the {PACKET_HEADER_SIZE}-byte header")
    header = {"seq_num": h.seq_num, "sending_ns": h.sending_ns, "stream_id": h.stream_id,
              "channel_id": h.channel_id, "channel_type": h.channel_type, "msg_count": h.msg_count}
    msgs = []
    names = {v: k for k, v in TEMPLATES.items()}
    for i in range(h.msg_count):
        rc = next_message(buf, n, &pos, &m)
        if rc != FEED_OK:
            raise FeedDecodeError(f"message {i + 1} of {h.msg_count}: {STATUS_TEXT[rc]}")
        tid = m.template_id
        rc = FEED_OK
        if tid == TEMPLATE_BOOK_REFRESH or tid == TEMPLATE_SNAPSHOT:
            rc = decode_book(&m, &b)
        elif tid == TEMPLATE_INSTRUMENT:
            rc = decode_instrument(&m, &ins)
        elif tid == TEMPLATE_SNAPSHOT_REQUEST:
            rc = decode_snapshot_request(&m, &req)
        elif tid == TEMPLATE_SNAPSHOT_COMPLETE:
            rc = decode_snapshot_complete(&m, &done)
        if rc != FEED_OK:
            raise FeedDecodeError(f"message {i + 1} (template {tid}): {STATUS_TEXT[rc]}")
        if tid == TEMPLATE_BOOK_REFRESH or tid == TEMPLATE_SNAPSHOT:
            d = {"instrument_id": b.instrument_id, "rpt_seq": b.rpt_seq, "transact_ns": b.transact_ns,
                 "bids": _levels_dict(b.bids, b.n_bids), "asks": _levels_dict(b.asks, b.n_asks)}
            if tid == TEMPLATE_SNAPSHOT:
                d.update(last_seq=b.last_seq, request_id=b.request_id, tot_num_reports=b.tot_num_reports)
        elif tid == TEMPLATE_INSTRUMENT:
            d = {"instrument_id": ins.instrument_id, "price_decimals": ins.price_decimals,
                 "settle_days": ins.settle_days, "pip_e8": ins.pip_e8, "tick_e8": ins.tick_e8,
                 "symbol": (<char*>ins.symbol)[:SYMBOL_SIZE].rstrip(b"\0").decode("ascii"),
                 "request_id": ins.request_id}
        elif tid == TEMPLATE_SNAPSHOT_REQUEST:
            d = {"request_id": req.request_id, "instrument_id": req.instrument_id}
        elif tid == TEMPLATE_SNAPSHOT_COMPLETE:
            d = {"request_id": done.request_id, "num_instruments": done.num_instruments,
                 "last_seq": done.last_seq}
        elif tid == TEMPLATE_HEARTBEAT:
            d = {}
        else:
            d = {"unknown_template": tid}
        d["template"] = names.get(tid, "unknown")
        msgs.append(d)
    if pos != n:
        raise FeedDecodeError(f"{n - pos} bytes after the last of {h.msg_count} messages")
    return {"header": header, "messages": msgs}
