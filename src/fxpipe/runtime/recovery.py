"""A restarted decision worker picks its strategies up from the journal, the system of record.

What a strategy must not lose with its process:
- the ClOrdIDs it used: the next one is after the highest it ever sent (an id used twice is
  refused by the oms and would be a different order at the venue);
- its positions: the last PositionUpdate the oms made for each of its instruments;
- its open orders: they live at the venues whatever the strategy remembers; the restarted
  strategy gets them back as open orders and a cancel is asked for each, so it starts from a
  clean book instead of leaving orders it no longer tracks.

The journal trails the rings: before it is read, the journal worker must have caught up with
everything the previous incarnation published on the intent ring (bounded wait, then an alarm
and the best the journal has).
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import fxpipe.model.events as ev
from fxpipe.journal import JournalReader
from fxpipe.ring import Ring
from fxpipe.strategy import Order

log = logging.getLogger("fxpipe.runtime.recovery")
_ID_BITS = 40
_DONE = {int(s) for s in (ev.OrdStatus.FILLED, ev.OrdStatus.CANCELED, ev.OrdStatus.REJECTED,
                          ev.OrdStatus.EXPIRED, ev.OrdStatus.DONE_FOR_DAY, ev.OrdStatus.REPLACED)}
CATCH_UP_S = 5.0


def journal_caught_up(names: dict[str, str], ring: str = "intent", timeout_s: float = CATCH_UP_S) -> bool:
    """Waits until the journal consumer of `ring` has read everything published on it."""
    try:
        r = Ring.attach(names[ring])
    except Exception:           # noqa: BLE001 - no ring: nothing to wait for
        return True
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            st = r.status()
            cons = {c["name"]: c for c in st.get("consumers", [])}
            j = cons.get("journal")
            if j is None or int(j.get("sequence", -1)) >= int(st.get("cursor", -1)):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
    finally:
        r.close()


def recover_decision(stage: Any, journal_dir: Path, names: dict[str, str] | None = None) -> list[Any]:
    """Rebuilds what the hosted strategies must not lose; returns the cancel intents to send."""
    journal_dir = Path(journal_dir)
    if not journal_dir.exists() or not any(journal_dir.iterdir()):
        return []
    if names is not None and not journal_caught_up(names):
        log.error("ALARM the journal has not caught up with the intent ring within %.0f s: the restarted "
                  "decision stage starts from what it has", CATCH_UP_S)
    ours = set(stage.by_id)
    highest: dict[int, int] = {}
    sent: dict[int, Any] = {}               # cl_ord_id -> its NEW/REPLACE intent (what was asked)
    status: dict[int, Any] = {}             # cl_ord_id -> its last OrderUpdate
    positions: dict[tuple[int, int], int] = {}
    reader = JournalReader(journal_dir)
    try:
        for rec in reader:
            t = rec.type
            if t not in (ev.EventType.ORDER_INTENT, ev.EventType.ORDER_UPDATE, ev.EventType.POSITION_UPDATE):
                continue
            e = ev.read(bytearray(rec.payload))
            sid = int(e["strategy_id"])
            if sid not in ours:
                continue
            if t == ev.EventType.ORDER_INTENT:
                cl = int(e["cl_ord_id"])
                if cl >> _ID_BITS == sid:
                    highest[sid] = max(highest.get(sid, 0), cl & ((1 << _ID_BITS) - 1))
                    if int(e["action"]) != ev.IntentAction.CANCEL:
                        sent.setdefault(cl, e)
            elif t == ev.EventType.ORDER_UPDATE:
                status[int(e["cl_ord_id"])] = e
            else:
                positions[(sid, int(e["instrument_id"]))] = int(e["net_qty_e2"])
    finally:
        reader.close()
    for sid, n in highest.items():
        ctx = stage.context(sid)
        ctx.next_order = max(ctx.next_order, n + 1)
    for (sid, instr), qty in positions.items():
        stage.context(sid).positions[instr] = qty
    cancels: list[Any] = []
    for cl, intent in sorted(sent.items()):
        u = status.get(cl)
        st = int(u["ord_status"]) if u is not None else int(ev.OrdStatus.PENDING_NEW)
        if st in _DONE:
            continue
        sid = int(intent["strategy_id"])
        ctx = stage.context(sid)
        o = Order(cl, int(intent["venue_id"]), int(intent["instrument_id"]), int(intent["side"]),
                  int(intent["qty_e2"]), int(intent["price_e8"]), int(intent["time_in_force"]), status=st,
                  cum_qty_e2=int(u["cum_qty_e2"]) if u is not None else 0,
                  leaves_qty_e2=int(u["leaves_qty_e2"]) if u is not None else int(intent["qty_e2"]))
        ctx.orders[cl] = o
        ctx.cancel(cl)
        cancels += ctx.take()
    if highest or cancels:
        log.warning("decision recovered from the journal: next ClOrdIDs %s, %d positions, %d open orders "
                    "cancelled", {s: stage.context(s).next_order for s in highest}, len(positions), len(cancels))
    return cancels
