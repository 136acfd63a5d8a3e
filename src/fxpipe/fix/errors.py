"""FixParseError, the one exception every codec failure raises, and the text that says what was
wrong (each code's words come from fxpipe.fix.reasons), where, and what the session should do
about it."""
from __future__ import annotations

from fxpipe.fix import spec42
from fxpipe.fix.enums import UNSUPPORTED_BEGIN_STRING, SessionRejectReason
from fxpipe.fix.reasons import GARBLE_CODES, REASON_TEXT
from fxpipe.fix.tags import Tag

__all__ = ["FixParseError", "GARBLE_CODES", "describe", "reject_text"]


def _advice(reason: int, ref_tag: int | None) -> str:
    if reason in GARBLE_CODES:
        return "drop it without a Reject; the next message's sequence gap asks for it again"
    if reason == UNSUPPORTED_BEGIN_STRING:
        return "send Logout and disconnect"
    if reason == SessionRejectReason.REQUIRED_TAG_MISSING and ref_tag == Tag.MsgSeqNum:
        return "send Logout: a message without MsgSeqNum cannot be recovered"
    return "answer with a session-level Reject (35=3) for this MsgSeqNum"


def describe(reason: int, ref_tag, ref_msg_type, ref_seq_num, offset) -> str:
    parts = [f"FIX message rejected: {REASON_TEXT.get(reason, 'reason')} (code {reason})"]
    if ref_tag is not None:
        entry = spec42.FIELDS.get(ref_tag)
        parts.append(f"tag {ref_tag}" + (f" ({entry[0]})" if entry else ""))
    if ref_msg_type is not None:
        msg_entry = spec42.MESSAGES.get(ref_msg_type)
        parts.append(f"MsgType {ref_msg_type!r}" + (f" ({msg_entry[0]})" if msg_entry else ""))
    if ref_seq_num is not None:
        parts.append(f"MsgSeqNum {ref_seq_num}")
    if offset is not None:
        parts.append(f"at byte {offset}")
    return ", ".join(parts) + f"; {_advice(reason, ref_tag)}"


def reject_text(reason: int, ref_tag: int | None) -> str:
    """The Text (58) of the Reject we send for this failure: the reason in FIX's own words and
    the tag, as the counterparty's operators read them. Byte offsets and what our session does
    next are for our logs and exceptions (describe), not for the wire."""
    words = REASON_TEXT.get(reason, "message rejected")
    text = words[:1].upper() + words[1:]
    if ref_tag is not None:
        entry = spec42.FIELDS.get(ref_tag)
        text += f": tag {ref_tag}" + (f" ({entry[0]})" if entry else "")
    return text


class FixParseError(ValueError):
    """A message that is not valid FIX 4.2.

    reason: SessionRejectReason (0..17) for a Reject, a GarbleReason (1000s) for a message FIX
    says to drop silently, or UNSUPPORTED_BEGIN_STRING (1100: Logout). ref_tag, ref_msg_type and
    ref_seq_num name what a Reject's RefTagID (371), RefMsgType (372) and RefSeqNum (45) need,
    each None when unknown."""

    def __init__(self, message: str, reason: int, ref_tag: int | None = None,
                 ref_msg_type: str | None = None, ref_seq_num: int | None = None):
        super().__init__(message)
        self.reason = reason
        self.ref_tag = ref_tag
        self.ref_msg_type = ref_msg_type
        self.ref_seq_num = ref_seq_num

    @property
    def reject_text(self) -> str:
        """What the counterparty reads in our Reject's Text (58): plain FIX wording and the tag."""
        return reject_text(self.reason, self.ref_tag)

    @property
    def garbled(self) -> bool:
        """True when FIX says: ignore the message, send no Reject, do not consume its MsgSeqNum."""
        return self.reason in GARBLE_CODES

    def __reduce__(self):
        return (type(self), (self.args[0], self.reason, self.ref_tag, self.ref_msg_type, self.ref_seq_num))
