# cython: language_level=3
"""The binary feed receiver's books: packets in, ladders in C arrays out (see books.pxd).

apply_incremental() and apply_snapshot() decode and apply a whole packet in C with no Python
objects; on_packet()/on_snapshot_packet() are their thin Python shells for the UDP glue
(fxpipe.feed.receiver), which only has to send a SnapshotRequest when told to.
"""
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from cpython.bytearray cimport PyByteArray_FromStringAndSize
from libc.string cimport memcpy, memset

import os

import numpy as np

from fxpipe.model import events
from fxpipe.includes.atomic cimport fx_realtime_ns
from fxpipe.model.events cimport EVT_QUOTE, QUOTE_FIRM, event_init

from fxpipe.feed.sbe cimport (
    CHANNEL_INCREMENTAL,
    CHANNEL_SNAPSHOT,
    FEED_OK,
    PACKET_HEADER_SIZE,
    SYMBOL_SIZE,
    TEMPLATE_BOOK_REFRESH,
    TEMPLATE_HEARTBEAT,
    TEMPLATE_INSTRUMENT,
    TEMPLATE_SNAPSHOT,
    TEMPLATE_SNAPSHOT_COMPLETE,
    InstrumentMsg,
    MsgView,
    PacketHeader,
    SnapshotCompleteMsg,
    decode_book,
    decode_instrument,
    decode_snapshot_complete,
    next_message,
    read_packet_header,
)

STATUS_NAMES = {
    APPLY_OK: "ok", APPLY_GAP: "gap", APPLY_DUPLICATE: "duplicate", APPLY_NEW_STREAM: "new_stream",
    APPLY_WRONG_CHANNEL: "wrong_channel", SNAPSHOT_PART: "snapshot_part", SNAPSHOT_DONE: "snapshot_done",
    SNAPSHOT_INCOMPLETE: "snapshot_incomplete", SNAPSHOT_IGNORED: "snapshot_ignored",
}
OK = APPLY_OK
GAP = APPLY_GAP
DUPLICATE = APPLY_DUPLICATE
NEW_STREAM = APPLY_NEW_STREAM
WRONG_CHANNEL = APPLY_WRONG_CHANNEL
PART = SNAPSHOT_PART
DONE = SNAPSHOT_DONE
INCOMPLETE = SNAPSHOT_INCOMPLETE
IGNORED = SNAPSHOT_IGNORED
MAX_INSTRUMENT_ID = MAX_INSTRUMENTS - 1
# what drain()'s packets said, as bits: a gap before one of them, a new publisher stream
cdef enum:
    DRAINED_GAP_BIT = 1
    DRAINED_NEW_STREAM_BIT = 2
DRAINED_GAP = DRAINED_GAP_BIT
DRAINED_NEW_STREAM = DRAINED_NEW_STREAM_BIT

cdef extern from *:
    """
    #include <errno.h>
    #include <string.h>
    #include <sys/socket.h>
    #define FXF_DRAIN_BATCH 16
    #define FXF_DATAGRAM 1472
    /* one recvmmsg of up to n datagrams (FXF_DATAGRAM bytes each) into bufs, lengths into lens;
       0 when none is waiting, -errno on an error */
    static int fxf_recv_batch(int fd, unsigned char (*bufs)[FXF_DATAGRAM], unsigned int* lens, int n) {
        struct mmsghdr msgs[FXF_DRAIN_BATCH];
        struct iovec iov[FXF_DRAIN_BATCH];
        int k, r;
        if (n > FXF_DRAIN_BATCH) n = FXF_DRAIN_BATCH;
        memset(msgs, 0, sizeof(msgs[0]) * n);
        for (k = 0; k < n; k++) {
            iov[k].iov_base = bufs[k];
            iov[k].iov_len = FXF_DATAGRAM;
            msgs[k].msg_hdr.msg_iov = &iov[k];
            msgs[k].msg_hdr.msg_iovlen = 1;
        }
        do {
            r = recvmmsg(fd, msgs, n, MSG_DONTWAIT, NULL);
        } while (r < 0 && errno == EINTR);
        if (r < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
        for (k = 0; k < r; k++) lens[k] = msgs[k].msg_len;
        return r;
    }
    """
    int fxf_recv_batch(int fd, unsigned char (*bufs)[DATAGRAM_BYTES], unsigned int* lens, int n) nogil


cdef int held_take(HeldBatch* h, int fd) noexcept nogil:
    cdef int r
    if h.n or h.error:
        return h.n if h.n else h.error
    r = fxf_recv_batch(fd, h.bufs, h.lens, HELD_MAX)
    if r > 0:
        h.t_recv = fx_realtime_ns()
        h.n = r
    elif r < 0:
        h.error = r
    return r


cdef class FeedBooks:
    """Books of one feed channel. Status codes: OK, GAP, DUPLICATE, NEW_STREAM, WRONG_CHANNEL
    from on_packet; PART, DONE, INCOMPLETE, IGNORED from on_snapshot_packet; negative values
    are decode errors (fxpipe.feed.sbe.STATUS_TEXT)."""

    def __cinit__(self, uint16_t channel_id):
        memset(self.books, 0, sizeof(self.books))
        memset(self.in_snapshot, 0, sizeof(self.in_snapshot))
        self.channel_id = channel_id
        self.stream_id = 0
        self.expected_seq = 0
        self.n_changed = 0
        self.snapshot_request_id = 0
        self.need_seq = 0
        self.held.n = 0
        self.held.error = 0

    # -- C path -------------------------------------------------------------------------------
    cdef const InstrumentBook* book(self, uint32_t instrument_id) noexcept nogil:
        if instrument_id >= MAX_INSTRUMENTS:
            return NULL
        return &self.books[instrument_id]

    cdef int write_quotes(self, uint32_t instrument_id, uint16_t venue_id, int64_t ts_receive_ns,
                          Quote* out, int max_out) noexcept nogil:
        cdef const InstrumentBook* b = self.book(instrument_id)
        cdef int k, n
        if b == NULL or not b.has_book:
            return 0
        n = b.n_bids if b.n_bids > b.n_asks else b.n_asks
        if n > max_out:
            n = max_out
        for k in range(n):
            event_init(&out[k], EVT_QUOTE)
            out[k].hdr.venue_id = venue_id
            out[k].hdr.instrument_id = <uint16_t>instrument_id
            out[k].hdr.ts_venue_ns = b.transact_ns
            out[k].hdr.ts_receive_ns = ts_receive_ns
            if k < b.n_bids:
                out[k].bid_px_e8 = b.bids[k].price_e8
                out[k].bid_qty_e2 = b.bids[k].qty_e2
            if k < b.n_asks:
                out[k].ask_px_e8 = b.asks[k].price_e8
                out[k].ask_qty_e2 = b.asks[k].qty_e2
            out[k].md_seq = b.rpt_seq
            out[k].level = <uint8_t>k
            out[k].quote_cond = QUOTE_FIRM
        return n

    cdef int _apply_book(self, const BookMsg* m) noexcept nogil:
        cdef InstrumentBook* b
        if m.instrument_id == 0 or m.instrument_id >= MAX_INSTRUMENTS:
            return 0
        b = &self.books[m.instrument_id]
        if b.has_book and m.rpt_seq < b.rpt_seq:
            return 0  # older than what we hold: a late packet or an old snapshot
        if not (b.has_book and m.rpt_seq == b.rpt_seq):
            b.rpt_seq = m.rpt_seq
            b.transact_ns = m.transact_ns
            b.n_bids = m.n_bids
            b.n_asks = m.n_asks
            memcpy(b.bids, m.bids, m.n_bids * sizeof(Level))
            memcpy(b.asks, m.asks, m.n_asks * sizeof(Level))
            b.has_book = 1
            if self.n_changed < MAX_CHANGED:
                self.changed_ids[self.n_changed] = m.instrument_id
                self.n_changed += 1
        b.stale = 0
        return 1

    cdef void _all_stale(self) noexcept nogil:
        cdef int i
        for i in range(MAX_INSTRUMENTS):
            self.books[i].stale = self.books[i].has_book

    cdef int _error(self, int rc) noexcept nogil:
        """Counts a packet that does not decode and passes its (negative) code on."""
        self.errors += 1
        return rc

    cdef int _open_packet(self, const uint8_t* buf, Py_ssize_t n, PacketHeader* h,
                          uint8_t channel_type) noexcept nogil:
        """Starts a packet: FEED_OK when its header reads and it is of channel_type on this
        channel; otherwise a counted decode error or APPLY_WRONG_CHANNEL."""
        cdef int rc
        self.n_changed = 0
        rc = read_packet_header(buf, n, h)
        if rc != FEED_OK:
            return self._error(rc)
        if h.channel_type != channel_type or h.channel_id != self.channel_id:
            return APPLY_WRONG_CHANNEL
        return FEED_OK

    cdef int apply_incremental(self, const uint8_t* buf, Py_ssize_t n) noexcept nogil:
        cdef PacketHeader h
        cdef MsgView m
        cdef Py_ssize_t pos = 0
        cdef int rc, k, status = APPLY_OK
        rc = self._open_packet(buf, n, &h, CHANNEL_INCREMENTAL)
        if rc != FEED_OK:
            return rc
        self.packets += 1
        if self.expected_seq == 0 or h.stream_id != self.stream_id:
            if self.expected_seq != 0:
                for k in range(MAX_INSTRUMENTS):
                    self.books[k].rpt_seq = 0  # a new run numbers its updates from 1 again
            self.stream_id = h.stream_id
            self._all_stale()
            self.need_seq = h.seq_num - 1
            status = APPLY_NEW_STREAM
        elif h.seq_num < self.expected_seq:
            self.duplicates += 1
            return APPLY_DUPLICATE
        elif h.seq_num > self.expected_seq:
            self.gaps += 1
            self.lost_packets += h.seq_num - self.expected_seq
            self._all_stale()
            self.need_seq = h.seq_num - 1
            status = APPLY_GAP
        self.expected_seq = h.seq_num + 1
        pos = PACKET_HEADER_SIZE
        for k in range(h.msg_count):
            rc = next_message(buf, n, &pos, &m)
            if rc != FEED_OK:
                return self._error(rc)
            if m.template_id == TEMPLATE_BOOK_REFRESH:
                rc = decode_book(&m, &self.scratch)
                if rc != FEED_OK:
                    return self._error(rc)
                self.refreshes += 1
                self._apply_book(&self.scratch)
            elif m.template_id == TEMPLATE_HEARTBEAT:
                self.heartbeats += 1
        return status

    cdef int apply_snapshot(self, const uint8_t* buf, Py_ssize_t n) noexcept nogil:
        cdef PacketHeader h
        cdef MsgView m
        cdef InstrumentMsg ins
        cdef SnapshotCompleteMsg done
        cdef InstrumentBook* b
        cdef Py_ssize_t pos = 0
        cdef int rc, k, i, status = SNAPSHOT_IGNORED
        rc = self._open_packet(buf, n, &h, CHANNEL_SNAPSHOT)
        if rc != FEED_OK:
            return rc
        if self.expected_seq != 0 and h.stream_id != self.stream_id:
            return SNAPSHOT_IGNORED  # from a run this receiver's incrementals do not follow
        pos = PACKET_HEADER_SIZE
        for k in range(h.msg_count):
            rc = next_message(buf, n, &pos, &m)
            if rc != FEED_OK:
                return self._error(rc)
            if m.template_id == TEMPLATE_INSTRUMENT:
                rc = decode_instrument(&m, &ins)
                if rc != FEED_OK:
                    return self._error(rc)
                if 0 < ins.instrument_id < MAX_INSTRUMENTS:
                    b = &self.books[ins.instrument_id]
                    b.defined = 1
                    b.pip_e8 = ins.pip_e8
                    b.tick_e8 = ins.tick_e8
                    b.price_decimals = ins.price_decimals
                    b.settle_days = ins.settle_days
                    memcpy(b.symbol, ins.symbol, SYMBOL_SIZE)
            elif m.template_id == TEMPLATE_SNAPSHOT:
                rc = decode_book(&m, &self.scratch)
                if rc != FEED_OK:
                    return self._error(rc)
                if self.scratch.request_id != self.snapshot_request_id:
                    continue
                if self.scratch.instrument_id < MAX_INSTRUMENTS and not self.in_snapshot[self.scratch.instrument_id]:
                    self.in_snapshot[self.scratch.instrument_id] = 1
                    self.snapshot_received += 1
                self._apply_book(&self.scratch)
                status = SNAPSHOT_PART
            elif m.template_id == TEMPLATE_SNAPSHOT_COMPLETE:
                rc = decode_snapshot_complete(&m, &done)
                if rc != FEED_OK:
                    return self._error(rc)
                if done.request_id != self.snapshot_request_id:
                    continue
                if done.num_instruments != self.snapshot_received or done.last_seq < self.need_seq:
                    return SNAPSHOT_INCOMPLETE
                if self.expected_seq == 0:
                    self.stream_id = h.stream_id
                if done.last_seq + 1 > self.expected_seq:
                    self.expected_seq = done.last_seq + 1
                for i in range(MAX_INSTRUMENTS):
                    if not self.in_snapshot[i] and self.books[i].has_book and self.books[i].stale:
                        self.books[i].has_book = 0  # the publisher no longer quotes it
                    self.books[i].stale = 0
                self.snapshot_request_id = 0
                return SNAPSHOT_DONE
        return status

    # -- Python shells --------------------------------------------------------------------------
    def on_packet(self, data) -> int:
        cdef const uint8_t[::1] v = data
        if v.shape[0] == 0:
            return self.apply_incremental(NULL, 0)
        return self.apply_incremental(&v[0], v.shape[0])

    cdef void _apply_batch(self, unsigned char (*bufs)[DATAGRAM_BYTES], unsigned int* lens, int got,
                           uint8_t* seen, uint32_t* ids, int* n_ids, int* flags) noexcept nogil:
        cdef int k, c, status
        cdef uint32_t iid
        for k in range(got):
            status = self.apply_incremental(bufs[k], lens[k])
            if status == APPLY_GAP:
                flags[0] |= DRAINED_GAP_BIT
            elif status == APPLY_NEW_STREAM:
                flags[0] |= DRAINED_NEW_STREAM_BIT
            for c in range(self.n_changed):
                iid = self.changed_ids[c]
                if not seen[iid] and n_ids[0] < MAX_CHANGED:
                    seen[iid] = 1
                    ids[n_ids[0]] = iid
                    n_ids[0] += 1

    cdef int _drain(self, int fd, int max_packets, uint32_t* ids, int* n_ids, int* flags, int64_t* t_recv) noexcept nogil:
        """drain()'s work: returns how many datagrams were read (or -errno when the first read
        failed); t_recv: the wall clock as the first datagram came off the socket (0: none).
        What the idle wait read ahead (self.held) is applied first, with its own stamp."""
        cdef unsigned char bufs[HELD_MAX][DATAGRAM_BYTES]
        cdef unsigned int lens[HELD_MAX]
        cdef uint8_t seen[MAX_INSTRUMENTS]
        cdef int got = 0, read = 0, want
        memset(seen, 0, sizeof(seen))
        n_ids[0] = 0
        flags[0] = 0
        t_recv[0] = 0
        if self.held.error:
            got, self.held.error = self.held.error, 0
            return got
        if self.held.n:
            read = self.held.n
            self.held.n = 0
            t_recv[0] = self.held.t_recv
            self._apply_batch(self.held.bufs, self.held.lens, read, seen, ids, n_ids, flags)
            if read < HELD_MAX:
                return read         # the socket was empty after them a moment ago
        while read < max_packets:
            want = max_packets - read
            if want > HELD_MAX:
                want = HELD_MAX
            got = fxf_recv_batch(fd, bufs, lens, want)
            if got <= 0:
                break
            if read == 0:
                t_recv[0] = fx_realtime_ns()
            self._apply_batch(bufs, lens, got, seen, ids, n_ids, flags)
            read += got
            if got < want:
                break               # the socket is empty: no need to ask it again
        if got < 0 and read == 0:
            return got
        return read

    def take_waiting(self, int fd) -> int:
        """held_take() on this channel's books, from Python (tests, tools): the datagrams waiting
        on fd read now and held for the next drain. Returns how many are held (0: none waited);
        a failed read is raised by that drain."""
        cdef int r
        with nogil:
            r = held_take(&self.held, fd)
        return r if r > 0 else 0

    @property
    def held_datagrams(self) -> int:
        """Datagrams read ahead by the idle wait, not yet applied."""
        return self.held.n

    def drain(self, int fd, int max_packets):
        """Reads and applies, in C, the incremental datagrams waiting on the non-blocking UDP
        socket fd, at most max_packets of them (recvmmsg, a batch a call). Returns (how many were
        read, DRAINED_GAP | DRAINED_NEW_STREAM for what they said, the ids of the instruments they
        changed in the order first changed). A datagram that does not decode is counted in
        stats()["errors"] and skipped, as on_packet() does."""
        cdef uint32_t ids[MAX_CHANGED]
        cdef int n_ids, flags, read
        cdef int64_t t_recv
        with nogil:
            read = self._drain(fd, max_packets, ids, &n_ids, &flags, &t_recv)
        if read < 0:
            # after some datagrams were read, what they changed is handed on first; the error
            # comes back on the next call
            raise OSError(-read, f"feed channel {self.channel_id}: receiving: {os.strerror(-read)}")
        return read, flags, [ids[k] for k in range(n_ids)]

    def drain_quotes(self, int fd, int max_packets, uint16_t venue_id, int64_t first_sequence, bint raw):
        """drain(), and the Quote events of every instrument the datagrams changed that has a
        book and is not stale, in the order first changed, one per level, numbered from
        first_sequence: bytearrays (raw) or records, as quote_events() and quotes() make them.
        Their receive stamp is the wall clock as the first datagram came off the socket, their
        decode stamp the wall clock once the last was applied: one call from the socket to the
        events, for the order path. Returns (read, said, changed ids, quotes, receive stamp;
        0 when nothing was read)."""
        cdef uint32_t ids[MAX_CHANGED]
        cdef int n_ids, flags, read, k
        cdef int64_t t_recv, t_dec, seq = first_sequence
        cdef const InstrumentBook* b
        with nogil:
            read = self._drain(fd, max_packets, ids, &n_ids, &flags, &t_recv)
        if read < 0:
            raise OSError(-read, f"feed channel {self.channel_id}: receiving: {os.strerror(-read)}")
        quotes = []
        if n_ids:
            t_dec = fx_realtime_ns()
            for k in range(n_ids):
                b = self.book(ids[k])
                if b == NULL or b.stale or not b.has_book:
                    continue
                if raw:
                    seq += self._append_quote_events(quotes, ids[k], venue_id, t_recv, seq, t_dec)
                else:
                    recs = self.quotes(ids[k], venue_id, t_recv, seq, t_dec)
                    seq += len(recs)
                    quotes.extend(recs)
        return read, flags, [ids[k] for k in range(n_ids)], quotes, t_recv

    def on_snapshot_packet(self, data) -> int:
        cdef const uint8_t[::1] v = data
        if v.shape[0] == 0:
            return self.apply_snapshot(NULL, 0)
        return self.apply_snapshot(&v[0], v.shape[0])

    def begin_snapshot(self, uint32_t request_id):
        """Expect the snapshot answering request_id (nonzero); earlier answers are ignored."""
        if request_id == 0:
            raise ValueError("request_id 0 is reserved; number requests from 1")
        self.snapshot_request_id = request_id
        self.snapshot_received = 0
        memset(self.in_snapshot, 0, sizeof(self.in_snapshot))

    def changed(self) -> list:
        """Instrument ids the last packet updated."""
        return [self.changed_ids[k] for k in range(self.n_changed)]

    def _get(self, uint32_t instrument_id):
        if instrument_id == 0 or instrument_id >= MAX_INSTRUMENTS:
            raise KeyError(f"instrument id {instrument_id} is outside 1..{MAX_INSTRUMENTS - 1}")
        return instrument_id

    def has_book(self, uint32_t instrument_id) -> bool:
        return bool(self.books[self._get(instrument_id)].has_book)

    def is_stale(self, uint32_t instrument_id) -> bool:
        return bool(self.books[self._get(instrument_id)].stale)

    def rpt_seq(self, uint32_t instrument_id) -> int:
        return self.books[self._get(instrument_id)].rpt_seq

    def levels(self, uint32_t instrument_id):
        """([(bid_px_e8, qty_e2)...], [(ask_px_e8, qty_e2)...]) best first."""
        cdef InstrumentBook* b = &self.books[self._get(instrument_id)]
        return ([(b.bids[k].price_e8, b.bids[k].qty_e2) for k in range(b.n_bids)],
                [(b.asks[k].price_e8, b.asks[k].qty_e2) for k in range(b.n_asks)])

    def top(self, uint32_t instrument_id):
        """(bid_e8, ask_e8), 0 for an empty side."""
        cdef InstrumentBook* b = &self.books[self._get(instrument_id)]
        return (b.bids[0].price_e8 if b.n_bids else 0, b.asks[0].price_e8 if b.n_asks else 0)

    def quotes(self, uint32_t instrument_id, uint16_t venue_id, int64_t ts_receive_ns=0,
               int64_t first_sequence=0, int64_t ts_decode_ns=0):
        """The instrument's ladder as fxpipe Quote events (numpy records of
        fxpipe.model.events' Quote dtype), one per level, best first. first_sequence: number
        them from it (0: leave 0); ts_decode_ns: their decode stamp."""
        self._get(instrument_id)
        arr = events.empty(events.EventType.QUOTE, MAX_LEVELS)
        cdef unsigned char[::1] raw = arr.view(np.uint8).reshape(-1)
        cdef Quote* q = <Quote*>&raw[0]
        cdef int k, n = self.write_quotes(instrument_id, venue_id, ts_receive_ns, q, MAX_LEVELS)
        for k in range(n):
            if first_sequence:
                q[k].hdr.sequence = first_sequence + k
            q[k].hdr.ts_decode_ns = ts_decode_ns
        return arr[:n]

    def quote_events(self, uint32_t instrument_id, uint16_t venue_id, int64_t ts_receive_ns=0,
                     int64_t first_sequence=0, int64_t ts_decode_ns=0) -> list:
        """quotes() as each event's bytes (a bytearray per level, best first): what a worker puts
        on the md ring and hands to the decision stage, with no numpy record made and unmade."""
        self._get(instrument_id)
        out = []
        self._append_quote_events(out, instrument_id, venue_id, ts_receive_ns, first_sequence, ts_decode_ns)
        return out

    cdef int _append_quote_events(self, list out, uint32_t instrument_id, uint16_t venue_id, int64_t ts_receive_ns,
                                  int64_t first_sequence, int64_t ts_decode_ns) except -1:
        """quote_events() appended to `out`; returns how many."""
        cdef Quote q[MAX_LEVELS]
        cdef int k, n = self.write_quotes(instrument_id, venue_id, ts_receive_ns, q, MAX_LEVELS)
        for k in range(n):
            if first_sequence:
                q[k].hdr.sequence = first_sequence + k
            q[k].hdr.ts_decode_ns = ts_decode_ns
            out.append(PyByteArray_FromStringAndSize(<char*>&q[k], sizeof(Quote)))
        return n

    def definition(self, uint32_t instrument_id):
        cdef InstrumentBook* b = &self.books[self._get(instrument_id)]
        if not b.defined:
            return None
        return {"symbol": (<char*>b.symbol)[:SYMBOL_SIZE].rstrip(b"\0").decode("ascii"),
                "pip_e8": b.pip_e8, "tick_e8": b.tick_e8, "price_decimals": b.price_decimals,
                "settle_days": b.settle_days}

    def stats(self) -> dict:
        return {"packets": self.packets, "heartbeats": self.heartbeats, "refreshes": self.refreshes,
                "gaps": self.gaps, "lost_packets": self.lost_packets, "duplicates": self.duplicates,
                "errors": self.errors, "expected_seq": self.expected_seq, "stream_id": self.stream_id}
