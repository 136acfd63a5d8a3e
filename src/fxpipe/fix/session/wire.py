"""The session layer's one seam to the codec (fxpipe.fix.codec): framing, parsing, encoding.

Everything the session needs from the wire format goes through these few names, so the state
machine reads in FIX terms and a codec change touches one file.
"""
from __future__ import annotations

from fxpipe.fix.codec import (
    Encoder,
    FixParseError,
    encode,
    format_utc_timestamp,
    frame_length,
    next_frame_start,
    parse,
)
from fxpipe.fix.codec import FixMessage as Message
from fxpipe.fix.enums import UNSUPPORTED_BEGIN_STRING

__all__ = ["Encoder", "Message", "FixParseError", "UNSUPPORTED_BEGIN_STRING", "encode", "format_utc_timestamp",
           "frame_length", "next_frame_start", "parse", "msg_type", "find_seq_num", "renumbered"]


def msg_type(msg: Message) -> str:
    return msg.msg_type


def find_seq_num(frame: bytes) -> int | None:
    """MsgSeqNum of a frame that did not parse, so its Reject can refer to it."""
    at = frame.find(b"\x0134=")
    if at < 0:
        return None
    end = frame.find(b"\x01", at + 4)
    digits = frame[at + 4:end if end > 0 else len(frame)]
    return int(digits) if digits.isdigit() else None


def renumbered(frame: bytes, seq: int) -> bytes:
    """The frame with its MsgSeqNum replaced by seq (BodyLength and CheckSum recomputed): lets
    the codec, which refuses a MsgSeqNum below 1 everywhere, read the one message whose number
    FIX says to ignore (SequenceReset-Reset)."""
    at = frame.find(b"\x0134=")
    end = frame.find(b"\x01", at + 4)
    start = frame.find(b"\x01", frame.find(b"\x019=") + 1) + 1
    trailer = frame.rfind(b"\x0110=") + 1
    if at < 0 or end < 0 or not 0 < start <= at < trailer:
        return frame
    body = frame[start:at] + b"\x0134=%d" % seq + frame[end:trailer]
    head = frame[:frame.find(b"\x01") + 1] + b"9=%d\x01" % len(body)
    msg = head + body
    return msg + b"10=%03d\x01" % (sum(msg) % 256)
