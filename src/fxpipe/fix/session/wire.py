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
           "frame_length", "next_frame_start", "parse", "msg_type", "find_seq_num"]


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
