"""Pieces the FIX session tests and the venue tests share: an Application that records what its
session delivers, and a free loopback port. Importable from any test folder (tests/ is on
sys.path through its conftest.py)."""
from __future__ import annotations

from fxpipe.fix.session.session import Application
from fxpipe.loopback import unused_port


class RecordingApp(Application):
    """Keeps every application message, counts logons and keeps each logout's reason."""

    def __init__(self):
        self.messages: list = []
        self.logons = 0
        self.logouts: list[str] = []

    def on_logon(self, session):
        self.logons += 1

    def on_logout(self, session, reason):
        self.logouts.append(reason)

    def on_message(self, session, msg):
        self.messages.append(msg)


def free_port() -> int:
    """Free for TCP and UDP (the desk tests use these numbers for feed channels too), and below
    the ephemeral range, so no connect() in the meantime is given it."""
    return unused_port()
