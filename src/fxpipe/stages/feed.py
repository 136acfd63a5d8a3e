"""The feed stage's binary source: one channel of the binary UDP feed (fxpipe.feed) turned
into Quote events for the md ring, one per level of each instrument a packet changed, best
first, with the receive and decode hops stamped.

Gap recovery is the receiver's (snapshot exchange); what the rest of the pipeline must learn
from it is said with market-data SessionEvents for the venue: RESENDING (reason SEQUENCE_GAP)
when a gap or a new publisher stream is seen (once until the venue is ACTIVE again, however many
gaps follow) — the market-state stage drops the venue's quotes,
so no strategy trades on prices that may be stale — and ACTIVE (reason RESEND_COMPLETE) when the
snapshot has arrived, followed by every recovered book as fresh quotes. Instruments the books
flag stale are not quoted until they are refreshed.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Container

import numpy as np

import fxpipe.feed.books as fb
import fxpipe.model.events as ev
from fxpipe.feed.receiver import FeedReceiver


class _Collecting(FeedReceiver):
    """The receiver, noting when a snapshot completed recovery."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.recovered = False

    def _snapshot(self, n: int) -> int:
        status = super()._snapshot(n)
        if status == fb.DONE:
            self.recovered = True
        return status


class BinaryFeedSource:
    def __init__(self, channel_id: int, venue_id: int, listen_port: int, snapshot_server: tuple[str, int], *,
                 snapshot_timeout_ms: float = 200.0, clock: Callable[[], int] = time.time_ns, raw: bool = False):
        """raw: Quote events come as their bytes (bytearray), as a trading worker takes them;
        else as numpy records."""
        self.venue_id = venue_id
        self._raw = raw
        self._quotes = fb.FeedBooks.quote_events if raw else fb.FeedBooks.quotes
        self.rx = _Collecting(channel_id, listen_port, snapshot_server, snapshot_timeout_ms)
        self.clock = clock
        self.sequence = 0
        self.instruments: set[int] = set()
        self.resending = False          # RESENDING said, ACTIVE not yet

    @property
    def port(self) -> int:
        return self.rx.port

    def poll(self, timeout_s: float = 0.0, ready: Container[int] | None = None) -> list[np.void | bytearray]:
        """Everything the datagrams waiting now (up to timeout_s for the first) mean, in order.
        ready: which of fds() the caller knows readable (None: all are read)."""
        rx = self.rx
        # the common case in one C call from the socket to the events (stamped as the first
        # datagram came off the socket, then once the last was applied)
        _, said, ids, quotes, t_recv = rx.poll_quotes(self.venue_id, self.sequence + 1, self._raw, timeout_s, ready)
        if not said and not rx.recovered:
            if ids:
                self.instruments.update(ids)
                self.sequence += len(quotes)
            return quotes
        # a gap, a new stream or a completed recovery: the venue's SessionEvent goes first, so
        # the quotes are numbered again after it
        t_recv = t_recv or self.clock()
        out: list[np.void | bytearray] = []
        if said and not self.resending:      # said once an episode: further gaps change nothing downstream
            self.resending = True
            out.append(self._session(ev.SessionState.RESENDING, ev.SessionReason.SEQUENCE_GAP, t_recv))
        if rx.recovered:
            rx.recovered = False
            self.resending = False
            out.append(self._session(ev.SessionState.ACTIVE, ev.SessionReason.RESEND_COMPLETE, t_recv))
            ids = sorted(set(ids) | {i for i in self.instruments if rx.books.has_book(i)})
        t_dec = self.clock()
        for iid in ids:
            self.instruments.add(iid)
            if rx.books.is_stale(iid) or not rx.books.has_book(iid):
                continue
            qs = self._quotes(rx.books, iid, self.venue_id, t_recv, self.sequence + 1, t_dec)
            self.sequence += len(qs)
            out.extend(qs)
        return out

    def _session(self, state: int, reason: int, now: int) -> np.void:
        self.sequence += 1
        return ev.make(ev.EventType.SESSION, venue_id=self.venue_id, sequence=self.sequence,
                       session_kind=ev.SessionKind.MARKET_DATA, state=state, reason=reason, ts_receive_ns=now)

    def fds(self) -> list[int]:
        """The sockets poll() reads (for a worker that waits on them in one epoll set)."""
        return [self.rx.sock.fileno(), self.rx.snap_sock.fileno()]

    def idle_feed(self) -> tuple[fb.FeedBooks, int]:
        """The books and the incrementals' socket, for a spinning worker's idle wait to read into
        (fxpipe.runtime.idle.spin_wait_fd's feeds): what it reads is held in the books and
        applied first by this source's next poll()."""
        return self.rx.books, self.rx.sock.fileno()

    def stats(self) -> dict:
        return self.rx.stats()

    def close(self) -> None:
        self.rx.close()
