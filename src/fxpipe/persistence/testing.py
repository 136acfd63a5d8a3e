"""A loopback stand-in for QuestDB's HTTP server, for tests of the sink (and of whatever runs it).

It answers what the official client and the sink ask, the way QuestDB does:

- `GET /settings`: the server's settings; line protocol versions 1 and 2, so the client picks 2;
- `GET /ping`: 204;
- `GET /exec?query=CREATE TABLE ...`: creates the table (columns, designated timestamp, DEDUP
  UPSERT KEYS) and answers `{"ddl": "OK"}`; other SQL gets QuestDB's 400 error JSON;
- `POST /write?precision=n`: parses every line (fxpipe.persistence.ilp_text), checks each value
  against its column's type (adding unknown columns, creating unknown tables without dedup, as
  QuestDB does), and applies the request whole or not at all: 204, or 400 with QuestDB's JSON
  error naming the line. Rows with the same dedup key replace each other (DEDUP UPSERT).

`down(503)` makes every request fail with that status until `up()`; `stop()` closes the socket
(connection refused). Tests read rows back with `rows(table)`.
"""
from __future__ import annotations

import json
import re
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fxpipe.persistence.ilp_text import IlpError, parse

# ILP value kind -> column types it may be written to.
_FITS = {
    "LONG": {"LONG", "INT", "SHORT", "BYTE", "DOUBLE", "FLOAT", "TIMESTAMP", "DATE"},
    "DOUBLE": {"DOUBLE", "FLOAT"},
    "STRING": {"VARCHAR", "STRING", "SYMBOL", "CHAR"},
    "BOOLEAN": {"BOOLEAN"},
    "TIMESTAMP": {"TIMESTAMP"},
    "TAG": {"SYMBOL", "VARCHAR", "STRING"},
}
_NEW_COLUMN = {"LONG": "LONG", "DOUBLE": "DOUBLE", "STRING": "VARCHAR", "BOOLEAN": "BOOLEAN",
               "TIMESTAMP": "TIMESTAMP", "TAG": "SYMBOL"}
_CREATE = re.compile(
    r'^\s*CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?"?(\w+)"?\s*\((.*)\)\s*TIMESTAMP\s*\(\s*"?(\w+)"?\s*\)'
    r"\s*PARTITION\s+BY\s+\w+\s*(WAL)?\s*(DEDUP\s+UPSERT\s+KEYS\s*\(([^)]*)\))?\s*;?\s*$",
    re.IGNORECASE | re.DOTALL)


@dataclass
class TableState:
    name: str
    columns: dict[str, str]                   # name -> QuestDB type, in order
    timestamp: str
    dedup_keys: tuple[str, ...]
    rows: list[dict] = field(default_factory=list)
    _by_key: dict[tuple, int] = field(default_factory=dict)

    def upsert(self, row: dict) -> None:
        full = {c: row.get(c) for c in self.columns}
        if not self.dedup_keys:
            self.rows.append(full)
            return
        key = tuple(full[k] for k in self.dedup_keys)
        at = self._by_key.get(key)
        if at is None:
            self._by_key[key] = len(self.rows)
            self.rows.append(full)
        else:
            self.rows[at] = full


class IlpReceiver:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.tables: dict[str, TableState] = {}
        self.lock = threading.Lock()
        self.down_status: int | None = None
        self.write_delay_s = 0.0                     # a slow QuestDB: each /write waits this long
        self.requests: list[tuple[str, str]] = []    # (method, path) of every request
        self.write_bodies: list[bytes] = []          # bodies of accepted /write requests
        self.connections: set = set()                # open client sockets, closed by stop()
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self.host: str = "127.0.0.1" if host in ("", "0.0.0.0") else host
        self.port: int = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="ilp-receiver", daemon=True)
        self._thread.start()

    @property
    def conf(self) -> str:
        return f"http::addr={self.host}:{self.port};"

    # --- what a test controls -----------------------------------------------------------------

    def down(self, status: int = 503) -> None:
        self.down_status = status

    def up(self) -> None:
        self.down_status = None

    def stop(self) -> None:
        """Closes the listening socket and every open connection: the client sees QuestDB gone."""
        self._server.shutdown()
        self._server.server_close()
        with self.lock:
            for sock in list(self.connections):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.connections.clear()
        self._thread.join(timeout=5)

    def __enter__(self) -> IlpReceiver:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- what a test reads --------------------------------------------------------------------

    def rows(self, table: str) -> list[dict]:
        with self.lock:
            t = self.tables.get(table)
            return sorted((dict(r) for r in t.rows), key=lambda r: (r[t.timestamp], r.get("journal_seq") or 0)) if t else []

    def column_types(self, table: str) -> dict[str, str]:
        with self.lock:
            return dict(self.tables[table].columns)

    def row_count(self) -> int:
        with self.lock:
            return sum(len(t.rows) for t in self.tables.values())

    # --- QuestDB's behaviour ------------------------------------------------------------------

    def exec_sql(self, sql: str) -> tuple[int, dict]:
        m = _CREATE.match(sql)
        if not m:
            return 400, {"query": sql, "error": "only CREATE TABLE is understood here", "position": 0}
        if_not_exists, name, body, ts, _wal, _dedup, keys = m.groups()
        columns: dict[str, str] = {}
        for part in body.split(","):
            words = part.strip().split()
            if len(words) != 2:
                return 400, {"query": sql, "error": f"bad column definition {part.strip()!r}", "position": 0}
            columns[words[0].strip('"')] = words[1].upper()
        if columns.get(ts) != "TIMESTAMP":
            return 400, {"query": sql, "error": f"designated timestamp {ts} is not a TIMESTAMP column",
                         "position": 0}
        dedup = tuple(k.strip().strip('"') for k in keys.split(",")) if keys else ()
        missing = [k for k in dedup if k not in columns]
        if missing or (dedup and ts not in dedup):
            return 400, {"query": sql, "error": f"deduplicate key list must include the designated "
                         f"timestamp and name columns of the table: {dedup}", "position": 0}
        with self.lock:
            if name in self.tables:
                if not if_not_exists:
                    return 400, {"query": sql, "error": f"table already exists [table={name}]", "position": 0}
            else:
                self.tables[name] = TableState(name, columns, ts, dedup)
        return 200, {"ddl": "OK"}

    def write(self, body: bytes, precision: str) -> tuple[int, dict | None]:
        try:
            lines = parse(body, precision)
        except IlpError as exc:
            return 400, _ilp_error(str(exc), exc.line_no)
        with self.lock:
            staged: list[tuple[TableState, dict]] = []
            created: dict[str, TableState] = {}
            for ln in lines:
                t = self.tables.get(ln.table) or created.get(ln.table)
                if t is None:
                    t = created[ln.table] = TableState(ln.table, {"timestamp": "TIMESTAMP"}, "timestamp", ())
                if ln.ts_ns is None:
                    return 400, _ilp_error(f"error in line {ln.line_no}: table: {ln.table}; the test receiver "
                                           f"has no server clock: send a designated timestamp", ln.line_no)
                row: dict = {t.timestamp: ln.ts_ns // 1000}     # TIMESTAMP columns hold microseconds
                values: list[tuple[str, str, object]] = [(k, "TAG", v) for k, v in ln.tags.items()]
                values += [(k, kind, v) for k, (kind, v) in ln.fields.items()]
                for col, kind, value in values:
                    have = t.columns.get(col)
                    if have is None:
                        t.columns[col] = have = _NEW_COLUMN[kind]
                    if have not in _FITS[kind]:
                        return 400, _ilp_error(
                            f"error in line {ln.line_no}: table: {ln.table}, column: {col}; cast error from "
                            f"protocol type: {kind if kind != 'TAG' else 'SYMBOL'} to column type: {have}",
                            ln.line_no)
                    row[col] = value // 1000 if kind == "TIMESTAMP" and isinstance(value, int) else value
                staged.append((t, row))
            self.tables.update(created)
            for t, row in staged:
                t.upsert(row)
            self.write_bodies.append(body)
        return 204, None


def _ilp_error(message: str, line: int) -> dict:
    return {"code": "invalid", "message": f"failed to parse line protocol:errors encountered on line(s):\n{message}",
            "line": line, "errorId": "fxpipe-test-1"}


_SETTINGS = {"config": {"release.type": "OSS", "release.version": "[DEVELOPMENT]",
                        "line.proto.support.versions": [1, 2], "ilp.proto.transports": ["tcp", "http"],
                        "cairo.max.file.name.length": 127}, "preferences.version": 0, "preferences": {}}


def _handler(rx: IlpReceiver):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            with rx.lock:
                rx.connections.add(self.connection)

        def finish(self) -> None:
            with rx.lock:
                rx.connections.discard(self.connection)
            super().finish()

        def log_message(self, *args) -> None:   # quiet: tests read the receiver's state instead
            pass

        def _reply(self, status: int, doc: dict | None) -> None:
            body = json.dumps(doc).encode() if doc is not None else b""
            self.send_response(status)
            if doc is not None:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                out = bytearray()
                while True:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                    if size == 0:
                        self.rfile.readline()
                        return bytes(out)
                    out += self.rfile.read(size)
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _route(self, method: str) -> None:
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query)
            body = self._body() if method == "POST" else b""
            with rx.lock:
                rx.requests.append((method, url.path))
            if rx.down_status is not None:
                return self._reply(rx.down_status, {"code": "internal error", "message": "server is down"})
            if url.path == "/ping":
                return self._reply(204, None)
            if url.path == "/settings" and method == "GET":
                return self._reply(200, _SETTINGS)
            if url.path == "/exec" and method == "GET":
                return self._reply(*rx.exec_sql(query.get("query", [""])[0]))
            if url.path in ("/write", "/api/v2/write") and method == "POST":
                if rx.write_delay_s:
                    time.sleep(rx.write_delay_s)
                return self._reply(*rx.write(body, query.get("precision", ["n"])[0]))
            return self._reply(404, {"code": "not found", "message": f"no {method} {url.path}"})

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

    return Handler
