"""InfluxDB line protocol as QuestDB reads it, for the loopback receiver tests run the sink
against (fxpipe.persistence.testing).

    table[,tag=value...] field=value[,field=value...] [timestamp]\\n

Names and tag values escape ' ', ',', '=' and '\\' with a backslash; string fields are
double-quoted with '\\"', '\\\\' and a backslash before a newline; integers end in 'i',
timestamp fields in 't' (µs) or 'n' (ns); booleans are t/f/true/false in any case; anything
else is a float. Protocol version 2 (what the client sends once /settings says the server
takes it) adds binary doubles: '=' then '=', type byte 16 and 8 little-endian bytes, and an
'n' after the designated timestamp. A line that breaks these rules is an IlpError naming it.
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import NoReturn

BINARY_DOUBLE = 16
_BOOLS = {b"t": True, b"T": True, b"true": True, b"True": True, b"TRUE": True,
          b"f": False, b"F": False, b"false": False, b"False": False, b"FALSE": False}
# A name runs to an unescaped stop byte or the end of the line; a backslash escapes any byte.
_NAME = {stops: re.compile(rb"(?:[^\\\n%s]|\\.)+" % re.escape(stops), re.DOTALL) for stops in (b", ", b"=")}
_ESCAPE = re.compile(rb"\\(.)", re.DOTALL)
_STRING = re.compile(rb'(?:[^"\\]|\\.)*', re.DOTALL)
_TOKEN = re.compile(rb"[^, \n]+")
_PRECISION_NS = {"n": 1, "u": 1_000, "ms": 1_000_000, "s": 1_000_000_000}


class IlpError(ValueError):
    def __init__(self, line_no: int, message: str):
        super().__init__(f"error in line {line_no}: {message}")
        self.line_no = line_no


@dataclass
class IlpLine:
    line_no: int
    table: str
    tags: dict[str, str]
    fields: dict[str, tuple[str, object]]   # name -> (LONG | DOUBLE | STRING | BOOLEAN | TIMESTAMP, value)
    ts_ns: int | None                       # the designated timestamp; None: the server's clock


class _Cursor:
    def __init__(self, data: bytes, pos: int, line_no: int):
        self.data, self.pos, self.line_no = data, pos, line_no

    def fail(self, message: str) -> NoReturn:
        raise IlpError(self.line_no, message)

    def peek(self) -> int:
        return self.data[self.pos] if self.pos < len(self.data) else -1

    def name(self, stops: bytes) -> str:
        m = _NAME[stops].match(self.data, self.pos)
        if m is None:
            self.fail(f"empty name at byte {self.pos}")
        self.pos = m.end()
        return _ESCAPE.sub(rb"\1", m.group()).decode("utf-8")

    def expect(self, ch: bytes) -> None:
        if self.data[self.pos:self.pos + 1] != ch:
            self.fail(f"expected {ch.decode()!r} at byte {self.pos}")
        self.pos += 1

    def field_value(self, name: str) -> tuple[str, object]:
        d = self.data
        if self.peek() == 0x22:                                 # "string"
            m = _STRING.match(d, self.pos + 1)
            if m is None or m.end() >= len(d) or d[m.end()] != 0x22:
                self.fail(f"unterminated string in field {name}")
            self.pos = m.end() + 1
            return "STRING", _ESCAPE.sub(rb"\1", m.group()).decode("utf-8")
        if self.peek() == 0x3D:                                 # '=': protocol version 2 binary
            kind = d[self.pos + 1] if self.pos + 1 < len(d) else -1
            if kind != BINARY_DOUBLE:
                self.fail(f"binary type {kind} in field {name} is not supported here")
            (value,) = struct.unpack_from("<d", d, self.pos + 2)
            self.pos += 10
            return "DOUBLE", value
        m = _TOKEN.match(d, self.pos)
        tok = m.group() if m else b""
        self.pos += len(tok)
        if not tok:
            self.fail(f"field {name} has no value")
        if tok in _BOOLS:
            return "BOOLEAN", _BOOLS[tok]
        body, unit = tok[:-1], tok[-1:]
        if unit in (b"i", b"t", b"n") and body.lstrip(b"-").isdigit():
            value = int(body)
            if unit == b"i":
                if not -(2**63) < value < 2**63:     # QuestDB's LONG null is -2**63
                    self.fail(f"integer {value} in field {name} is out of LONG's range")
                return "LONG", value
            return "TIMESTAMP", value * (1000 if unit == b"t" else 1)
        try:
            return "DOUBLE", float(tok)
        except ValueError:
            self.fail(f"invalid value {tok!r} in field {name}")


def parse(body: bytes, precision: str = "n") -> list[IlpLine]:
    """Every line of a /write body; IlpError at the first bad one."""
    unit_ns = _PRECISION_NS.get(precision)
    if unit_ns is None:
        raise IlpError(0, f"unknown precision {precision!r}")
    lines: list[IlpLine] = []
    pos, line_no = 0, 0
    while pos < len(body):
        if body[pos] in b"\n\r":
            pos += 1
            continue
        line_no += 1
        c = _Cursor(body, pos, line_no)
        table = c.name(b", ")
        tags: dict[str, str] = {}
        while c.peek() == 0x2C:
            c.pos += 1
            key = c.name(b"=")
            c.expect(b"=")
            tags[key] = c.name(b", ")
        c.expect(b" ")
        fields: dict[str, tuple[str, object]] = {}
        while True:
            key = c.name(b"=")
            c.expect(b"=")
            if key in fields or key in tags:
                c.fail(f"column {key} given twice")
            fields[key] = c.field_value(key)
            if c.peek() != 0x2C:
                break
            c.pos += 1
        ts_ns = None
        if c.peek() == 0x20:
            c.pos += 1
            start = c.pos
            while c.peek() not in (0x0A, -1):
                c.pos += 1
            tok = c.data[start:c.pos].rstrip(b"\r")
            scale = unit_ns
            if tok[-1:] in (b"n", b"t"):
                scale = 1 if tok[-1:] == b"n" else 1000
                tok = tok[:-1]
            if not tok.isdigit():
                c.fail(f"invalid timestamp {tok!r}")
            ts_ns = int(tok) * scale
        if c.peek() not in (0x0A, -1):
            c.fail(f"unexpected {chr(c.peek())!r} at byte {c.pos}")
        lines.append(IlpLine(line_no, table, tags, fields, ts_ns))
        pos = c.pos + 1
    return lines
