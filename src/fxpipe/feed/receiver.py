"""Receives one binary feed channel: incremental packets into FeedBooks (read, decoded and
applied in C, a batch of datagrams a system call), and the snapshot exchange that recovers from
lost packets.

The receiver owns two UDP sockets on loopback: the one the publisher sends incrementals to,
and one it asks the publisher's snapshot server from. FeedBooks says when a snapshot is
needed (first packet, a gap, a publisher restart); the receiver sends a SnapshotRequest, and
asks again if the answer is incomplete or does not come within `snapshot_timeout_ms`. Books
stay usable throughout: an instrument is only flagged stale until a refresh or the snapshot
brings it up to date.
"""
from __future__ import annotations

import socket
import time

import fxpipe.feed.books as fb
from fxpipe.feed.publisher import LOOPBACK, check_loopback
from fxpipe.feed.receivercore import MAX_PACKETS_PER_POLL, ReceiverCore  # noqa: F401  (re-export)
from fxpipe.feed.sbe import CHANNELS, MAX_PACKET_BYTES, PacketWriter


class FeedReceiver(ReceiverCore):
    def __init__(self, channel_id: int, listen_port: int, snapshot_server: tuple[str, int],
                 snapshot_timeout_ms: float = 200.0):
        self.channel_id = channel_id
        self.books = fb.FeedBooks(channel_id)
        self.snapshot_server = check_loopback(*snapshot_server)
        self.snapshot_timeout_ns = int(snapshot_timeout_ms * 1_000_000)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.setblocking(False)
        self.snap_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.snap_sock.setblocking(False)
        try:
            self.sock.bind((LOOPBACK, listen_port))
            self.snap_sock.bind((LOOPBACK, 0))
        except OSError as exc:
            self.close()
            raise OSError(exc.errno, f"feed channel {channel_id}: cannot listen on {LOOPBACK}:{listen_port}: "
                          f"{exc.strerror}") from None
        self.port = self.sock.getsockname()[1]
        self._fd, self._snap_fd = self.sock.fileno(), self.snap_sock.fileno()
        self._buf = bytearray(MAX_PACKET_BYTES)
        self._view = memoryview(self._buf)
        self._w = PacketWriter()
        self.request_id = 0
        self.recovering = False
        self.requests_sent = 0
        self.snapshots_done = 0
        self._deadline_ns = 0

    def request_snapshot(self) -> None:
        self.request_id += 1
        self.books.begin_snapshot(self.request_id)
        self._w.start(self.request_id, time.time_ns(), 0, self.channel_id, CHANNELS["request"])
        self._w.add_snapshot_request(self.request_id, 0)
        try:
            self.snap_sock.sendto(self._w.finish(), self.snapshot_server)
        except (BlockingIOError, ConnectionRefusedError):
            pass  # the timeout below asks again
        self.requests_sent += 1
        self.recovering = True
        self._deadline_ns = time.monotonic_ns() + self.snapshot_timeout_ns

    def _applied(self, said: int, changed: list[int]) -> None:
        """After a batch of incrementals: what they said (fb.DRAINED_* bits) and the instruments
        they changed. A gap or a new stream asks for a snapshot, once per batch. While a snapshot
        is already asked for, a further gap does not ask again: the answer on its way completes
        recovery if it reflects that gap's packet, else it comes back INCOMPLETE and is asked for
        again (as it is after snapshot_timeout_ms). Asking anew on every gap would discard the
        answer in flight, which may well cover that gap, and under sustained loss would ask the
        snapshot server once per lost packet."""
        if said & fb.DRAINED_NEW_STREAM or (said & fb.DRAINED_GAP and not self.recovering):
            self.request_snapshot()

    def _snapshot(self, n: int) -> int:
        status = self.books.on_snapshot_packet(self._view[:n])
        if status == fb.DONE:
            self.recovering = False
            self.snapshots_done += 1
        elif status == fb.INCOMPLETE:
            self.request_snapshot()
        return status

    # poll(timeout_s, max_packets, ready) and poll_quotes(venue_id, first_sequence, raw,
    # timeout_s, ready): ReceiverCore's, in C (fxpipe.feed.receivercore)

    def stats(self) -> dict:
        s = self.books.stats()
        s.update(requests_sent=self.requests_sent, snapshots_done=self.snapshots_done, recovering=self.recovering)
        return s

    def close(self) -> None:
        for s in (self.sock, self.snap_sock):
            s.close()
