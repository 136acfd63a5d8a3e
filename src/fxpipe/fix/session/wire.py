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
from fxpipe.fix.tags import Tag

__all__ = ["Encoder", "Message", "FixParseError", "UNSUPPORTED_BEGIN_STRING", "encode", "format_utc_timestamp",
           "frame_length", "next_frame_start", "parse", "msg_type", "find_seq_num", "renumbered", "SOH",
           "field_prefix"]


SOH = b"\x01"


def field_prefix(tag: int) -> bytes:
    """b"<tag>=" as a field starts on the wire."""
    return b"%d=" % tag


_BODY_LENGTH = field_prefix(Tag.BodyLength)
_SEQ_NUM = field_prefix(Tag.MsgSeqNum)
_CHECK_SUM = field_prefix(Tag.CheckSum)


def msg_type(msg: Message) -> str:
    return msg.msg_type


def find_seq_num(frame: bytes) -> int | None:
    """MsgSeqNum of a frame that did not parse, so its Reject can refer to it."""
    at = frame.find(SOH + _SEQ_NUM)
    if at < 0:
        return None
    at += 1 + len(_SEQ_NUM)
    end = frame.find(SOH, at)
    digits = frame[at:end if end > 0 else len(frame)]
    return int(digits) if digits.isdigit() else None


def renumbered(frame: bytes, seq: int) -> bytes:
    """The frame with its MsgSeqNum replaced by seq (BodyLength and CheckSum recomputed): lets
    the codec, which refuses a MsgSeqNum below 1 everywhere, read the one message whose number
    FIX says to ignore (SequenceReset-Reset)."""
    at = frame.find(SOH + _SEQ_NUM)
    end = frame.find(SOH, at + 1 + len(_SEQ_NUM))
    start = frame.find(SOH, frame.find(SOH + _BODY_LENGTH) + 1) + 1
    trailer = frame.rfind(SOH + _CHECK_SUM) + 1
    if at < 0 or end < 0 or not 0 < start <= at < trailer:
        return frame
    body = frame[start:at] + SOH + _SEQ_NUM + b"%d" % seq + frame[end:trailer]
    head = frame[:frame.find(SOH) + 1] + _BODY_LENGTH + b"%d" % len(body) + SOH
    msg = head + body
    return msg + _CHECK_SUM + b"%03d" % (sum(msg) % 256) + SOH
