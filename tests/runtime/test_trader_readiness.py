"""A spinning trading worker reads a socket only when its epoll set says it is readable, and
still serves every input once a service period (what runs on time alone: a snapshot that did
not come, heartbeats, request deadlines)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from session_doubles import free_port

import fxpipe.model.events as ev
import fxpipe.runtime.trading as trading
from fxpipe.feed.publisher import FeedPublisher, InstrumentDef
from fxpipe.oms.gateway import VenueLink
from fxpipe.ring import Ring
from fxpipe.runtime.desk import BinaryFeedSpec, DeskSpec
from fxpipe.runtime.layout import parse
from fxpipe.runtime.processor import typed_events
from fxpipe.runtime.supervisor import ALL_RINGS, CONTROL, SLOT_SIZE, consumers_of, process_readers, ring_names
from fxpipe.runtime.trading import TradingWorker
from tests.runtime.desk_harness import HOST, RINGS, prefix

EURUSD = InstrumentDef(1, "EUR/USD", 10_000, 1_000, 5, 2)


def _layout():
    # the spinning feed alone on a core (the layout's rule); the others block on the other one
    two = -2 if len(HOST.allowed) > 1 else -1
    procs = {"feed": {"stages": ["feed"], "core": -1, "wait": "spin"},
             "trader": {"stages": ["decision", "oms"], "core": two, "wait": "block"},
             "journal": {"stages": ["journal"], "core": two, "wait": "block"}}
    return parse({"name": "split", "rings": RINGS, "processes": procs}, Path("split.toml"), HOST)


@pytest.fixture
def feed_worker(tmp_path):
    lay = _layout()
    names = ring_names(prefix())
    rings = [Ring.create(names[r], slot_size=SLOT_SIZE, slot_count=1024 if r != CONTROL else 16,
                         consumers=consumers_of(lay, r), producer="multi" if r == CONTROL else "single",
                         blocking=True) for r in ALL_RINGS]
    listen, snap = free_port(), free_port()
    desk = DeskSpec(run_dir=tmp_path / "run", strategies=[{"strategy": "bench._t2t_strategy:EveryNthQuote", "strategy_id": 1}],
                    venues=[VenueLink(1, free_port(), "ECN1", kind="ecn")],     # the feed process has no order session
                    binary_feeds=[BinaryFeedSpec(1, 1, listen, "127.0.0.1", snap)])
    w = TradingWorker(desk, lay.processes["feed"], names, process_readers(lay, "feed"), lambda: False)
    md = Ring.attach(names["md"]).consumer("journal")
    pub = FeedPublisher(1, [("127.0.0.1", listen)], snap, [EURUSD], stream_id=7)
    try:
        yield w, md, pub
    finally:
        pub.close()
        w.close()
        for r in rings:
            r.close(unlink=True)


def _counting(src):
    calls = []
    poll = src.poll

    def counted(timeout_s=0.0, ready=None):
        calls.append(ready)
        return poll(timeout_s, ready)
    src.poll = counted
    return calls


def test_a_quiet_socket_is_not_read_between_service_periods(feed_worker, monkeypatch):
    w, _, _ = feed_worker
    monkeypatch.setattr(trading, "SERVICE_NS", 10**12)       # no service period within the test
    calls = _counting(w.sources[0])
    w.run_once()                    # the first turn serves everything (the period starts there)
    assert calls == [None]
    for _ in range(50):
        assert w.run_once() == 0
    assert calls == [None], "a source with nothing readable was polled"


def test_a_datagram_is_read_on_the_next_turn_and_only_its_socket(feed_worker, monkeypatch):
    w, md, pub = feed_worker
    monkeypatch.setattr(trading, "SERVICE_NS", 10**12)
    calls = _counting(w.sources[0])
    w.run_once()
    pub.publish([(1, 0, [(108_000_000, 100_000_00)], [(108_001_000, 100_000_00)])], time.time_ns())
    deadline = time.monotonic() + 5
    while len(calls) < 2 and time.monotonic() < deadline:
        w.run_once()
    assert len(calls) == 2
    rx = w.sources[0].rx
    assert calls[1] == {rx.sock.fileno()}, "only the incremental socket was readable"
    # the first packet of a stream asks for a snapshot; the publisher answers it
    for _ in range(200):
        pub.on_readable(time.time_ns())
        w.run_once()
        batch = md.poll_batch(16)
        if batch is not None and any(t == ev.EventType.QUOTE for t, _ in typed_events(batch)):
            break
        time.sleep(0.005)
    else:
        pytest.fail("no Quote reached the md ring")


def test_every_input_is_served_once_a_service_period(feed_worker, monkeypatch):
    w, _, _ = feed_worker
    monkeypatch.setattr(trading, "SERVICE_NS", 1_000_000)
    calls = _counting(w.sources[0])
    end = time.monotonic() + 0.05
    while time.monotonic() < end:
        w.run_once()
    # nothing readable all along, yet the source was served about once a millisecond
    assert calls and all(c is None for c in calls)
    assert 10 <= len(calls) <= 100, len(calls)
