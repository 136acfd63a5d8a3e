"""A fault on what every session shares happens once: an unscoped `price_jump pips=5` moves
the market 5 pips however many clients are logged on, and an unscoped `feed_loss count=2`
loses 2 packets of the venue's feed, not 2 per client session."""
import time

from session_doubles import free_port
from venue_harness import FixClient, VenueProcess, md_request
from wire import last_asks


def test_an_unscoped_price_jump_moves_the_market_once_with_three_sessions(tmp_path):
    feed = (f"[venues.ecn.feed]\nchannel_id = 9\ndestinations = [\"127.0.0.1:{free_port()}\"]\n"
            f"snapshot_port = 0\nheartbeat_ms = 50\n")
    v = VenueProcess(tmp_path, clients=("C1", "C2", "C3"), market_extra="step_updates = 0", ecn_extra=feed,
                     with_lp=False)
    clients = [FixClient(tmp_path / n, v.ecn_port, n, "ECN1") for n in ("C1", "C2", "C3")]
    c = clients[0]
    try:
        c.send("V", md_request("MD", ["EUR/USD"], depth=1))
        c.wait_for("W", 1)
        assert "armed 1" in v.fault("feed_loss count=2")
        assert "armed 1" in v.fault("price_jump symbol=EUR/USD pips=5")

        c.wait(lambda: last_asks(c)[0][0] != 108_501_000, "the jump on the wire")
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            c.poll(0.05)
        assert last_asks(c)[0][0] == 108_551_000  # 1.08501 + 5 pips, not + 15
        c.wait(lambda: v.status()["venues"]["ecn"]["feed"]["packets_dropped"] >= 2, "the feed losses")
        c.poll(0.3)
        assert v.status()["venues"]["ecn"]["feed"]["packets_dropped"] == 2
    finally:
        for cl in clients:
            cl.close()
        v.stop()
