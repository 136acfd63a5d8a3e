"""What the sink needs of a QuestDB configuration string, and QuestDB's SQL endpoint.

Rows go through the official client (`questdb.Sender.from_conf(conf)`); tables are created
before that through HTTP `/exec`, which the ingestion client does not cover, at the same
address and with the same credentials. Only `http` and `https` are accepted: the sink's
checkpoint may only move once QuestDB has acknowledged a batch, and ILP over TCP acknowledges
nothing.
"""
from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass


class QuestDBConfError(ValueError):
    """A configuration string the sink cannot use."""


class QuestDBUnavailable(OSError):
    """QuestDB could not be reached or answered with a server error: try again later."""


class QuestDBRejected(ValueError):
    """QuestDB refused a statement (HTTP 4xx): retrying the same thing will not help."""


@dataclass(frozen=True)
class QuestDBConf:
    text: str
    scheme: str
    host: str
    port: int
    params: dict[str, str]

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def parse_conf(text: str) -> QuestDBConf:
    """`http::addr=host:port;key=value;...` (a ';' inside a value is written ';;')."""
    scheme, sep, rest = text.partition("::")
    if not sep:
        raise QuestDBConfError(f"{text!r}: a QuestDB configuration string looks like "
                               f"'http::addr=127.0.0.1:9000;'")
    if scheme not in ("http", "https"):
        raise QuestDBConfError(f"{text!r}: the sink needs 'http' or 'https' (QuestDB acknowledges "
                               f"each batch there); {scheme!r} gives no acknowledgement")
    params: dict[str, str] = {}
    key, value, i = "", None, 0
    buf: list[str] = []
    while i < len(rest):
        ch = rest[i]
        if value is None:
            if ch == "=":
                key, value, buf = "".join(buf), "", []
            elif ch == ";":
                raise QuestDBConfError(f"{text!r}: {''.join(buf)!r} has no '='")
            else:
                buf.append(ch)
        elif ch == ";" and rest[i + 1:i + 2] == ";":
            buf.append(";")
            i += 1
        elif ch == ";":
            params[key] = "".join(buf)
            value, buf = None, []
        else:
            buf.append(ch)
        i += 1
    if value is not None:
        params[key] = "".join(buf)
    elif buf:
        raise QuestDBConfError(f"{text!r}: {''.join(buf)!r} has no '='")
    addr = params.get("addr")
    if not addr:
        raise QuestDBConfError(f"{text!r}: no addr=HOST:PORT")
    host, _, port = addr.rpartition(":")
    if not host:
        host, port = addr, "9000"
    if not port.isdigit():
        raise QuestDBConfError(f"{text!r}: port {port!r} in addr is not a number")
    return QuestDBConf(text, scheme, host, int(port), params)


def exec_sql(conf: QuestDBConf, sql: str, timeout_s: float = 10.0) -> dict:
    """Runs one statement through /exec; QuestDB's JSON answer, or QuestDBUnavailable /
    QuestDBRejected."""
    url = f"{conf.base_url}/exec?" + urllib.parse.urlencode({"query": sql})
    req = urllib.request.Request(url, headers={"User-Agent": "fxpipe-questdb-sink"})
    p = conf.params
    if "username" in p and "password" in p:
        cred = base64.b64encode(f"{p['username']}:{p['password']}".encode()).decode()
        req.add_header("Authorization", f"Basic {cred}")
    elif "token" in p:
        req.add_header("Authorization", f"Bearer {p['token']}")
    ctx = None
    if conf.scheme == "https":
        ctx = ssl.create_default_context(cafile=p.get("tls_roots"))
        if p.get("tls_verify") == "unsafe_off":
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(req, timeout=timeout_s, context=ctx) as resp:
            return json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        body = exc.read().decode("utf-8", "replace")
        if 400 <= exc.code < 500:
            raise QuestDBRejected(f"QuestDB refused {sql!r}: HTTP {exc.code} {body}") from None
        raise QuestDBUnavailable(f"QuestDB /exec answered HTTP {exc.code} {body}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise QuestDBUnavailable(f"QuestDB at {conf.base_url} unreachable: {exc}") from None
