"""An orderly stop of the process holding the oms: the intents the decision left on the intent
ring before it stopped (flow order: the decision stops first) are sent, not dropped, and their
answers are taken before the oms closes."""
from __future__ import annotations

import fxpipe.model.events as ev
from fxpipe.model.numbers import parse_qty
from fxpipe.ring import Ring
from fxpipe.runtime.supervisor import ALL_RINGS, CONTROL, SLOT_SIZE, consumers_of, process_readers, ring_names
from fxpipe.runtime.trading import TradingWorker
from tests.runtime.desk_harness import ECN, DeskVenue, desk, journal_events, layout, prefix


def test_intents_left_on_the_ring_at_an_orderly_stop_are_sent_and_answered(tmp_path):
    v = DeskVenue(tmp_path / "venue")
    d = desk(tmp_path, v, [{"strategy": "bench._t2t_strategy:EveryNthQuote", "strategy_id": 1, "venue_id": ECN,
                            "params": {}}])
    lay = layout("compact")
    names = ring_names(prefix())
    rings = [Ring.create(names[r], slot_size=SLOT_SIZE, slot_count=64 if r != CONTROL else 16,
                         consumers=consumers_of(lay, r), producer="multi" if r == CONTROL else "single",
                         blocking=True)
             for r in ALL_RINGS]
    stopping = {"now": False}
    w = None
    try:
        w = TradingWorker(d, lay.processes["oms"], names, process_readers(lay, "oms"), lambda: stopping["now"])
        gw = w.gateway
        assert gw is not None
        for _ in range(3000):
            if gw.logged_on(ECN):
                break
            gw.poll_once(0.01)
        assert gw.logged_on(ECN)
        # what the decision published just before it stopped
        intents = Ring.attach(names["intent"]).producer(auto_detach=False)
        for k in range(3):
            intents.send(ev.make(ev.EventType.ORDER_INTENT, venue_id=ECN, instrument_id=1, strategy_id=1,
                                 cl_ord_id=(1 << 40) | (k + 1), qty_e2=parse_qty("1000000"),
                                 price_e8=0, action=ev.IntentAction.NEW, side=ev.Side.BUY,
                                 ord_type=ev.OrdType.MARKET, time_in_force=ev.TimeInForce.IOC).tobytes())
        stopping["now"] = True
        w.run()              # stops at once: close() takes the intents, sends them, awaits the answers
        w = None
    finally:
        if w is not None:
            w.close()
        for r in rings:
            r.close(unlink=True)
        v.stop()
    sent = {int(e["cl_ord_id"]) for e in journal_events(d.oms_dir, ev.EventType.ORDER_INTENT)
            if int(e["cl_ord_id"]) and int(e["ord_type"]) == ev.OrdType.MARKET}
    filled = {int(e["cl_ord_id"]) for e in journal_events(d.oms_dir, ev.EventType.ORDER_UPDATE)
              if int(e["ord_status"]) == ev.OrdStatus.FILLED}
    assert len(filled) == 3 and filled <= sent, (sorted(sent), sorted(filled))
