"""The test harness's venue picks its ports with free_port() and the simulator binds them a
moment later; a port another process takes in between must cost a retry, not a failed test."""
from __future__ import annotations

import socket

import venue_harness
from session_doubles import free_port


def test_a_port_taken_before_the_venue_binds_it_is_picked_again(tmp_path, monkeypatch):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    busy = taken.getsockname()[1]
    picks = iter([busy])
    monkeypatch.setattr(venue_harness, "free_port", lambda: next(picks, None) or free_port())
    try:
        v = venue_harness.VenueProcess(tmp_path, with_lp=False)
        try:
            assert v.ecn_port != busy and v.status()
        finally:
            v.stop()
    finally:
        taken.close()
