"""OpsView: what the desk needs to see of a live book, kept from the events of every ring
(market data, intents, executions, control) as the journal process reads them.

It is a pure fold over events: no wall clock (rates and "since" come from event time), no
randomness, every map iterated in sorted order, so the same stream gives the same snapshot.
`snapshot()` is JSON-able: exact scaled integers stay ints (`*_e2`, `*_e4`, `*_e8`, ns) and each
has a display string next to it; nothing a decision depends on is a float.

Answers to operator commands are keyed by the Control's request_id. The oms stage puts the
request_id of the Control it answers in the RiskEvent's `cl_ord_id` (a RiskEvent about a
Control concerns no order, so the field was 0 there), and so does the decision stage for
PAUSE/RESUME; see docs/operations.md for which RiskEvent answers which command.
"""
from __future__ import annotations

import bisect
import functools
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram

import fxpipe.model.events as ev
from fxpipe.model import numbers
from fxpipe.model.packing import fields_reader
from fxpipe.model.refdata import RefData

_T = ev.EventType
_DTYPES = {int(t): ev.dtype_for(t) for t in _T}
_QUOTE = int(_T.QUOTE)
_CONTROL, _RISK = int(_T.CONTROL), int(_T.RISK)
_NAMES = {t: dt.names for t, dt in _DTYPES.items()}
# a quote's four stamps, in the order an event's time is taken from them, for the per-event path
_QUOTE_STAMPS = fields_reader(_QUOTE, "ts_receive_ns", "ts_venue_ns", "ts_decide_ns", "ts_risk_ns")
# up to this many slots a ring's batch is taken event by event (a quote ~0.5 us): the bulk
# path's numpy calls cost ~70 us whatever the batch's size, and a trader publishing one quote at
# a time hands the journal batches of one or two
SMALL_BATCH = 128
RATE_BUCKET_NS = 1_000_000_000
HIST_MAX_NS = 60_000_000_000
PERCENTILES = (50.0, 90.0, 99.0, 99.9)
# upper bounds (ns) of the exact buckets kept beside each HDR histogram (Prometheus `le`)
BUCKET_BOUNDS_NS = (1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000,
                    2_000_000, 5_000_000, 10_000_000, 50_000_000, 100_000_000, 1_000_000_000, 10_000_000_000)
# OrdStatus values after which an order changes no more
_DONE = {int(s) for s in (ev.OrdStatus.FILLED, ev.OrdStatus.CANCELED, ev.OrdStatus.REJECTED,
                          ev.OrdStatus.EXPIRED, ev.OrdStatus.REPLACED, ev.OrdStatus.DONE_FOR_DAY)
         if hasattr(ev.OrdStatus, s.name)}
# RiskEvent actions that answer a Control when cl_ord_id carries its request_id
_ANSWER_ACTIONS = {int(a) for a in (ev.RiskAction.KILL_SWITCH_ON, ev.RiskAction.KILL_SWITCH_OFF,
                                    ev.RiskAction.STRATEGY_STOPPED, ev.RiskAction.STRATEGY_RESUMED,
                                    ev.RiskAction.LIMIT_SET, ev.RiskAction.CHANGE_REFUSED)}
# which stamp pairs make each hop, by the kind of event that carries them
INTENT_HOPS = (("venue_to_receive", "ts_venue_ns", "ts_receive_ns"),
               ("receive_to_decode", "ts_receive_ns", "ts_decode_ns"),
               ("decode_to_decide", "ts_decode_ns", "ts_decide_ns"))
REQUEST_HOPS = (("decide_to_risk", "ts_decide_ns", "ts_risk_ns"),
                ("risk_to_send", "ts_risk_ns", "ts_send_ns"),
                ("tick_to_trade", "ts_receive_ns", "ts_send_ns"))
SESSION_UP = int(ev.SessionState.ACTIVE)
_KEEP_DONE = 65536
NO_LIMIT = (1 << 63) - 1          # how risk writes "no limit" in a LIMIT_SET answer
_L = ev.RiskLimit
# the scale of each limit's value (docs/risk.md): 2 quantity, 4 money, 0 count
LIMIT_SCALE = {int(k): v for k, v in ((_L.MAX_ORDER_QTY, 2), (_L.MAX_ORDER_NOTIONAL, 4), (_L.MAX_POSITION, 2),
                                      (_L.MAX_CCY_EXPOSURE, 4), (_L.MAX_GROSS_EXPOSURE, 4), (_L.MAX_LOSS, 4))}


@functools.lru_cache(maxsize=4096)
def _name(enum_cls: Any, v: int) -> str:
    # cached: making an enum member from its value costs microseconds, and every event names some
    try:
        return str(enum_cls(v).name)
    except ValueError:
        return f"?{v}"


def _text(v: Any) -> str:
    return bytes(v).rstrip(b"\0").decode("ascii", "replace")


def as_record(event: Any) -> Any:
    """A typed record for any event: a record of its own dtype, a raw 192-byte slot (bytes,
    memoryview, an element of a ring's byte dtype) or a header-only view."""
    if isinstance(event, np.void) and event.dtype.names and "type" in event.dtype.names \
            and event.dtype == _DTYPES.get(int(event["type"])):
        return event
    raw = event.tobytes() if hasattr(event, "tobytes") else bytes(event)
    if len(raw) < ev.SLOT_SIZE:
        raise ValueError(f"an event is {ev.SLOT_SIZE} bytes, got {len(raw)}")
    t = raw[0] | (raw[1] << 8)
    dt = _DTYPES.get(t)
    if dt is None:
        raise ValueError(f"unknown event type {t}")
    return np.frombuffer(raw[:ev.SLOT_SIZE], dtype=dt)[0]


class HopHistogram:
    """One hop's intervals: an HDR histogram (1 ns .. 60 s, 3 significant digits) and the
    exact count of what could not go in (negative: stamps from different clocks; too large)."""

    def __init__(self) -> None:
        self.hist = HdrHistogram(1, HIST_MAX_NS, 3)
        self.negative = 0
        self.too_large = 0
        self.sum_ns = 0
        self.buckets = [0] * (len(BUCKET_BOUNDS_NS) + 1)     # exact counts, for Prometheus

    def record(self, ns: int) -> None:
        if ns < 0:
            self.negative += 1
        elif ns > HIST_MAX_NS:
            self.too_large += 1
        else:
            self.hist.record_value(max(ns, 1))
            self.sum_ns += ns
            self.buckets[bisect.bisect_left(BUCKET_BOUNDS_NS, ns)] += 1

    def percentiles(self, ps: tuple[float, ...]) -> list[int]:
        """HdrHistogram's get_value_at_percentile, one numpy pass over its counts (the library
        walks every bucket in Python for each percentile: seconds per snapshot)."""
        h = self.hist
        cum = np.cumsum(np.ctypeslib.as_array(h.counts)[:h.counts_len])
        out = []
        for p in ps:
            idx = int(np.searchsorted(cum, h.get_target_count_at_percentile(p)))
            out.append(int(h.get_highest_equivalent_value(h.get_value_from_index(idx))))
        return out

    def _cumulative(self) -> list[list[int]]:
        out, run = [], 0
        for bound, n in zip(BUCKET_BOUNDS_NS, self.buckets, strict=False):
            run += n
            out.append([bound, run])
        return out

    def snapshot(self) -> dict[str, Any]:
        h = self.hist
        n = int(h.get_total_count())
        out: dict[str, Any] = {"count": n, "negative": self.negative, "too_large": self.too_large,
                               "sum_ns": self.sum_ns, "buckets": self._cumulative()}
        if n:
            out.update({"min_ns": int(h.get_min_value()), "max_ns": int(h.get_max_value()),
                        "mean_ns": self.sum_ns // n})
            out.update({f"p{p:g}_ns": v for p, v in zip(PERCENTILES, self.percentiles(PERCENTILES), strict=True)})
            out["display"] = " ".join(f"p{p:g}={_fmt_ns(out[f'p{p:g}_ns'])}" for p in PERCENTILES) \
                + f" max={_fmt_ns(out['max_ns'])}"
        return out


def _fmt_ns(ns: int) -> str:
    if ns < 10_000:
        return f"{ns}ns"
    if ns < 10_000_000:
        return f"{ns / 1e3:.1f}µs"
    return f"{ns / 1e6:.1f}ms"


def _value_text(v: int, scale: int) -> str:
    return "none" if v == NO_LIMIT else numbers.format_decimal(v, scale)


def _money(v: int) -> str:
    return numbers.format_money(v, 2)


class OpsView:
    """Feed it every event of every ring (`on_event`, or `on_batch` for a ring's batch) and
    read `snapshot()`. refdata names instruments, venues and currencies (and gives each
    position its currencies); alarm_hook(kind, text, fields) is called for each alarm seen."""

    def __init__(self, refdata: RefData | None = None, *, keep_alarms: int = 50, keep_answers: int = 256,
                 keep_fills: int = 20, alarm_hook: Callable[[str, str, dict[str, Any]], None] | None = None):
        self.refdata = refdata
        self.alarm_hook = alarm_hook
        self.events = 0
        self.last_event_ns = 0
        self.counts: dict[int, int] = {}
        self._bucket: dict[int, tuple[int, int, int]] = {}     # type -> (bucket, in it, in previous)
        self.orders: dict[int, int] = {}                       # open cl_ord_id -> OrdStatus
        self.orders_done: dict[int, int] = {}                  # OrdStatus -> orders that ended there
        self._recent_done: set[int] = set()
        self._done_order: deque[int] = deque()
        self.order_updates = 0
        self.order_rejects = 0
        self.fills = {"count": 0, "busts": 0, "corrections": 0, "qty_e2": 0}
        self.fills_by_instrument: dict[tuple[int, int], list[int]] = {}   # (instr, side) -> [count, qty]
        self.last_fills: deque[dict[str, Any]] = deque(maxlen=keep_fills)
        self.positions: dict[tuple[int, int], dict[str, Any]] = {}   # (strategy, instrument) -> fields
        self.pnl: dict[tuple[int, str], dict[str, Any]] = {}        # (strategy, ccy) -> fields
        self.pnl_total: dict[int, dict[str, Any]] = {}              # strategy -> fields
        self.kill_global = False
        self.kill_global_since = 0
        self.stopped: dict[int, int] = {}                      # strategy -> since (event ns)
        self.paused: dict[int, int] = {}
        self.rejects: dict[int, int] = {}                      # RiskCheck -> count
        self._last_reject: dict[int, tuple[dict[str, Any], int]] = {}   # RiskCheck -> (the last reject, the time then)
        self.limits: dict[tuple[int, int, int, int, str], dict[str, Any]] = {}
        self.sessions: dict[tuple[int, int], dict[str, Any]] = {}
        self.alarms: deque[dict[str, Any]] = deque(maxlen=keep_alarms)
        self.alarm_counts: dict[str, int] = {}
        self.hops: dict[str, HopHistogram] = {}
        self.samples: dict[int, HopHistogram] = {}
        self.requests: dict[int, dict[str, Any]] = {}          # request_id -> the Control and its answers
        self._keep_answers = keep_answers
        # an operator's command, or an answer to one, came since the owner last cleared this:
        # its publisher shows it at once rather than at its next tick
        self.urgent = False

    # ------------------------------------------------------------------ input

    def on_batch(self, batch: Iterable[Any]) -> None:
        """Every event of a batch, in order. A ring's batch (a contiguous array of 192-byte
        slots) takes its runs of quotes in bulk: quotes only count, and they are most of the
        traffic, so the journal process keeps up with the market-data ring."""
        arr = batch if isinstance(batch, np.ndarray) else None
        if arr is None or arr.ndim != 1 and not (arr.ndim == 2 and arr.dtype == np.uint8) \
                or (arr.dtype.itemsize if arr.ndim == 1 else arr.shape[1]) != ev.SLOT_SIZE or len(arr) == 0:
            for e in batch:
                self.on_event(e)
            return
        raw = np.ascontiguousarray(arr).view(np.uint8).reshape(len(arr), ev.SLOT_SIZE)
        if len(raw) <= SMALL_BATCH:
            self._one_by_one(raw.tobytes(), len(raw))
            return
        types = raw[:, :2].copy().view("<u2").ravel()
        is_quote = types == _QUOTE
        if not is_quote.any():
            self._others(raw, types)
            return
        edges = np.flatnonzero(np.diff(is_quote.astype(np.int8))) + 1
        for lo, hi in zip(np.r_[0, edges], np.r_[edges, len(raw)], strict=True):
            if is_quote[lo]:
                self._quotes(raw[lo:hi])
            else:
                self._others(raw[lo:hi], types[lo:hi])

    def _one_by_one(self, data: bytes, n: int) -> None:
        """A small batch's slots (their bytes, back to back), each on its own: what the bulk
        path does, without its fixed cost."""
        for k in range(n):
            at = k * ev.SLOT_SIZE
            t = data[at] | data[at + 1] << 8
            if t != _QUOTE:
                dt = _DTYPES.get(t)
                if dt is None:
                    raise ValueError(f"unknown event type {t}")
                values = np.frombuffer(data, dt, 1, at)[0].item()
                self._on_values(t, dict(zip(_NAMES[t], values, strict=True)))
                continue
            receive, venue, decide, risk = _QUOTE_STAMPS(data, at)
            ts = receive or venue or decide or risk
            if ts > self.last_event_ns:
                self.last_event_ns = ts
            self.events += 1
            self.counts[_QUOTE] = self.counts.get(_QUOTE, 0) + 1
            self._rate(_QUOTE, self.last_event_ns)

    def _others(self, raw: np.ndarray, types: np.ndarray) -> None:
        """Slots other than quotes, in order. Each type's slots become Python values in one
        tolist(): a record made and unpacked per event (as_record, item()) cost the journal
        process ~20 us an event, and the exec ring filled behind it at a few thousand a second."""
        values = {}
        for t in np.unique(types).tolist():
            dt = _DTYPES.get(t)
            if dt is None:
                raise ValueError(f"unknown event type {t}")
            values[t] = iter(np.ascontiguousarray(raw[types == t]).view(dt).ravel().tolist())
        for t in types.tolist():
            self._on_values(t, dict(zip(_NAMES[t], next(values[t]), strict=True)))

    def _quotes(self, raw: np.ndarray) -> None:
        h = raw.view(ev.HEADER_DTYPE).ravel()
        ts = h["ts_receive_ns"].astype(np.int64)
        for f in ("ts_venue_ns", "ts_decide_ns", "ts_risk_ns"):
            ts = np.where(ts != 0, ts, h[f])
        now = np.maximum.accumulate(np.maximum(ts, self.last_event_ns))
        n = len(raw)
        self.events += n
        self.counts[_QUOTE] = self.counts.get(_QUOTE, 0) + n
        self.last_event_ns = int(now[-1])
        buckets, counts = np.unique(now // RATE_BUCKET_NS, return_counts=True)    # ascending = in order
        for b, k in zip(buckets.tolist(), counts.tolist(), strict=True):
            cur, m, prev = self._bucket.get(_QUOTE, (b, 0, 0))
            self._bucket[_QUOTE] = (cur, m + k, prev) if b == cur else (b, k, m if b == cur + 1 else 0)

    def on_event(self, event: Any) -> None:
        rec = as_record(event)
        t = int(rec["type"])
        # one conversion to Python values: reading numpy record fields one by one costs more
        self._on_values(t, dict(zip(_NAMES[t], rec.item(), strict=True)))

    def _on_values(self, t: int, e: dict[str, Any]) -> None:
        if t == _CONTROL or (t == _RISK and e["cl_ord_id"] and e["action"] != ev.RiskAction.REJECT_ORDER):
            self.urgent = True
        ts = e["ts_receive_ns"] or e["ts_venue_ns"] or e["ts_decide_ns"] or e["ts_risk_ns"]
        if ts > self.last_event_ns:
            self.last_event_ns = ts
        self.events += 1
        self.counts[t] = self.counts.get(t, 0) + 1
        self._rate(t, self.last_event_ns)
        handler = self._HANDLERS.get(t)
        if handler is not None:
            handler(self, e)

    def _rate(self, t: int, now: int) -> None:
        b = now // RATE_BUCKET_NS
        cur, n, prev = self._bucket.get(t, (b, 0, 0))
        if b == cur:
            self._bucket[t] = (cur, n + 1, prev)
        else:
            self._bucket[t] = (b, 1, n if b == cur + 1 else 0)

    def _hops(self, e: Any, pairs: tuple[tuple[str, str, str], ...]) -> None:
        for name, a, b in pairs:
            x, y = int(e[a]), int(e[b])
            if x and y:
                h = self.hops.get(name)
                if h is None:
                    h = self.hops[name] = HopHistogram()
                h.record(y - x)

    def _intent(self, e: Any) -> None:
        # the decision stage's intent has no risk stamp; the oms's request to the venue has one
        self._hops(e, REQUEST_HOPS if int(e["ts_risk_ns"]) else INTENT_HOPS)

    def _update(self, e: Any) -> None:
        self.order_updates += 1
        cl, st = int(e["cl_ord_id"]), int(e["ord_status"])
        if st == ev.OrdStatus.REJECTED:
            self.order_rejects += 1
        if st in _DONE:
            if cl in self._recent_done:
                return                   # a repeated final report: the order was counted
            self.orders.pop(cl, None)
            self._recent_done.add(cl)
            self._done_order.append(cl)
            if len(self._done_order) > _KEEP_DONE:
                self._recent_done.discard(self._done_order.popleft())
            self.orders_done[st] = self.orders_done.get(st, 0) + 1
        else:
            self.orders[cl] = st

    def _fill(self, e: Any) -> None:
        tt = int(e["exec_trans_type"])
        qty = int(e["last_qty_e2"])
        f = self.fills
        if tt == ev.ExecTransType.CANCEL:
            f["busts"] += 1
            return
        if tt == ev.ExecTransType.CORRECT:
            f["corrections"] += 1
        f["count"] += 1
        f["qty_e2"] += qty
        key = (int(e["instrument_id"]), int(e["side"]))
        row = self.fills_by_instrument.setdefault(key, [0, 0])
        row[0] += 1
        row[1] += qty
        self.last_fills.append({
            "ts_ns": int(e["ts_receive_ns"]) or int(e["ts_venue_ns"]), "strategy_id": int(e["strategy_id"]),
            "venue": self._venue(int(e["venue_id"])), "instrument": self._instrument(int(e["instrument_id"])),
            "side": _name(ev.Side, int(e["side"])), "cl_ord_id": int(e["cl_ord_id"]),
            "last_qty_e2": qty, "last_px_e8": int(e["last_px_e8"]), "exec_id": _text(e["exec_id"]),
            "trans": _name(ev.ExecTransType, tt),
            "display": f"{_name(ev.Side, int(e['side']))} {numbers.format_qty(qty)} "
                       f"{self._instrument(int(e['instrument_id']))} @ {numbers.format_price(int(e['last_px_e8']))}"})

    def _position(self, e: Any) -> None:
        sid, instr = int(e["strategy_id"]), int(e["instrument_id"])
        fields = ("net_qty_e2", "avg_px_e8", "mark_px_e8", "realized_pnl_e4", "unrealized_pnl_e4",
                  "commission_e4", "realized_pnl_rpt_e4", "unrealized_pnl_rpt_e4", "rpt_rate_e8",
                  "turnover_e4", "fill_count", "cause_seq")
        row: dict[str, Any] = {f: int(e[f]) for f in fields}
        row["rpt_ccy"] = _text(e["rpt_ccy"])
        row["reason"] = _name(ev.PositionReason, int(e["reason"]))
        row["mark_status"] = _name(ev.MarkStatus, int(e["mark_status"]))
        self.positions[(sid, instr)] = row

    def _pnl(self, e: Any) -> None:
        sid = int(e["strategy_id"])
        row: dict[str, Any] = {f: int(e[f]) for f in ("realized_e4", "unrealized_e4", "commission_e4",
                                                      "realized_rpt_e4", "unrealized_rpt_e4",
                                                      "commission_rpt_e4", "cause_seq")}
        row["rpt_ccy"] = _text(e["rpt_ccy"])
        row["mark_status"] = _name(ev.MarkStatus, int(e["mark_status"]))
        if int(e["pnl_kind"]) == ev.PnlKind.TOTAL:
            row["missing_ccy"] = _text(e["missing_ccy"])
            row["missing_count"] = int(e["missing_count"])
            self.pnl_total[sid] = row
        else:
            self.pnl[(sid, _text(e["ccy"]))] = row

    def _risk(self, e: Any) -> None:
        action, check, sid = int(e["action"]), int(e["check"]), int(e["strategy_id"])
        ts = int(e["ts_receive_ns"]) or int(e["ts_risk_ns"]) or self.last_event_ns
        rid = int(e["cl_ord_id"])
        if action == ev.RiskAction.REJECT_ORDER:
            # the common case: only the last of each check is shown, described when it is
            self.rejects[check] = self.rejects.get(check, 0) + 1
            self._last_reject[check] = (e, self.last_event_ns)
            return
        info = self._risk_info(e)
        request = self.requests.get(rid) if rid and action in _ANSWER_ACTIONS else None
        # the decision stage's answer to PAUSE/RESUME: observed is the command (risk's kill
        # switch says 1 or 0 there, a stopped strategy's own failure 0)
        pause_answer = bool(action in (ev.RiskAction.STRATEGY_STOPPED, ev.RiskAction.STRATEGY_RESUMED)
                            and check == ev.RiskCheck.KILL_SWITCH
                            and int(e["observed"]) in (ev.ControlCommand.PAUSE, ev.ControlCommand.RESUME)
                            and (request is None or request["command"] in ("", "PAUSE", "RESUME")))
        if pause_answer:
            if action == ev.RiskAction.STRATEGY_STOPPED:
                self.paused.setdefault(sid, ts)
            else:
                self.paused.pop(sid, None)
        elif action == ev.RiskAction.KILL_SWITCH_ON:
            if not self.kill_global:
                self.kill_global, self.kill_global_since = True, ts
                self._alarm("kill_switch", f"global kill switch on ({_name(ev.RiskCheck, check)})", info, ts)
        elif action == ev.RiskAction.KILL_SWITCH_OFF:
            self.kill_global, self.kill_global_since = False, ts
        elif action == ev.RiskAction.STRATEGY_STOPPED:
            if sid not in self.stopped:
                self.stopped[sid] = ts
                self._alarm("strategy_stopped", f"strategy {sid} stopped ({_name(ev.RiskCheck, check)})", info, ts)
        elif action == ev.RiskAction.STRATEGY_RESUMED:
            self.stopped.pop(sid, None)
        elif action == ev.RiskAction.LIMIT_SET:
            key = (sid, int(e["limit_id"]), int(e["instrument_id"]), int(e["venue_id"]), _text(e["ccy"]))
            self.limits[key] = info
        elif action == ev.RiskAction.ALARM:
            self._alarm("risk_alarm", f"{_name(ev.RiskCheck, check)} alarm", info, ts)
        if rid and action in _ANSWER_ACTIONS:
            self._answer(rid, e, info)

    @property
    def last_reject(self) -> dict[int, dict[str, Any]]:
        """RiskCheck -> the last order risk rejected for it, described."""
        return {c: self._risk_info(e, at) for c, (e, at) in self._last_reject.items()}

    def _risk_info(self, e: Any, last_event_ns: int | None = None) -> dict[str, Any]:
        scale = int(e["value_scale"])
        limit_id = int(e["limit_id"])
        if int(e["check"]) == ev.RiskCheck.LIMIT_CHANGED and limit_id in LIMIT_SCALE:
            scale = LIMIT_SCALE[limit_id]     # risk answers a limit change at the limit's own scale
        return {"check": _name(ev.RiskCheck, int(e["check"])), "action": _name(ev.RiskAction, int(e["action"])),
                "strategy_id": int(e["strategy_id"]), "cl_ord_id": int(e["cl_ord_id"]),
                "observed": int(e["observed"]), "limit": int(e["limit"]), "value_scale": scale,
                "observed_text": _value_text(int(e["observed"]), scale),
                "limit_text": _value_text(int(e["limit"]), scale),
                "limit_id": _name(ev.RiskLimit, limit_id) if limit_id else "", "ccy": _text(e["ccy"]),
                "instrument": self._instrument(int(e["instrument_id"])), "venue": self._venue(int(e["venue_id"])),
                "side": _name(ev.Side, int(e["side"])) if int(e["side"]) else "",
                "order_qty_e2": int(e["order_qty_e2"]), "order_price_e8": int(e["order_price_e8"]),
                "cause_seq": int(e["cause_seq"]),
                "ts_ns": int(e["ts_receive_ns"]) or int(e["ts_risk_ns"])
                or (self.last_event_ns if last_event_ns is None else last_event_ns)}

    def _answer(self, rid: int, e: Any, info: dict[str, Any]) -> None:
        req = self.requests.get(rid)
        if req is None:           # the answer overtook its Control (another ring): keep it anyway
            req = self._new_request(rid)
        action = int(e["action"])
        ok = action != ev.RiskAction.CHANGE_REFUSED
        req["answers"].append({k: info[k] for k in ("check", "action", "strategy_id", "observed", "limit",
                                                   "observed_text", "limit_text", "limit_id", "ccy",
                                                   "instrument", "venue", "cause_seq", "ts_ns")})
        req["state"] = "refused" if not ok else "done"
        req["answered"] = True

    def _new_request(self, rid: int) -> dict[str, Any]:
        req: dict[str, Any] = {"request_id": rid, "command": "", "strategy_id": 0, "arg": 0, "issued_by": "",
                               "limit_id": "", "ccy": "", "seen": False, "answered": False,
                               "state": "pending", "answers": []}
        self.requests[rid] = req
        while len(self.requests) > self._keep_answers:
            del self.requests[min(self.requests)]     # request ids grow: the oldest goes
        return req

    def _control(self, e: Any) -> None:
        rid = int(e["request_id"])
        req = self.requests.get(rid) or self._new_request(rid)
        limit_id = int(e["limit_id"])
        req.update({"command": _name(ev.ControlCommand, int(e["command"])), "strategy_id": int(e["strategy_id"]),
                    "arg": int(e["arg"]), "issued_by": _text(e["issued_by"]),
                    "limit_id": _name(ev.RiskLimit, limit_id) if limit_id else "", "ccy": _text(e["limit_ccy"]),
                    "instrument": self._instrument(int(e["instrument_id"])),
                    "venue": self._venue(int(e["venue_id"])), "ts_ns": int(e["ts_receive_ns"]), "seen": True})

    def _session(self, e: Any) -> None:
        key = (int(e["venue_id"]), int(e["session_kind"]))
        st, ts = int(e["state"]), int(e["ts_receive_ns"]) or int(e["ts_venue_ns"]) or self.last_event_ns
        old = self.sessions.get(key)
        row = {"venue": self._venue(key[0]), "venue_id": key[0], "kind": _name(ev.SessionKind, key[1]),
               "state": _name(ev.SessionState, st), "prev_state": _name(ev.SessionState, int(e["prev_state"]))
               if int(e["prev_state"]) else "", "reason": _name(ev.SessionReason, int(e["reason"])),
               "since_ns": ts if old is None or old["state"] != _name(ev.SessionState, st) else old["since_ns"],
               "next_sender_seq": int(e["next_sender_seq"]), "next_target_seq": int(e["next_target_seq"]),
               "changes": (old["changes"] + 1) if old else 1}
        self.sessions[key] = row
        if old is not None and old["state"] == "ACTIVE" and st != SESSION_UP:
            self._alarm("session_down", f"{row['kind']} session of {row['venue']} left ACTIVE: {row['state']} "
                        f"({row['reason']})", {"venue": row["venue"], "kind": row["kind"]}, ts)

    def _latency(self, e: Any) -> None:
        hop = int(e["hop"])
        h = self.samples.get(hop)
        if h is None:
            h = self.samples[hop] = HopHistogram()
        h.record(int(e["latency_ns"]))

    def _alarm(self, kind: str, text: str, fields: dict[str, Any], ts: int) -> None:
        self.alarm_counts[kind] = self.alarm_counts.get(kind, 0) + 1
        self.alarms.append({"kind": kind, "text": text, "ts_ns": ts, "fields": fields})
        if self.alarm_hook is not None:
            self.alarm_hook(kind, text, fields)

    _HANDLERS: dict[int, Callable[[OpsView, Any], None]] = {
        int(_T.ORDER_INTENT): _intent, int(_T.ORDER_UPDATE): _update,
        int(_T.FILL): _fill, int(_T.POSITION_UPDATE): _position, int(_T.RISK): _risk,
        int(_T.SESSION): _session, int(_T.CONTROL): _control, int(_T.LATENCY_SAMPLE): _latency,
        int(_T.PNL): _pnl,
    }

    # ------------------------------------------------------------------ names

    def _instrument(self, i: int) -> str:
        if not i:
            return ""
        if self.refdata is not None:
            try:
                return self.refdata.instrument(i).symbol
            except (KeyError, ValueError, LookupError):
                pass
        return f"#{i}"

    def _venue(self, v: int) -> str:
        if not v:
            return ""
        if self.refdata is not None:
            try:
                return self.refdata.venue(v).name
            except (KeyError, ValueError, LookupError):
                pass
        return f"#{v}"

    # ------------------------------------------------------------------ output

    def currency_exposure(self) -> dict[int, dict[str, int]]:
        """Per strategy (0 = the desk): net amount per currency, e4, from the positions: the
        base leg is the net quantity, the quote leg minus its cost at the average price."""
        out: dict[int, dict[str, int]] = {}
        if self.refdata is None:
            return out
        for (sid, instr), p in sorted(self.positions.items()):
            try:
                ins = self.refdata.instrument(instr)
            except (KeyError, ValueError, LookupError):
                continue
            q = p["net_qty_e2"]
            row = out.setdefault(sid, {})
            row[ins.base] = row.get(ins.base, 0) + q * 100          # qty_e2 -> money_e4
            cost = numbers.notional(p["avg_px_e8"], abs(q)) if q else 0
            row[ins.quote] = row.get(ins.quote, 0) - (cost if q > 0 else -cost)
        return out

    def answer(self, request_id: int) -> dict[str, Any] | None:
        return self.requests.get(request_id)

    def snapshot(self) -> dict[str, Any]:
        by_type = {}
        for t in sorted(self.counts):
            cur, n, prev = self._bucket.get(t, (0, 0, 0))
            fresh = self.last_event_ns // RATE_BUCKET_NS
            rate = prev if cur == fresh else (n if cur == fresh - 1 else 0)
            by_type[_name(_T, t)] = {"count": self.counts[t], "rate_per_s": rate}
        open_by: dict[str, int] = {}
        for st in self.orders.values():
            k = _name(ev.OrdStatus, st)
            open_by[k] = open_by.get(k, 0) + 1
        exposure = self.currency_exposure()
        return {
            "events": {"total": self.events, "last_event_ns": self.last_event_ns, "by_type": by_type},
            "orders": {"open": len(self.orders), "open_by_status": dict(sorted(open_by.items())),
                       "done_by_status": {_name(ev.OrdStatus, s): n for s, n in sorted(self.orders_done.items())},
                       "updates": self.order_updates, "rejects": self.order_rejects},
            "fills": {**self.fills, "qty": numbers.format_qty(self.fills["qty_e2"]),
                      "by_instrument": [{"instrument": self._instrument(i), "side": _name(ev.Side, s),
                                         "count": c, "qty_e2": q, "qty": numbers.format_qty(q)}
                                        for (i, s), (c, q) in sorted(self.fills_by_instrument.items())],
                      "last": list(self.last_fills)},
            "positions": [self._position_row(sid, instr, p) for (sid, instr), p in sorted(self.positions.items())],
            "exposure": [{"strategy_id": sid, "ccy": c, "amount_e4": v, "amount": _money(v)}
                         for sid, row in sorted(exposure.items()) for c, v in sorted(row.items())],
            "pnl": {"by_currency": [{"strategy_id": sid, "ccy": c, **p, **self._pnl_text(p)}
                                    for (sid, c), p in sorted(self.pnl.items())],
                    "total": [{"strategy_id": sid, **p, **self._pnl_text(p)}
                              for sid, p in sorted(self.pnl_total.items())]},
            "risk": {"kill_switch": {"global": self.kill_global, "since_ns": self.kill_global_since,
                                     "stopped_strategies": {str(k): v for k, v in sorted(self.stopped.items())}},
                     "paused_strategies": {str(k): v for k, v in sorted(self.paused.items())},
                     "rejects": {_name(ev.RiskCheck, c): n for c, n in sorted(self.rejects.items())},
                     "last_reject": {_name(ev.RiskCheck, c): r for c, r in sorted(self.last_reject.items())},
                     "limits_set": [v for _, v in sorted(self.limits.items())]},
            "sessions": [v for _, v in sorted(self.sessions.items())],
            "alarms": {"counts": dict(sorted(self.alarm_counts.items())), "recent": list(self.alarms)},
            "latency": {"hops": {k: h.snapshot() for k, h in sorted(self.hops.items())},
                        "samples": {_name(ev.LatencyHop, k).lower(): h.snapshot()
                                    for k, h in sorted(self.samples.items())}},
            "requests": {str(k): v for k, v in sorted(self.requests.items())},
        }

    def _position_row(self, sid: int, instr: int, p: dict[str, Any]) -> dict[str, Any]:
        return {"strategy_id": sid, "instrument": self._instrument(instr), "instrument_id": instr, **p,
                "net_qty": numbers.format_qty(p["net_qty_e2"]), "avg_px": numbers.format_price(p["avg_px_e8"]),
                "mark_px": numbers.format_price(p["mark_px_e8"]),
                "realized_pnl": _money(p["realized_pnl_e4"]), "unrealized_pnl": _money(p["unrealized_pnl_e4"]),
                "realized_pnl_rpt": _money(p["realized_pnl_rpt_e4"]),
                "unrealized_pnl_rpt": _money(p["unrealized_pnl_rpt_e4"])}

    @staticmethod
    def _pnl_text(p: dict[str, Any]) -> dict[str, str]:
        return {k[:-3]: _money(p[k]) for k in ("realized_e4", "unrealized_e4", "commission_e4",
                                               "realized_rpt_e4", "unrealized_rpt_e4", "commission_rpt_e4")}
