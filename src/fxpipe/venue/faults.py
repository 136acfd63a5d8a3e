"""Fault injection: what can go wrong with a venue, written as one-line specs and armed per session.

One grammar serves the TOML config (`faults = [...]` in a venue table), the command line
(`fxpipe venue --fault "..."`), the control port a running venue listens on (`fxpipe venue-fault`)
and tests:

    NAME [key=value ...] [session=COMPID] [venue=NAME] [at_s=SECONDS | after_orders=N] [every_s=S]

Without a trigger a fault is armed at once; `at_s` fires it that many seconds after the session
logs on, `after_orders` when the session's Nth order (counted from arming) arrives, `every_s`
re-arms it after each firing (soak runs). A fault either acts when it fires (drop, garble,
seq_gap, ...) or waits for the next event it applies to (the next ExecutionReport, order,
cancel, fill, Logon). FaultBook keeps what is armed; the Venue asks it at each event.

A fault on something all sessions share (price_jump: the market; feed_loss: a venue's feed)
armed without `session=` happens once, not once per client: it is kept under ANY_SESSION, its
`at_s` counts from arming and its `after_orders` counts every session's orders.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field

# name -> (parameters with defaults, what it does); the help text the CLI prints
KINDS: dict[str, tuple[dict[str, object], str]] = {
    "drop": ({}, "close the TCP connection at once, without a Logout"),
    "delay": ({"ms": 500.0}, "hold every outgoing application message for ms, then release them in order"),
    "delay_logon": ({"ms": 2000.0}, "answer the next Logon only after ms"),
    "reject_logon": ({"text": "logon rejected by venue"}, "answer the next Logon with a Logout carrying text"),
    "duplicate_exec": ({"count": 1, "mode": "possresend"},
                       "send each of the next count ExecutionReports twice, the copy as mode says: possresend "
                       "(a new MsgSeqNum, PossResend=Y, OrigSendingTime), resend (the original MsgSeqNum again, "
                       "PossDupFlag=Y, OrigSendingTime) or plain (a new message, same ExecID)"),
    "reorder": ({"count": 2}, "hold the next count ExecutionReports and send them in reverse order"),
    "fill_before_ack": ({}, "send the next order's fills before its New acknowledgement"),
    "fill_after_cancel": ({"max_pips": 5.0},
                          "on the next cancel request, the order trades in full first (against the ladder, or "
                          "the market moves to its limit when that is within max_pips), then the cancel is "
                          "rejected as too late"),
    "fill_in_flight": ({"qty": 0.0, "max_pips": 5.0},
                       "the next cancel or replace request races a fill: the order trades qty units (0: all it "
                       "leaves) before the venue applies the request"),
    "bust": ({"after_ms": 50.0}, "after the next fill, bust it (ExecTransType=1 with ExecRefID)"),
    "correct": ({"after_ms": 50.0, "px_pips": 0.5, "qty": 0.0},
                "after the next fill, correct it (ExecTransType=2): LastPx moved by px_pips, LastShares "
                "set to qty units (0 keeps it)"),
    "overfill": ({"qty": 0.0}, "after the next order is filled, fill it again by qty units (0: a tenth of it)"),
    "unknown_order": ({}, "send an ExecutionReport for an order that was never entered"),
    "seq_gap": ({"n": 3}, "skip n outgoing sequence numbers"),
    "garble": ({"kind": "checksum"}, "send one garbled message: kind checksum, length or begin"),
    "stop_reading": ({"s": 5.0}, "stop reading the session's socket for s seconds (a slow consumer)"),
    "price_jump": ({"symbol": "EUR/USD", "pips": 5.0}, "move the market's mid of symbol by pips at once"),
    "feed_loss": ({"count": 1}, "lose the next count packets of the venue's binary feed"),
}
# faults that act when they fire; the others wait for the event they apply to
IMMEDIATE = frozenset({"drop", "unknown_order", "seq_gap", "garble", "stop_reading", "price_jump", "feed_loss",
                       "delay", "reject_logon", "delay_logon"})
# faults on something every session shares (the market, a venue's feed): without session= they
# happen once, not once per client session
MARKET_WIDE = frozenset({"price_jump", "feed_loss"})
DUPLICATE_MODES = ("possresend", "resend", "plain")
ANY_SESSION = "*"  # the FaultBook key of a market-wide fault armed for no one session
TRIGGERS = ("at_s", "after_orders", "every_s")
SCOPE = ("session", "venue")


class FaultSpecError(ValueError):
    """A fault spec that cannot be used; the message names the fault, the key and what is valid."""


@dataclass
class Fault:
    kind: str
    params: dict
    session: str | None = None
    venue: str | None = None
    at_s: float | None = None
    after_orders: int | None = None
    every_s: float | None = None
    # state once armed on a session
    due_ns: int | None = None
    orders_seen: int = 0
    fired: bool = False
    left: int = 1  # uses left for counted faults (duplicate_exec, reorder)
    spec: str = field(default="", compare=False)

    def copy_for(self, session: str) -> Fault:
        f = Fault(self.kind, dict(self.params), session, self.venue, self.at_s, self.after_orders,
                  self.every_s, spec=self.spec)
        f.left = int(self.params.get("count", 1)) if self.kind in ("duplicate_exec", "reorder") else 1
        return f


def _convert(kind: str, key: str, raw: str, default):
    try:
        if isinstance(default, bool):
            if raw.lower() in ("yes", "true", "y", "1"):
                return True
            if raw.lower() in ("no", "false", "n", "0"):
                return False
            raise ValueError
        if isinstance(default, int):
            v = int(raw)
            if v < 0:
                raise ValueError
            return v
        if isinstance(default, float):
            x = float(raw)
            if kind != "price_jump" and kind != "correct" and x < 0 or x != x:
                raise ValueError
            return x
        return raw
    except ValueError:
        what = "yes or no" if isinstance(default, bool) else type(default).__name__ + " >= 0"
        raise FaultSpecError(f"fault {kind}: {key}={raw!r} is not valid; expected {what}") from None


def parse(spec: str) -> Fault:
    """One fault from its one-line spec (see the module docstring)."""
    try:
        words = shlex.split(spec)
    except ValueError as exc:
        raise FaultSpecError(f"fault spec {spec!r}: {exc}") from None
    if not words:
        raise FaultSpecError("empty fault spec; start with a fault name: " + ", ".join(KINDS))
    kind, args = words[0], words[1:]
    if kind not in KINDS:
        raise FaultSpecError(f"unknown fault {kind!r}; known faults: {', '.join(KINDS)}")
    defaults = KINDS[kind][0]
    f = Fault(kind, dict(defaults), spec=spec)
    for a in args:
        key, eq, raw = a.partition("=")
        if not eq:
            raise FaultSpecError(f"fault {kind}: {a!r} is not key=value")
        if key in defaults:
            f.params[key] = _convert(kind, key, raw, defaults[key])
        elif key in SCOPE:
            setattr(f, key, raw)
        elif key in ("at_s", "every_s"):
            setattr(f, key, _convert(kind, key, raw, 0.0))
        elif key == "after_orders":
            n = _convert(kind, key, raw, 0)
            if n < 1:
                raise FaultSpecError(f"fault {kind}: after_orders counts from 1")
            f.after_orders = n
        else:
            known = list(defaults) + list(SCOPE) + list(TRIGGERS)
            raise FaultSpecError(f"fault {kind}: unknown key {key!r}; known: {', '.join(known)}")
    if f.at_s is not None and f.after_orders is not None:
        raise FaultSpecError(f"fault {kind}: give at_s or after_orders, not both")
    if kind == "duplicate_exec" and f.params["mode"] not in DUPLICATE_MODES:
        raise FaultSpecError(f"fault duplicate_exec: mode={f.params['mode']!r}; use {', '.join(DUPLICATE_MODES)}")
    if kind == "garble" and f.params["kind"] not in ("checksum", "length", "begin"):
        raise FaultSpecError(f"fault garble: kind={f.params['kind']!r}; use checksum, length or begin")
    if kind in ("duplicate_exec", "reorder", "feed_loss") and f.params["count"] < 1:
        raise FaultSpecError(f"fault {kind}: count must be >= 1")
    if kind == "seq_gap" and f.params["n"] < 1:
        raise FaultSpecError("fault seq_gap: n must be >= 1")
    return f


def help_text() -> str:
    lines = []
    for name, (params, what) in KINDS.items():
        args = " ".join(f"{k}={'yes' if v is True else v}" for k, v in params.items())
        lines.append(f"  {name} {args}".rstrip() + f"\n      {what}")
    return "\n".join(lines)


class FaultBook:
    """Faults armed on one venue's sessions, and the questions the venue asks at each event."""

    def __init__(self):
        self.armed: dict[str, list[Fault]] = {}

    def arm(self, session: str, f: Fault, now_ns: int, logged_on_ns: int | None) -> Fault:
        g = f.copy_for(session)
        if g.at_s is not None:
            base = logged_on_ns if logged_on_ns is not None else now_ns
            g.due_ns = base + int(g.at_s * 1e9)
        self.armed.setdefault(session, []).append(g)
        return g

    def on_logon(self, session: str, now_ns: int) -> None:
        """at_s counts from the session's logon: re-base faults armed before it."""
        for f in self.armed.get(session, ()):
            if f.at_s is not None and not f.fired:
                f.due_ns = now_ns + int(f.at_s * 1e9)

    def _ready(self, f: Fault, now_ns: int) -> bool:
        if f.due_ns is not None:
            return now_ns >= f.due_ns
        if f.after_orders is not None:
            return f.orders_seen >= f.after_orders
        return True

    def due(self, session: str, now_ns: int, can_fire=lambda f: True) -> list[Fault]:
        """Immediate faults whose trigger has come and that can act now (a drop needs a live
        session); each is consumed, or re-armed by every_s."""
        out = []
        for f in list(self.armed.get(session, ())):
            if f.kind in IMMEDIATE and self._ready(f, now_ns) and can_fire(f):
                out.append(f)
                self._used(session, f, now_ns)
        return out

    def count_order(self, session: str) -> None:
        for f in self.armed.get(session, ()):
            if f.after_orders is not None:
                f.orders_seen += 1

    def take(self, session: str, kind: str, now_ns: int) -> Fault | None:
        """The first armed, triggered fault of this kind, consumed by this use."""
        for f in self.armed.get(session, ()):
            if f.kind == kind and self._ready(f, now_ns):
                f.left -= 1
                if f.left <= 0:
                    self._used(session, f, now_ns)
                return f
        return None

    def _used(self, session: str, f: Fault, now_ns: int) -> None:
        f.fired = True
        lst = self.armed.get(session, [])
        if f in lst:
            lst.remove(f)
        if f.every_s:
            again = f.copy_for(session)
            again.at_s = None
            again.after_orders = None
            again.due_ns = now_ns + int(f.every_s * 1e9)
            lst.append(again)

    def pending(self, session: str | None = None) -> list[Fault]:
        if session is not None:
            return list(self.armed.get(session, ()))
        return [f for lst in self.armed.values() for f in lst]
