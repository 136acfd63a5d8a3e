"""What a trading run did, read back from its journal (the system of record): orders, fills,
rejects (last look among them), positions and PnL by currency, and the per-hop latency
percentiles the events' own timestamps give.

Hops, from the stamps an order request carries (the quote's stamps travel with the intent it
caused, see the decision stage):
    receive→decode   the quote's packet or message read, decoded into a Quote event
    decode→decide    the strategy saw the quote and made an intent
    decide→risk      the intent reached the oms (a ring hop in layouts that split them)
    risk→send        pre-trade risk, the order book, the FIX encode and the write to the socket
    receive→send     tick to trade inside fxpipe (the wire on both sides is outside it)
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from hdrh.histogram import HdrHistogram

import fxpipe.model.events as ev
from fxpipe.journal import JournalReader

HOPS = (("receive→decode", "ts_receive_ns", "ts_decode_ns"),
        ("decode→decide", "ts_decode_ns", "ts_decide_ns"),
        ("decide→risk", "ts_decide_ns", "ts_risk_ns"),
        ("risk→send", "ts_risk_ns", "ts_send_ns"),
        ("receive→send", "ts_receive_ns", "ts_send_ns"))
_DONE_REJECTED = int(ev.OrdStatus.REJECTED)


@dataclass
class RunSummary:
    journal_dir: Path
    records: int = 0
    quotes: int = 0
    intents: int = 0
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)        # final OrdStatus name -> orders
    fills: int = 0
    filled_qty_e2: int = 0
    busts: int = 0
    rejects: Counter = field(default_factory=Counter)         # reject text/reason -> count
    risk: Counter = field(default_factory=Counter)            # RiskEvent action/check -> count
    positions: dict = field(default_factory=dict)             # (strategy, instrument) -> PositionUpdate fields
    pnl: dict = field(default_factory=dict)                   # (strategy, ccy) -> (realized_e4, unrealized_e4)
    pnl_rpt: dict = field(default_factory=dict)               # strategy -> (realized_rpt_e4, unrealized_rpt_e4, rpt ccy)
    sessions: dict = field(default_factory=dict)              # (venue, kind) -> last state name
    hops: dict = field(default_factory=dict)                  # hop -> HdrHistogram (ns)

    @classmethod
    def from_journal(cls, journal_dir: str | Path) -> RunSummary:
        s = cls(Path(journal_dir))
        for name, _, _ in HOPS:
            s.hops[name] = HdrHistogram(1, 60_000_000_000, 3)
        last_status: dict[int, int] = {}
        reader = JournalReader(s.journal_dir)
        try:
            for rec in reader:
                s.records += 1
                t = rec.type
                if t == ev.EventType.QUOTE:
                    s.quotes += 1
                    continue
                if t not in (ev.EventType.ORDER_INTENT, ev.EventType.ORDER_UPDATE, ev.EventType.FILL,
                             ev.EventType.POSITION_UPDATE, ev.EventType.PNL, ev.EventType.RISK,
                             ev.EventType.SESSION):
                    continue
                e = ev.read(bytearray(rec.payload))
                if t == ev.EventType.ORDER_INTENT:
                    if int(e["ts_send_ns"]):
                        s.requests += 1
                        s._hops(e)
                    else:
                        s.intents += 1
                elif t == ev.EventType.ORDER_UPDATE:
                    cl, st = int(e["cl_ord_id"]), int(e["ord_status"])
                    if st == _DONE_REJECTED and last_status.get(cl) != _DONE_REJECTED:
                        s.rejects[_reject_reason(e)] += 1
                    last_status[cl] = st
                elif t == ev.EventType.FILL:
                    if int(e["exec_trans_type"]) == ev.ExecTransType.CANCEL:
                        s.busts += 1
                    else:
                        s.fills += 1
                        s.filled_qty_e2 += int(e["last_qty_e2"])
                elif t == ev.EventType.POSITION_UPDATE:
                    s.positions[(int(e["strategy_id"]), int(e["instrument_id"]))] = e
                elif t == ev.EventType.PNL:
                    ccy = bytes(e["ccy"]).rstrip(b"\0").decode() or "?"
                    s.pnl[(int(e["strategy_id"]), ccy)] = (int(e["realized_e4"]), int(e["unrealized_e4"]))
                    rpt = bytes(e["rpt_ccy"]).rstrip(b"\0").decode()
                    s.pnl_rpt[int(e["strategy_id"])] = (int(e["realized_rpt_e4"]), int(e["unrealized_rpt_e4"]), rpt)
                elif t == ev.EventType.RISK:
                    s.risk[f"{_name(ev.RiskAction, e['action'])} {_name(ev.RiskCheck, e['check'])}"] += 1
                elif t == ev.EventType.SESSION:
                    s.sessions[(int(e["venue_id"]), _name(ev.SessionKind, e["session_kind"]))] = \
                        _name(ev.SessionState, e["state"])
        finally:
            reader.close()
        s.statuses = Counter(_name(ev.OrdStatus, st) for st in last_status.values())
        return s

    def _hops(self, e) -> None:
        for name, a, b in HOPS:
            ta, tb = int(e[a]), int(e[b])
            if ta and tb and tb >= ta:
                self.hops[name].record_value(max(1, tb - ta))

    @property
    def orders(self) -> int:
        return sum(self.statuses.values())

    def text(self, refdata=None) -> str:
        lines = [f"journal {self.journal_dir} ({self.records} records)",
                 f"quotes {self.quotes}, intents {self.intents}, requests sent {self.requests}, "
                 f"orders {self.orders}, fills {self.fills} ({Decimal(self.filled_qty_e2).scaleb(-2)} filled), "
                 f"busts {self.busts}"]
        if self.statuses:
            lines.append("orders by final status: " + ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items())))
        if self.rejects:
            lines.append("rejects: " + "; ".join(f"{k}: {v}" for k, v in self.rejects.most_common()))
        if self.risk:
            lines.append("risk events: " + ", ".join(f"{k} {v}" for k, v in sorted(self.risk.items())))
        for (sid, instr), p in sorted(self.positions.items()):
            name, base, terms = _instrument(refdata, instr)
            lines.append(f"  strategy {sid} {name}: position {Decimal(int(p['net_qty_e2'])).scaleb(-2)} {base}, "
                         f"avg {Decimal(int(p['avg_px_e8'])).scaleb(-8)}, "
                         f"realized {Decimal(int(p['realized_pnl_e4'])).scaleb(-4)} {terms}, "
                         f"unrealized {Decimal(int(p['unrealized_pnl_e4'])).scaleb(-4)} {terms}")
        for (sid, ccy), (real, unreal) in sorted(self.pnl.items()):
            lines.append(f"  {_who(sid)} PnL {ccy}: realized {Decimal(real).scaleb(-4)}, "
                         f"unrealized {Decimal(unreal).scaleb(-4)}")
        for sid, (real, unreal, rpt) in sorted(self.pnl_rpt.items()):
            lines.append(f"  {_who(sid)} PnL in {rpt or 'reporting ccy'}: realized {Decimal(real).scaleb(-4)}, "
                         f"unrealized {Decimal(unreal).scaleb(-4)}")
        if self.sessions:
            lines.append("sessions at the end: " + ", ".join(
                f"venue {v} {k} {st}" for (v, k), st in sorted(self.sessions.items())))
        lines.append("per-hop latency (µs)       count      p50      p99    p99.9      max")
        for name, h in self.hops.items():
            if h.get_total_count():
                lines.append(f"  {name:<22} {h.get_total_count():>8} {_us(h, 50):>8} {_us(h, 99):>8} "
                             f"{_us(h, 99.9):>8} {h.get_max_value() / 1e3:>8.1f}")
        return "\n".join(lines)

    def hop_percentiles(self) -> dict:
        return {name: {"count": h.get_total_count(), "p50_us": h.get_value_at_percentile(50) / 1e3,
                       "p99_us": h.get_value_at_percentile(99) / 1e3,
                       "p999_us": h.get_value_at_percentile(99.9) / 1e3}
                for name, h in self.hops.items() if h.get_total_count()}


def _who(strategy_id: int) -> str:
    """PnL events of strategy 0 are the desk's totals over every strategy."""
    return f"strategy {strategy_id}" if strategy_id else "desk (all strategies)"


def _us(h: HdrHistogram, p: float) -> str:
    return f"{h.get_value_at_percentile(p) / 1e3:.1f}"


def _name(enum, v) -> str:
    try:
        return enum(int(v)).name
    except ValueError:
        return str(int(v))


def _reject_reason(e) -> str:
    """Who refused and why: the oms itself (a synthetic update: the book's refusal) or the venue
    (OrdRejReason; the last-look LP's rejects are the venue's)."""
    from fxpipe.oms.enums import Refusal

    reason = int(e["reject_reason"])
    if int(e["flags"]) & ev.EventFlag.SYNTHETIC:
        return f"oms refused ({_name(Refusal, reason)})"
    return f"venue {int(e['venue_id'])} rejected (OrdRejReason {reason})"


def _instrument(refdata, instr: int) -> tuple[str, str, str]:
    """(symbol, base currency, terms currency), or placeholders without reference data."""
    if refdata is not None:
        try:
            i = refdata.instrument(instr)
            return i.symbol, i.base, i.quote
        except (KeyError, ValueError):
            pass
    return f"instrument {instr}", "(base)", "(terms ccy)"
