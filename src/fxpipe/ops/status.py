"""`fxpipe status`: one document of what runs under a prefix, read from shared memory only
(ring headers and the status sections), and its rendering as rich tables.

    collect(prefix) -> {"prefix", "rings": [...], "sections": {name: {...}}}
    render(doc)     -> a rich renderable (Live refreshes it)
"""
from __future__ import annotations

import datetime as _dt
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from fxpipe.ops.status_shm import StatusReader
from fxpipe.ring import segment

RING_KINDS = ("md", "intent", "exec", "control")
SECTIONS = ("ops", "supervisor")
_BAD = {"absent", "stale", "busy", "torn", "damaged", "error"}


def ring_snapshot(name: str) -> dict[str, Any]:
    from fxpipe.ring import Ring, RingError

    if not segment.segment_path(name).exists():
        return {"name": name, "state": "absent"}
    try:
        ring = Ring.attach(name, timeout=0.1)
    except RingError as exc:
        return {"name": name, "state": "error", "detail": str(exc)}
    try:
        st = ring.status()
    finally:
        ring.close(unlink=False)
    st["state"] = "closed" if st.get("closed") else "ok"
    return st


def collect(prefix: str, stale_after_s: float = 5.0) -> dict[str, Any]:
    reader = StatusReader(prefix, stale_after_s=stale_after_s)
    sections = {k: v.as_dict() for k, v in reader.read_all().items()}
    for name in SECTIONS:
        if name not in sections:
            sections[name] = reader.read(name).as_dict()
    return {"prefix": prefix, "rings": [ring_snapshot(f"{prefix}.{k}") for k in RING_KINDS],
            "sections": dict(sorted(sections.items()))}


# ---------------------------------------------------------------------- rendering

def _when(ns: int | None) -> str:
    if not ns:
        return "-"
    try:
        return _dt.datetime.fromtimestamp(ns / 1e9, _dt.UTC).strftime("%H:%M:%S.%f")[:-3]
    except (OverflowError, OSError, ValueError):
        return str(ns)


def _state(text: str) -> Text:
    style = "red" if text in _BAD or text in ("DISCONNECTED", "dead", "ON") else \
        "green" if text in ("ok", "ACTIVE", "alive", "OFF") else "yellow"
    return Text(text, style=style)


def _table(title: str, *cols: str) -> Table:
    t = Table(title=title, title_justify="left", expand=False, pad_edge=False)
    for c in cols:
        t.add_column(c, justify="right" if c in _NUMERIC else "left")
    return t


_NUMERIC = {"cursor", "lag", "full waits", "count", "p50", "p90", "p99", "p99.9", "max", "open", "net",
            "avg px", "mark", "realized", "unrealized", "commission", "rpt realized", "rpt unrealized",
            "rate/s", "events", "restarts", "age s", "n", "pid"}


def _rings(doc: dict[str, Any]) -> Table:
    t = _table(f"rings {doc['prefix']}.*", "ring", "state", "cursor", "producer", "full waits", "consumer", "lag",
               "alive", "hb age s")
    lead = doc["prefix"] + "."
    for r in doc["rings"]:
        name = r["name"][len(lead):] if r["name"].startswith(lead) else r["name"]
        if r["state"] != "ok":
            t.add_row(name, _state(r["state"]), "", "", "", r.get("detail", "")[:60], "", "", "")
            continue
        pr = r["producer"]
        prod = f"{r['producer_mode']} pid {pr['pid']}" + ("" if pr["alive"] or not pr["pid"] else " (gone)")
        cons = r["consumers"] or [None]
        for i, c in enumerate(cons):
            head = (name, _state(r["state"]), str(r["cursor"]), prod, str(pr["full_waits"])) if i == 0 \
                else ("", "", "", "", "")
            if c is None:
                t.add_row(*head, "-", "", "", "")
                continue
            age = c["heartbeat_age_s"]
            t.add_row(*head, f"{c['name']} ({c['state']})", str(c["lag"]),
                      _state("alive" if c["alive"] else "dead"), "-" if age is None else f"{age:.1f}")
    return t


def _sections(doc: dict[str, Any]) -> Table:
    t = _table("status sections", "section", "state", "pid", "age s", "detail")
    for name, s in doc["sections"].items():
        t.add_row(name, _state(s["state"]), str(s["pid"] or ""), "-" if s["age_s"] is None else f"{s['age_s']:.1f}",
                  s["detail"])
    return t


def _latency(ops: dict[str, Any]) -> Table:
    t = _table("latency per hop (ns)", "hop", "count", "p50", "p90", "p99", "p99.9", "max", "skipped")
    lat = ops.get("latency", {})
    rows = [(k, v) for k, v in lat.get("hops", {}).items()] + \
        [(f"sample {k}", v) for k, v in lat.get("samples", {}).items()]
    for name, h in rows:
        cells = [str(h.get(k, "-")) for k in ("p50_ns", "p90_ns", "p99_ns", "p99.9_ns", "max_ns")]
        t.add_row(name, str(h["count"]), *cells, str(h["negative"] + h["too_large"]))
    return t


def _sessions(ops: dict[str, Any]) -> Table:
    t = _table("sessions", "venue", "kind", "state", "since", "reason", "changes")
    for s in ops.get("sessions", []):
        t.add_row(s["venue"], s["kind"], _state(s["state"]), _when(s["since_ns"]), s["reason"], str(s["changes"]))
    return t


def _orders(ops: dict[str, Any]) -> Table:
    o, f = ops.get("orders", {}), ops.get("fills", {})
    t = _table("orders and fills", "what", "n")
    t.add_row("open", str(o.get("open", 0)))
    for k, v in o.get("open_by_status", {}).items():
        t.add_row(f"  open {k}", str(v))
    for k, v in o.get("done_by_status", {}).items():
        t.add_row(f"  done {k}", str(v))
    t.add_row("order updates", str(o.get("updates", 0)))
    t.add_row("venue rejects", str(o.get("rejects", 0)))
    t.add_row("fills", f"{f.get('count', 0)} ({f.get('qty', '0')})")
    t.add_row("busts / corrections", f"{f.get('busts', 0)} / {f.get('corrections', 0)}")
    return t


def _positions(ops: dict[str, Any]) -> Table:
    t = _table("positions", "strategy", "instrument", "net", "avg px", "mark", "realized", "unrealized",
               "rpt realized", "rpt unrealized")
    for p in ops.get("positions", []):
        t.add_row(str(p["strategy_id"] or "desk"), p["instrument"], p["net_qty"], p["avg_px"], p["mark_px"],
                  p["realized_pnl"], p["unrealized_pnl"], f"{p['realized_pnl_rpt']} {p['rpt_ccy']}",
                  f"{p['unrealized_pnl_rpt']} {p['rpt_ccy']}")
    return t


def _pnl(ops: dict[str, Any]) -> Table:
    t = _table("PnL by currency", "strategy", "ccy", "realized", "unrealized", "commission", "rpt realized",
               "rpt unrealized", "mark")
    pnl = ops.get("pnl", {})
    for p in pnl.get("by_currency", []):
        t.add_row(str(p["strategy_id"] or "desk"), p["ccy"], p["realized"], p["unrealized"], p["commission"],
                  f"{p['realized_rpt']} {p['rpt_ccy']}", f"{p['unrealized_rpt']} {p['rpt_ccy']}", p["mark_status"])
    for p in pnl.get("total", []):
        t.add_row(str(p["strategy_id"] or "desk"), f"total {p['rpt_ccy']}", p["realized"], p["unrealized"],
                  p["commission"], "", "", p["mark_status"] + (f" ({p['missing_count']} missing)"
                                                               if p.get("missing_count") else ""))
    return t


def _risk(ops: dict[str, Any]) -> Table:
    r = ops.get("risk", {})
    ks = r.get("kill_switch", {})
    t = _table("risk", "what", "state")
    t.add_row("kill switch (global)", _state("ON" if ks.get("global") else "OFF"))
    for sid, since in ks.get("stopped_strategies", {}).items():
        t.add_row(f"strategy {sid} stopped", _state("ON") if since is not None else "")
    for sid in r.get("paused_strategies", {}):
        t.add_row(f"strategy {sid}", Text("paused", style="yellow"))
    for check, n in r.get("rejects", {}).items():
        last = r.get("last_reject", {}).get(check, {})
        t.add_row(f"rejects {check}", f"{n} (last: {last.get('observed_text', '')} > {last.get('limit_text', '')})")
    return t


def _alarms(ops: dict[str, Any], limit: int = 10) -> Table:
    t = _table("alarms (latest)", "time", "kind", "text")
    for a in list(ops.get("alarms", {}).get("recent", []))[-limit:]:
        t.add_row(_when(a["ts_ns"]), Text(a["kind"], style="red"), a["text"])
    return t


def _workers(sup: dict[str, Any]) -> Table:
    t = _table("workers", "worker", "pid", "state", "restarts")
    for w in sup.get("workers", []):
        t.add_row(str(w.get("name", "?")), str(w.get("pid", "")),
                  _state(str(w.get("state", "alive" if w.get("alive") else "dead"))), str(w.get("restarts", 0)))
    for a in sup.get("alarms", [])[-5:]:
        t.add_row(Text(f"alarm: {a.get('kind', a) if isinstance(a, dict) else a}", style="red"), "", "",
                  "")
    return t


def render(doc: dict[str, Any]) -> Group:
    ops = (doc["sections"].get("ops") or {}).get("snapshot") or {}
    sup = (doc["sections"].get("supervisor") or {}).get("snapshot") or {}
    ev_total = ops.get("events", {})
    head = Text(f"fxpipe {doc['prefix']}: {ev_total.get('total', 0)} events, last event "
                f"{_when(ev_total.get('last_event_ns'))}", style="bold")
    parts: list[Any] = [head, _rings(doc), _sections(doc)]
    if sup:
        parts.append(_workers(sup))
    if ops:
        parts += [_latency(ops), _sessions(ops), _orders(ops), _positions(ops), _pnl(ops), _risk(ops), _alarms(ops)]
    return Group(*parts)
