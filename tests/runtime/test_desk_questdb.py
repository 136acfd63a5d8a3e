"""A desk with QuestDB configured: the journal reaches QuestDB (a loopback receiver that speaks
its HTTP ILP and applies its de-duplication) while trading; QuestDB down for a while is an
alarm and nothing else: trading goes on, and every row arrives once when it is back."""
from __future__ import annotations

import threading
import time

from fxpipe.journal import JournalReader
from fxpipe.model import events as ev
from fxpipe.persistence.testing import IlpReceiver
from fxpipe.runtime.run import run_desk
from tests.runtime.desk_harness import ECN, DeskVenue, desk, layout, prefix


def test_questdb_down_then_back_loses_and_doubles_nothing_while_trading_goes_on(tmp_path):
    v = DeskVenue(tmp_path / "venue")
    d = desk(tmp_path, v, [{"strategy": "bench._t2t_strategy:EveryNthQuote", "strategy_id": 1,
                            "venue_id": ECN, "params": {"every": 4, "max_orders": 10_000}}])
    rx = IlpReceiver()
    state: dict = {}

    def chaos(sup):
        def go():
            try:
                deadline = time.monotonic() + 60
                while not rx.rows("fills") and time.monotonic() < deadline:
                    time.sleep(0.2)
                rx.down(503)                                  # QuestDB away: trading must not notice
                state["down_ns"] = time.time_ns()
                t0 = time.monotonic()
                n0 = len(rx.rows("orders"))
                time.sleep(3.0)
                state["orders_while_down"] = len(rx.rows("orders")) - n0
                state["down_s"] = time.monotonic() - t0
                state["up_ns"] = time.time_ns()
                rx.up()
                time.sleep(2.0)
            finally:
                state["done"] = True
        threading.Thread(target=go, daemon=True).start()

    try:
        summary = run_desk(layout("fused"), d, prefix=prefix(), duration_s=120, on_started=chaos,
                           until=lambda: state.get("done", False), alarm=lambda t: None, questdb=rx.conf)
        journal_orders, sent_while_down = [], 0
        with JournalReader(d.journal_dir) as r:
            for rec in r.records():
                if rec.type == ev.EventType.ORDER_INTENT:
                    journal_orders.append(rec.seq)
                    sent = int(ev.read(bytearray(rec.payload))["ts_send_ns"])
                    sent_while_down += state["down_ns"] < sent < state["up_ns"]
        rows = rx.rows("orders")
    finally:
        rx.stop()
        v.stop()
    assert state["orders_while_down"] == 0
    # every intent and request of the journal is a row, once (de-duplicated on ts + journal seq)
    seqs = sorted(int(r["journal_seq"]) for r in rows)
    assert seqs == sorted(journal_orders), (len(seqs), len(journal_orders))
    assert summary.requests > 0 and summary.fills > 0
    # trading went on while QuestDB was down: orders were sent in that window too
    assert sent_while_down > 0
    assert (d.run_dir / "questdb.checkpoint").exists()
