# cython: language_level=3, boundscheck=False, wraparound=False
"""What a binary feed receiver (fxpipe.feed.receiver) does on every poll, in C: which of its two
sockets to read, the snapshot answers handed to it, the incrementals read and applied (with
their Quote events made, for the feed stage), the snapshot asked for again when the answer is
late. On the order path this runs between a quote's datagram arriving and its events; in
Python it was a dozen interpreted lines and two calls. The receiver's own reactions (asking for
a snapshot, taking one, what a batch said) stay its Python methods."""
from libc.stdint cimport int64_t

from fxpipe.feed.books cimport FeedBooks
from fxpipe.includes.atomic cimport fx_monotonic_ns

import select

MAX_PACKETS_PER_POLL = 64       # incrementals a poll reads at most (what a sender as fast as us gets)


cdef class ReceiverCore:
    """The receiver's sockets (incrementals `sock`, snapshots `snap_sock`, their fds), its
    books, whether a snapshot is asked for and until when it is awaited (monotonic ns)."""
    cdef public FeedBooks books
    cdef public object sock
    cdef public object snap_sock
    cdef public object _buf
    cdef public int _fd
    cdef public int _snap_fd
    cdef public bint recovering
    cdef public int64_t _deadline_ns

    def poll(self, double timeout_s=0.0, int max_packets=MAX_PACKETS_PER_POLL, ready=None) -> int:
        """Handles the datagrams waiting, at most max_packets incrementals (waiting up to
        timeout_s for the first); returns how many incremental packets were applied or skipped.
        The bound keeps a sender as fast as we are from holding us here: what was applied is
        handed on, the rest is read on the next poll. ready: the sockets (fds) the caller's
        epoll found readable, only those are read (None: both are tried, each an empty read
        when nothing waits, 1-2 us of system call)."""
        return self._poll(timeout_s, max_packets, ready, None)[0]

    def poll_quotes(self, int venue_id, int64_t first_sequence, bint raw, double timeout_s=0.0, ready=None):
        """poll(), with the Quote events of what the incrementals changed made in the same C call
        as their reading (FeedBooks.drain_quotes: venue_id, numbered from first_sequence, bytes
        when raw). Returns (incrementals handled, what they said (DRAINED_* bits), the
        instruments they changed, the quotes, the receive stamp: 0 when none was read)."""
        return self._poll(timeout_s, MAX_PACKETS_PER_POLL, ready, (venue_id, first_sequence, raw))

    cdef tuple _poll(self, double timeout_s, int max_packets, ready, quoting):
        cdef bint snap, incr
        # datagrams the idle wait read ahead are handled whatever the sockets say: the kernel
        # no longer has them to report
        cdef bint held = self.books.held.n != 0 or self.books.held.error != 0
        handled, said, t_recv = 0, 0, 0
        changed = quotes = None
        if timeout_s > 0 and not held:
            r, _, _ = select.select([self.sock, self.snap_sock], [], [], timeout_s)
            snap, incr = self.snap_sock in r, self.sock in r
        elif ready is not None:
            snap, incr = self._snap_fd in ready, held or self._fd in ready
        else:
            snap = incr = True            # both are non-blocking: an empty one answers at once
        if snap:
            while True:
                try:
                    n = self.snap_sock.recv_into(self._buf)
                except (BlockingIOError, ConnectionRefusedError):
                    break
                self._snapshot(n)
        if incr:
            if quoting is None:
                handled, said, changed = self.books.drain(self._fd, max_packets)
            else:
                handled, said, changed, quotes, t_recv = self.books.drain_quotes(
                    self._fd, max_packets, quoting[0], quoting[1], quoting[2])
            if handled:
                self._applied(said, changed)
        if self.recovering and fx_monotonic_ns() > self._deadline_ns:
            self.request_snapshot()
        return handled, said, [] if changed is None else changed, [] if quotes is None else quotes, t_recv
