"""A small live loop over real rings: the oms stage and the decision stage read the control
ring (and their usual inputs), publish what they cause, and an OpsPublisher trails every ring
as the journal process does, writing the "ops" status section."""
from __future__ import annotations

import threading
from pathlib import Path

import fxpipe.model.events as ev
from fxpipe.model.refdata import parse_refdata
from fxpipe.oms.stage import OmsStage
from fxpipe.ops.host import OpsPublisher
from fxpipe.ops.view import as_record
from fxpipe.ring import Ring, RingTimeout
from fxpipe.stages.decision import DecisionStage

ROOT = Path(__file__).resolve().parents[2]
REFDATA = (ROOT / "config" / "refdata.toml").read_text()
LIMITS = (ROOT / "config" / "risk.toml").read_text()
_INTENT, _CONTROL = int(ev.EventType.ORDER_INTENT), int(ev.EventType.CONTROL)


class Loop(threading.Thread):
    def __init__(self, prefix: str, oms: OmsStage, decision: DecisionStage):
        super().__init__(daemon=True)
        self.prefix, self.oms, self.decision = prefix, oms, decision
        self.rings = {r: Ring.attach(f"{prefix}.{r}") for r in ("md", "intent", "exec", "control")}
        c = {(r, n): self.rings[r].consumer(n, wait="yield") for r, n in
             (("control", "oms"), ("intent", "oms"), ("control", "decision"), ("md", "decision"),
              ("exec", "decision"))}
        self.journal = {r: ring.consumer("journal", wait="yield") for r, ring in self.rings.items()}
        self.exec_out = self.rings["exec"].producer()
        self.intent_out = self.rings["intent"].producer()
        self.work = [(c[("control", "oms")], self._oms), (c[("intent", "oms")], self._oms),
                     (c[("control", "decision")], self._decision), (c[("md", "decision")], self._decision),
                     (c[("exec", "decision")], self._decision)]
        self.ops = OpsPublisher(prefix, parse_refdata(REFDATA), interval_s=0.05)
        self.requests_sent: list = []
        self.controls: list = []               # the Control events as the journal took them          # what the gateway would send to the venue
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def _oms(self, e, seq):
        for out in self.oms.on_event(e, seq):
            if int(out["type"]) == _INTENT:
                self.requests_sent.append(out)
            else:
                self.exec_out.send(out.tobytes())

    def _decision(self, e, seq):
        for out in self.decision.on_event(e, seq):
            self.intent_out.send(out.tobytes())

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                for consumer, handler in self.work:
                    try:
                        batch = consumer.read_batch(256, 0.001)
                    except RingTimeout:
                        continue
                    first = consumer.batch_first
                    for i in range(len(batch)):
                        handler(as_record(batch[i]), first + i)
                    consumer.release()
                for consumer in self.journal.values():
                    try:
                        batch = consumer.read_batch(1024, 0.001)
                    except RingTimeout:
                        continue
                    for i in range(len(batch)):
                        e = as_record(batch[i])
                        self.ops.on_event(e)
                        if int(e["type"]) == _CONTROL:
                            self.controls.append(e.copy())
                    consumer.release()
                self.ops.maybe_publish()
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            self.error = exc

    def close(self) -> None:
        self.stop.set()
        self.join(10)
        self.ops.close()
        for r in self.rings.values():
            r.close(unlink=False)
        if self.error is not None:
            raise self.error
