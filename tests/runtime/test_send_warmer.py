"""The send path's warmer: one byte through a private loopback TCP connection at its period,
what it sent read back so the connection never fills, never blocking, stopping on an error."""
import socket
import time

import pytest

from fxpipe.runtime.idle import spin_wait_fd
from fxpipe.runtime.sendwarm import SendPathWarmer


def test_it_sends_at_its_period_and_not_between():
    with SendPathWarmer(1_000_000) as w:
        assert w.running and w.every_ns == 1_000_000 and w.warms == 0
        w.warm(10_000_000)
        w.warm(10_500_000)                 # within the period: nothing
        assert w.warms == 1
        w.warm(11_000_000)
        assert w.warms == 2


def test_a_long_run_never_fills_the_connection_or_blocks():
    """100,000 sends of one byte are far past what one connection's buffers hold unread: the
    warmer reads them back as it goes, and not one send was refused."""
    with SendPathWarmer(1) as w:
        for k in range(100_000):
            w.warm(k + 1)
        assert w.warms == 100_000 and w.error == 0 and w.running


def test_it_carries_nothing_anyone_else_can_read():
    with SendPathWarmer(1) as w:
        tx, rx = w.sockets
        assert tx.getsockname()[0] == "127.0.0.1" and rx.getpeername() == tx.getsockname()
        assert tx.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_an_error_stops_it_and_a_closed_one_does_nothing():
    w = SendPathWarmer(1)
    tx, rx = w.sockets
    rx.close()                              # the far end gone: the sends fail, the warmer stops
    for k in range(1, 2_000):
        w.warm(k)
        if w.error:
            break
    assert w.error != 0 and not w.running
    sent = w.warms
    w.warm(10_000)
    assert w.warms == sent
    w.close()
    w.close()                               # twice is fine
    w.warm(20_000)
    assert w.warms == sent and not w.running


def test_a_period_must_be_positive():
    with pytest.raises(ValueError, match="every_ns must be > 0"):
        SendPathWarmer(0)


def test_the_idle_wait_ticks_it_on_its_own_period():
    with SendPathWarmer(1_000_000) as w:
        start = time.monotonic()
        assert spin_wait_fd(-1, [], 20_000_000, (), None, 0, w) == -2
        took = time.monotonic() - start
        assert 5 <= w.warms <= took * 1000 + 2


def test_the_trader_says_once_that_the_warming_stopped(caplog):
    """The trading worker reports a stopped warmer when it happens (its once-a-second check),
    once, and orders are not affected: the warmer only ever touched its own connection."""
    import logging
    from types import SimpleNamespace

    from fxpipe.runtime.trading import TradingWorker

    w = SendPathWarmer(1)
    w.sockets[1].close()
    for k in range(1, 2_000):
        w.warm(k)
        if w.error:
            break
    worker = SimpleNamespace(_send_warmer=w, _send_warmer_reported=False)
    with caplog.at_level(logging.WARNING, "fxpipe.runtime.trading"):
        for _ in range(3):
            TradingWorker._report_send_warmer(worker)
    assert caplog.text.count("the send path's warming stopped after") == 1
    w.close()
