"""Operator commands: a Control event on `<prefix>.control` (a multi-producer ring: any number
of `fxpipe ctl` may publish at once), then its answer as the "ops" status section shows it.

The Control is an input like any other: the journal records it, the oms stage and the decision
stage apply it, `fxpipe replay` repeats it. Its request_id (fresh per command: the wall clock
in ns, which only this tool reads) is how the answer is found: the oms and decision stages give
it back in the RiskEvents that answer it.
"""
from __future__ import annotations

import getpass
import os
import time
from dataclasses import dataclass
from typing import Any

import fxpipe.model.events as ev
from fxpipe.model import numbers
from fxpipe.ops.status_shm import StatusReader
from fxpipe.ops.view import LIMIT_SCALE

C = ev.ControlCommand
L = ev.RiskLimit
CONTROL_RING = "control"
OPERATOR_LEN = 16            # Control.issued_by: char[16]
_NO_LIMIT_WORDS = ("none", "off", "remove")


class CtlError(Exception):
    """A command that cannot be built, sent or answered; the message says what to do."""


def control_ring_name(prefix: str) -> str:
    return f"{prefix}.{CONTROL_RING}"


def operator_name() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = f"uid{os.getuid()}"
    return name.encode("ascii", "replace")[:OPERATOR_LEN].decode("ascii")


def fresh_request_id() -> int:
    """Unique per command on this host: ns of the wall clock, never 0, within int64."""
    return time.time_ns() & 0x7FFF_FFFF_FFFF_FFFF or 1


def parse_limit(name: str) -> ev.RiskLimit:
    key = name.strip().upper().replace("-", "_")
    try:
        return L[key]
    except KeyError:
        known = ", ".join(m.name.lower().replace("_", "-") for m in L)
        raise CtlError(f"unknown limit {name!r} (known: {known})") from None


def parse_limit_value(limit: ev.RiskLimit, text: str) -> int:
    """The value at the limit's scale; 'none' / 'off' removes the limit (-1 on the wire)."""
    if text.strip().lower() in _NO_LIMIT_WORDS:
        return -1
    scale = LIMIT_SCALE.get(int(limit), 0)
    try:
        v = numbers.parse_decimal(text, scale, signed=False, what=f"{limit.name.lower()} value")
    except (ValueError, TypeError, OverflowError) as exc:
        raise CtlError(str(exc)) from None
    return int(v)


def build_control(command: ev.ControlCommand, *, strategy_id: int = 0, arg: int = 0, limit: int = 0,
                  ccy: str = "", instrument_id: int = 0, venue_id: int = 0, request_id: int | None = None,
                  issued_by: str | None = None, now_ns: int | None = None) -> Any:
    """The Control record the command publishes (journal-able as it is)."""
    if not 0 <= strategy_id <= 0xFFFF_FFFF:
        raise CtlError(f"strategy {strategy_id}: must be 0..4294967295 (0 = all)")
    if ccy and (len(ccy) != 3 or not ccy.isascii() or not ccy.isalpha() or not ccy.isupper()):
        raise CtlError(f"currency {ccy!r}: three capital letters, e.g. USD")
    rid = fresh_request_id() if request_id is None else request_id
    t = time.time_ns() if now_ns is None else now_ns
    try:
        return ev.make(ev.EventType.CONTROL, command=command, strategy_id=strategy_id, arg=arg,
                       request_id=rid, issued_by=(issued_by if issued_by is not None else operator_name()).encode(),
                       limit_id=limit, limit_ccy=ccy.encode(), instrument_id=instrument_id, venue_id=venue_id,
                       ts_receive_ns=t)
    except (ValueError, OverflowError, TypeError) as exc:
        raise CtlError(f"cannot build the Control: {exc}") from None


def publish(prefix: str, control: Any, timeout: float = 1.0) -> int:
    """Publish on <prefix>.control; returns its sequence there. The ring is the supervisor's:
    it must exist, and be multi-producer (a single-producer ring would be taken from its owner)."""
    from fxpipe.ring import Ring, RingError, RingFull

    name = control_ring_name(prefix)
    try:
        ring = Ring.attach(name, timeout=timeout)
    except RingError as exc:
        raise CtlError(f"{exc} (is `fxpipe run` up with --prefix {prefix}?)") from None
    try:
        if ring.producer_mode != "multi":
            raise CtlError(f"ring {name!r} is single-producer; the control ring must be created multi-producer")
        if ring.slot_size < ev.SLOT_SIZE:
            raise CtlError(f"ring {name!r} has {ring.slot_size}-byte slots; a Control needs {ev.SLOT_SIZE}")
        try:
            return int(ring.producer(wait="yield").send(control.tobytes(), timeout=timeout))
        except RingFull as exc:
            raise CtlError(f"control ring full for {timeout} s, nothing sent: {exc}") from None
    finally:
        ring.close(unlink=False)


@dataclass
class Answer:
    request_id: int
    sequence: int
    request: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.request.get("state") == "done"

    def lines(self) -> list[str]:
        r = self.request
        head = (f"request {self.request_id} ({r.get('command') or '?'}, strategy {r.get('strategy_id', 0)}, "
                f"by {r.get('issued_by') or '?'}, control seq {self.sequence}): {r.get('state')}")
        out = [head]
        for a in r.get("answers", []):
            what = f"  {a['action']} ({a['check']})"
            if a.get("limit_id"):
                what += f" {a['limit_id'].lower()}: {a['observed_text']} -> {a['limit_text']}"
            elif a["action"] in ("KILL_SWITCH_ON", "KILL_SWITCH_OFF", "STRATEGY_STOPPED", "STRATEGY_RESUMED") \
                    and a["limit"]:
                what += f", {a['limit']} cancel(s) sent"
            if a["strategy_id"]:
                what += f" strategy {a['strategy_id']}"
            out.append(what)
        return out


def wait_answer(prefix: str, request_id: int, sequence: int, timeout: float, poll_s: float = 0.05,
                want: int = 1) -> Answer:
    """Poll the "ops" section until it shows `want` answers to request_id (bounded)."""
    reader = StatusReader(prefix)
    deadline = time.monotonic() + timeout
    last = None
    while True:
        sec = reader.read("ops")
        last = sec
        if sec.snapshot is not None:
            req = sec.snapshot.get("requests", {}).get(str(request_id))
            if req is not None and req.get("answered") and len(req.get("answers", [])) >= want:
                return Answer(request_id, sequence, req)
        if time.monotonic() >= deadline:
            seen = ""
            if sec.snapshot is not None and str(request_id) in sec.snapshot.get("requests", {}):
                seen = " (the journal saw the Control; no stage answered it)"
            raise CtlError(f"no answer to request {request_id} within {timeout} s{seen}; ops status section: "
                           f"{last.state if last else '?'} {last.detail if last else ''}".rstrip()
                           + ". The command was published and journaled; check `fxpipe status` before repeating it")
        time.sleep(poll_s)
