"""The driver of the order-book scenarios in tests/oms/scenarios/*.oms: each file is a story a
desk engineer can read — what the strategy asks, what the venue answers (as real FIX through
the codec's bridge), in what order it arrives — with the expected outcome after an arrow.

    new A qty=1000000 px=1.085                  strategy: new order, remembered as A
    cancel A as C1                              strategy: cancel of A, its ClOrdID named C1
    replace A as R1 qty=500000 [px=1.0851]      strategy: cancel/replace
    venue ack A                                 venue report, delivered at once ...
    venue fill A 300000 @ 1.08501 as F1 hold X  ... or held back as X (the fill's ExecID is F1)
    venue cancel C1 A | venue replace R1 A | venue reject A [reason=3] | venue expire A
    venue unsolicited-cancel A | venue bust A F1 | venue correct A F1 250000 @ 1.085 as F2
    venue overfill A 100000 @ 1.085 | venue status A | venue unknown-status A
    venue phantom-fill 424242 100000 @ 1.085    a fill for a ClOrdID nobody sent
    venue cxl-reject C1 A [status=2] [to=replace] [reason=0]
    deliver X | again X (the same bytes) | resend X (PossDupFlag=Y)
    timeout C1 | session down | session up
    expect A status=FILLED cum=1000000 leaves=0 [avg=1.08501] [qty=...] [overfilled=yes]

After `->` on a line: the outcome of that step — applied | duplicate | stale | unknown-order |
invalid (reports, timers), sent | refused:REASON (intents), then alarm=NAME, delta=QTY (sum of
the position deltas), status=STATE (the published OrdStatus), status-request."""
from __future__ import annotations

import shlex
from decimal import Decimal
from pathlib import Path

from oms_venue import ScriptedVenue, intent

from fxpipe.model import events as ev
from fxpipe.oms import Alarm, OrderBook, Verdict

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
SIDES = {"buy": "1", "sell": "2"}
TIFS = {"day": "0", "gtc": "1", "ioc": "3", "fok": "4"}


def qty(text: str) -> int:
    return int(Decimal(text) * 100)


def px(text: str) -> int:
    return int(Decimal(text) * 100_000_000)


class ScenarioError(AssertionError):
    pass


class Scenario:
    def __init__(self, path: Path):
        self.path = path
        self.book = OrderBook(1, request_timeout_ns=1_000_000_000)
        self.venue = ScriptedVenue()
        self.ids: dict[str, int] = {}
        self.execs: dict[str, str] = {}
        self.held: dict[str, object] = {}
        self.deadlines: dict[int, int] = {}
        self.last = None

    def run(self) -> None:
        for no, line in enumerate(self.path.read_text().splitlines(), 1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            step, _, want = text.partition("->")
            try:
                self.last = self.step(shlex.split(step))
                if want.strip():
                    self.check(self.last, want.split())
            except ScenarioError as exc:
                raise ScenarioError(f"{self.path.name}:{no}: {text}\n  {exc}") from None

    # -- steps -----------------------------------------------------------------------------
    def step(self, w: list[str]):
        verb, args = w[0], w[1:]
        kv = dict(a.split("=", 1) for a in args if "=" in a)
        pos = [a for a in args if "=" not in a]
        if verb == "new":
            r = self.book.submit(intent("D", qty=qty(kv.get("qty", "1000000")),
                                        px=px(kv["px"]) if "px" in kv else 0,
                                        ord_type="2" if "px" in kv else "1",
                                        side=SIDES[kv.get("side", "buy")],
                                        tif=TIFS[kv.get("tif", "day" if "px" in kv else "ioc")],
                                        t=self.venue.now))
            if r.sent:
                self.ids[pos[0]] = int(r.send["cl_ord_id"])
                self.venue.take(r.send)
                self.deadlines[int(r.send["cl_ord_id"])] = r.deadline_ns
            return r
        if verb in ("cancel", "replace"):
            order = self.ids[pos[0]]
            o = self.book.order(order)
            r = self.book.submit(intent("F" if verb == "cancel" else "G", orig=order,
                                        qty=qty(kv["qty"]) if "qty" in kv else (o.order_qty_e2 if o else 1),
                                        px=px(kv["px"]) if "px" in kv else 0,
                                        side=chr(o.side) if o else "1", t=self.venue.now))
            if r.sent and "as" in pos:
                self.ids[pos[pos.index("as") + 1]] = int(r.send["cl_ord_id"])
                self.deadlines[int(r.send["cl_ord_id"])] = r.deadline_ns
            return r
        if verb == "venue":
            rep = self.venue_step(pos, kv)
            if "hold" in pos:
                self.held[pos[pos.index("hold") + 1]] = rep
                return None
            return self.book.apply_report(rep.update, rep.fill)
        if verb in ("deliver", "again", "resend"):
            rep = self.held[pos[0]]
            if verb == "resend":
                rep = self.venue.resend(rep)
            return self.book.apply_report(rep.update, rep.fill)
        if verb == "timeout":
            cl = self.ids[pos[0]]
            return self.book.on_timeout(cl, self.deadlines[cl])
        if verb == "session":
            st = ev.SessionState.DISCONNECTED if pos[0] == "down" else ev.SessionState.ACTIVE
            s = ev.make(ev.EventType.SESSION, venue_id=1, ts_receive_ns=self.venue.now,
                        session_kind=ev.SessionKind.ORDERS, state=st)
            return self.book.on_event(s)
        if verb == "expect":
            self.expect(pos[0], kv)
            return self.last
        raise ScenarioError(f"unknown step {verb!r}")

    def venue_step(self, pos: list[str], kv: dict):
        what, v, ids = pos[0], self.venue, self.ids
        rep = None
        if what == "ack":
            rep = v.ack(ids[pos[1]])
        elif what in ("fill", "overfill"):
            fn = v.fill if what == "fill" else v.overfill
            extra = {"final_status": kv["status"]} if "status" in kv and what == "fill" else {}
            rep = fn(ids[pos[1]], qty(pos[2]), px(pos[4]), **extra)
        elif what == "cancel":
            rep = v.cancel(ids[pos[1]], ids[pos[2]])
        elif what == "replace":
            o = v.order(ids[pos[2]])
            rep = v.replace(ids[pos[1]], ids[pos[2]], qty(kv["qty"]) if "qty" in kv else o.order_qty_e2,
                            px(kv["px"]) if "px" in kv else o.price_e8)
        elif what == "reject":
            rep = v.reject(ids[pos[1]], int(kv.get("reason", 0)))
        elif what == "expire":
            rep = v.expire(ids[pos[1]])
        elif what == "unsolicited-cancel":
            rep = v.unsolicited_cancel(ids[pos[1]])
        elif what == "bust":
            rep = v.bust(ids[pos[1]], self.execs[pos[2]])
        elif what == "correct":
            rep = v.correct(ids[pos[1]], self.execs[pos[2]], qty(pos[3]), px(pos[5]))
        elif what == "status":
            rep = v.status(ids[pos[1]])
        elif what == "phantom-fill":
            rep = v.phantom_fill(int(pos[1]), qty(pos[2]), px(pos[4]))
        elif what == "unknown-status":
            rep = v.unknown_status(ids[pos[1]])
        elif what == "cxl-reject":
            rep = v.cancel_reject(ids[pos[1]], ids[pos[2]], to="2" if kv.get("to") == "replace" else "1",
                                  reason=int(kv.get("reason", 0)), status=kv.get("status"))
        else:
            raise ScenarioError(f"unknown venue action {what!r}")
        if rep.fill is not None and "as" in pos:
            self.execs[pos[pos.index("as") + 1]] = ev.read(rep.fill)["exec_id"].decode()
        return rep

    # -- checks ----------------------------------------------------------------------------
    def check(self, res, want: list[str]) -> None:
        if res is None:
            raise ScenarioError("a held report has no outcome to check")
        head, rest = want[0], want[1:]
        if hasattr(res, "verdict"):
            got = "sent" if res.verdict == Verdict.SEND else f"refused:{res.refusal.name.lower()}"
            if got != head:
                raise ScenarioError(f"intent: expected {head}, got {got}")
        elif isinstance(res, list):
            got = f"unknown:{len(res)}"
            if got != head:
                raise ScenarioError(f"session: expected {head}, got {got}")
        else:
            got = res.disposition.name.lower().replace("_", "-")
            if got != head:
                raise ScenarioError(f"report: expected {head}, got {got} (alarms {res.alarms!r})")
        for item in rest:
            key, _, value = item.partition("=")
            if key == "alarm":
                if not res.alarms & Alarm[value.upper().replace("-", "_")]:
                    raise ScenarioError(f"expected alarm {value}, got {res.alarms!r}")
            elif key == "no-alarm":
                if res.alarms:
                    raise ScenarioError(f"expected no alarm, got {res.alarms!r}")
            elif key == "delta":
                if res.fill_qty_e2 != qty(value):
                    raise ScenarioError(f"expected delta {value}, got {res.fill_qty_e2 / 100}")
            elif key == "status":
                got = ev.OrdStatus(res.update["ord_status"]).name
                if got != value.upper():
                    raise ScenarioError(f"expected published status {value}, got {got}")
            elif key == "status-request":
                if not res.status_request:
                    raise ScenarioError("expected a status request")
            else:
                raise ScenarioError(f"unknown check {item!r}")

    def expect(self, name: str, kv: dict) -> None:
        o = self.book.order(self.ids[name])
        if o is None:
            raise ScenarioError(f"no order {name}")
        checks = {"status": (ev.OrdStatus(o.status).name, lambda v: v.upper()),
                  "cum": (o.cum_qty_e2, qty), "leaves": (o.leaves_qty_e2, qty),
                  "qty": (o.order_qty_e2, qty), "avg": (o.avg_px_e8, px),
                  "overfilled": (o.overfilled, lambda v: v == "yes")}
        for key, value in kv.items():
            if key not in checks:
                raise ScenarioError(f"unknown expectation {key!r}")
            got, conv = checks[key]
            if got != conv(value):
                raise ScenarioError(f"{name}.{key}: expected {value}, got {got}")


def scenario_files() -> list[Path]:
    return sorted(SCENARIOS.glob("*.oms"))

