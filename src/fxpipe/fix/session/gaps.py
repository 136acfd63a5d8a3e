"""Incoming sequence gaps: messages that arrived early, and the one ResendRequest outstanding.

When a message arrives above the expected MsgSeqNum the session keeps it here (up to
max_queued; anything beyond is dropped, since EndSeqNo=0 asks for it again) and sends one
ResendRequest. No second request goes out while one is outstanding (no resend storm): the request
counts as answered once the expected number passes the highest number seen when it was sent.
"""
from __future__ import annotations


class InboundGaps:
    def __init__(self, max_queued: int):
        self.max_queued = max_queued
        self.queue: dict[int, object] = {}
        self.requested_through: int | None = None  # highest seq seen when the request went out
        self.requests_sent = 0

    def hold(self, seq: int, msg: object) -> None:
        if len(self.queue) < self.max_queued:
            self.queue.setdefault(seq, msg)

    def should_request(self, expected: int) -> bool:
        """True when a ResendRequest must go out now (none outstanding)."""
        if self.requested_through is not None and expected > self.requested_through:
            self.requested_through = None
        return self.requested_through is None

    def requested(self, highest_seen: int) -> None:
        self.requested_through = highest_seen
        self.requests_sent += 1

    def pop_ready(self, expected: int):
        """The queued message whose turn has come; None if none."""
        return self.queue.pop(expected, None) if self.queue else None

    def drop_below(self, expected: int) -> None:
        """After a gap fill or reset jumped past them: early messages now too old."""
        for seq in [s for s in self.queue if s < expected]:
            del self.queue[seq]

    def progress(self, expected: int) -> None:
        if self.requested_through is not None and expected > self.requested_through:
            self.requested_through = None

    @property
    def outstanding(self) -> bool:
        return self.requested_through is not None

    def clear(self) -> None:
        self.queue.clear()
        self.requested_through = None
