"""FIX 4.2 tag numbers by their specification names (Tag.ClOrdID == 11), built from the data
dictionary so every defined tag is here exactly once, and the tag sets of the standard header
and trailer."""
from __future__ import annotations

from enum import IntEnum

from fxpipe.fix import spec42

# The members come from the generated dictionary, which mypy cannot enumerate statically.
Tag = IntEnum("Tag", {name: tag for tag, (name, _, _) in sorted(spec42.FIELDS.items())})  # type: ignore[misc]
Tag.__doc__ = "FIX 4.2 tag numbers by name: Tag.MsgSeqNum == 34."

HEADER_TAGS = frozenset(item[0] for item in spec42.HEADER)
TRAILER_TAGS = frozenset(item[0] for item in spec42.TRAILER)
# Written by encode() itself; callers never pass these.
ENCODER_TAGS = frozenset({8, 9, 10, 35, 49, 56, 34, 52})
