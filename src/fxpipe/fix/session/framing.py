"""Cutting the byte stream of a connection into FIX frames.

feed() appends what the socket gave and hands each complete frame on, in order. Bytes that
cannot start a frame (garbled: bad BeginString, BodyLength or CheckSum) are skipped up to the
next `8=FIX` and reported, as FIX says: dropped, without a Reject. What is left waits for more
bytes; `pending` says how much, so the session can drop a link that never completes a frame.
"""
from __future__ import annotations

from collections.abc import Callable

from . import wire


class Framer:
    def __init__(self, live: Callable[[], bool]):
        self._buf = bytearray()
        self._live = live  # False once a frame's handling closed the link: stop there

    def feed(self, data: bytes, on_frame: Callable[[bytes], None],
             on_garbled: Callable[[int, Exception], None]) -> None:
        buf = self._buf
        buf += data
        pos = 0
        while self._live() and pos < len(buf):
            try:
                n = wire.frame_length(buf, pos)
            except wire.FixParseError as exc:
                nxt = wire.next_frame_start(buf, pos + 1)
                skipped = (nxt if nxt >= 0 else len(buf)) - pos
                on_garbled(skipped, exc)
                pos += skipped
                continue
            if n == 0:
                break
            frame = bytes(buf[pos:pos + n])
            pos += n
            on_frame(frame)
        del buf[:pos]

    @property
    def pending(self) -> int:
        return len(self._buf)

    def clear(self) -> None:
        self._buf.clear()
