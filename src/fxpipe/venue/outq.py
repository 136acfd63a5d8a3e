"""The venue's outgoing queue: application messages waiting for their send time.

Acks and fills leave after latencies drawn from the profile, so every message gets a due time;
messages to one session still leave in the order they were decided (a later message is never
due before an earlier one to the same session), which keeps a session's stream consistent
unless a fault reorders it on purpose. A stalled session (the `delay` fault) holds everything
until the stall ends; a session that is not logged on keeps its messages until it is again.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field


@dataclass(order=True, slots=True)
class Outgoing:
    due_ns: int
    seq: int
    session: str = field(compare=False)
    msg_type: str = field(compare=False)
    body: list = field(compare=False)
    # a copy of `original`: "possresend" (new MsgSeqNum, PossResend=Y), "resend" (the original's
    # MsgSeqNum again, PossDupFlag=Y), "" for an ordinary message
    dup: str = field(default="", compare=False)
    original: Outgoing | None = field(default=None, compare=False)
    sent_seq: int = field(default=0, compare=False)  # MsgSeqNum it went out under
    sent_ns: int = field(default=0, compare=False)  # and when (OrigSendingTime of a copy)


class OutQueue:
    def __init__(self):
        self._heap: list[Outgoing] = []
        self._seq = 0
        self._last_due: dict[str, int] = {}
        self._stall_until: dict[str, int] = {}
        self.held: dict[str, list[Outgoing]] = {}  # sessions not logged on
        self._pending: dict[str, int] = {}  # queued messages per session

    def push(self, due_ns: int, session: str, msg_type: str, body: list, dup: str = "",
             original: Outgoing | None = None, keep_order: bool = True) -> Outgoing:
        if keep_order:
            due_ns = max(due_ns, self._last_due.get(session, 0))
        due_ns = max(due_ns, self._stall_until.get(session, 0))
        self._last_due[session] = max(due_ns, self._last_due.get(session, 0))
        self._seq += 1
        item = Outgoing(due_ns, self._seq, session, msg_type, body, dup, original)
        heapq.heappush(self._heap, item)
        self._pending[session] = self._pending.get(session, 0) + 1
        return item

    def idle(self, session: str, now_ns: int) -> bool:
        """Nothing queued or held for the session and no stall: a message due now may go at once
        without overtaking anything."""
        return (not self._pending.get(session) and self._stall_until.get(session, 0) <= now_ns
                and not self.held.get(session))

    def stall(self, session: str, until_ns: int) -> None:
        """Holds every message to `session` (queued or to come) until until_ns."""
        self._stall_until[session] = max(until_ns, self._stall_until.get(session, 0))
        moved = []
        for item in self._heap:
            if item.session == session and item.due_ns < until_ns:
                moved.append(item)
        if moved:
            self._heap = [i for i in self._heap if not (i.session == session and i.due_ns < until_ns)]
            for item in moved:
                item.due_ns = until_ns
                self._heap.append(item)
            heapq.heapify(self._heap)
        self._last_due[session] = max(self._last_due.get(session, 0), until_ns)

    def next_due(self) -> int | None:
        return self._heap[0].due_ns if self._heap else None

    def pop_due(self, now_ns: int) -> list[Outgoing]:
        out = []
        h = self._heap
        while h and h[0].due_ns <= now_ns:
            item = heapq.heappop(h)
            self._pending[item.session] -= 1
            out.append(item)
        return out

    def hold(self, item: Outgoing) -> None:
        self.held.setdefault(item.session, []).append(item)

    def release(self, session: str) -> list[Outgoing]:
        return self.held.pop(session, [])

    def __len__(self) -> int:
        return len(self._heap) + sum(len(v) for v in self.held.values())
