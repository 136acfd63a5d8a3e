"""The receiver's line-protocol parser reads back exactly what the official client writes, in
both protocol versions, and names the line of anything QuestDB would refuse."""
from __future__ import annotations

import pytest
from questdb import TimestampNanos
from questdb._client import Buffer  # the public name (questdb.ingress.Buffer) is deprecated

from fxpipe.persistence.ilp_text import IlpError, parse

AWKWARD = 'a "quoted" \\ back,slash = and\nnewline'


@pytest.mark.parametrize("version", [1, 2])
def test_client_buffer_round_trips_through_the_parser(version):
    buf = Buffer(protocol_version=version)
    buf.row("fills", symbols={"venue": "E N,=\\1", "instrument": "EUR/USD"},
            columns={"qty_e2": -(2**63) + 1, "exec_id": AWKWARD, "live": True, "dead": False,
                     "px": 1.0850125, "when": TimestampNanos(1_764_745_200_123_456_000)},
            at=TimestampNanos(1_764_745_200_123_456_789))
    buf.row("t x", columns={"n": 0}, at=TimestampNanos(1))
    (a, b) = parse(bytes(buf))
    assert a.table == "fills" and b.table == "t x"
    assert a.tags == {"venue": "E N,=\\1", "instrument": "EUR/USD"}
    assert a.fields["qty_e2"] == ("LONG", -(2**63) + 1)
    assert a.fields["exec_id"] == ("STRING", AWKWARD)
    assert a.fields["live"] == ("BOOLEAN", True) and a.fields["dead"] == ("BOOLEAN", False)
    assert a.fields["px"] == ("DOUBLE", 1.0850125)
    assert a.fields["when"] == ("TIMESTAMP", 1_764_745_200_123_456_000)
    assert a.ts_ns == 1_764_745_200_123_456_789 and b.ts_ns == 1


def test_binary_double_holding_a_newline_byte_does_not_split_the_line():
    buf = Buffer(protocol_version=2)
    value = 4.9406564584124654e-323            # little-endian bytes start with 0x0a
    buf.row("t", columns={"d": value, "n": 1}, at=TimestampNanos(5))
    (line,) = parse(bytes(buf))
    assert line.fields == {"d": ("DOUBLE", value), "n": ("LONG", 1)}


@pytest.mark.parametrize("body,match", [
    (b"t a=1i 5\nt b=\"open 5\n", "line 2: unterminated string"),
    (b"t a=zz 5\n", "line 1: invalid value"),
    (b"t a=1i,a=2i 5\n", "line 1: column a given twice"),
    (b"t a=1i 12x\n", "line 1: invalid timestamp"),
    (b"t,x=1 5\n", "line 1: expected '='"),
    (b"t a=9223372036854775808i 5\n", "out of LONG's range"),
])
def test_lines_questdb_refuses_name_their_line(body, match):
    with pytest.raises(IlpError, match=match):
        parse(body)


def test_precision_applies_to_a_bare_designated_timestamp():
    assert parse(b"t a=1i 7\n", precision="u")[0].ts_ns == 7000
    assert parse(b"t a=1i\n")[0].ts_ns is None
