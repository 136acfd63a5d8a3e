"""Deliberately broken frames, for a venue that tests its counterparty's session layer.

garble() turns a well-formed message into one the receiver must drop as garbled (FIX: no
Reject, no sequence number used): a wrong CheckSum, a BodyLength that does not match, or a
BeginString of no FIX version.
"""
from __future__ import annotations

from fxpipe.fix.tags import Tag

from .wire import SOH, field_prefix

GARBLE_KINDS = ("checksum", "length", "begin")


def garble(raw: bytes, kind: str) -> bytes:
    if kind == "checksum":
        return raw[:-4] + b"%03d\x01" % ((int(raw[-4:-1]) + 1) % 256)
    if kind == "length":
        length = SOH + field_prefix(Tag.BodyLength)
        at = raw.index(length) + len(length)
        end = raw.index(SOH, at)
        return raw[:at] + str(int(raw[at:end]) + 5).encode() + raw[end:]
    if kind == "begin":
        return field_prefix(Tag.BeginString) + b"FXX.4.2" + raw[raw.index(SOH):]
    raise ValueError(f"garble kind must be one of {', '.join(GARBLE_KINDS)}, got {kind!r}")
