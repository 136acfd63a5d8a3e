"""Third-party routing of session replies: who a Reject, BusinessMessageReject or Logout goes to.

A message sent on behalf of someone (OnBehalfOfCompID/SubID/LocationID, 115/116/144) is
answered to them (DeliverToCompID/SubID/LocationID, 128/129/145, same values), and a message
delivered to someone is answered on their behalf: each pair swaps. The frame form serves the
messages that did not parse, which still deserve a reply that reaches the right desk.
"""
from __future__ import annotations

from .admin import (
    DELIVER_TO_COMP_ID,
    DELIVER_TO_LOCATION_ID,
    DELIVER_TO_SUB_ID,
    ON_BEHALF_OF_COMP_ID,
    ON_BEHALF_OF_LOCATION_ID,
    ON_BEHALF_OF_SUB_ID,
)

# (tag in the message, tag in its reply), both ways round.
_PAIRS = ((ON_BEHALF_OF_COMP_ID, DELIVER_TO_COMP_ID), (ON_BEHALF_OF_SUB_ID, DELIVER_TO_SUB_ID),
          (ON_BEHALF_OF_LOCATION_ID, DELIVER_TO_LOCATION_ID))
REPLY_TAG = {a: b for a, b in _PAIRS} | {b: a for a, b in _PAIRS}


def reply_header(msg) -> list[tuple[int, bytes]]:
    """Header fields of a reply to the parsed message msg."""
    out = []
    for tag, reply_tag in REPLY_TAG.items():
        value = msg.get(tag)
        if value:
            out.append((reply_tag, value))
    return out


def reply_header_of_frame(frame: bytes) -> list[tuple[int, bytes]]:
    """The same for a frame that did not parse (first occurrence of each tag)."""
    out = []
    for tag, reply_tag in REPLY_TAG.items():
        key = b"\x01%d=" % tag
        at = frame.find(key)
        if at < 0:
            continue
        start = at + len(key)
        end = frame.find(b"\x01", start)
        value = frame[start:end if end >= 0 else len(frame)]
        if value:
            out.append((reply_tag, value))
    return out
