"""An acceptor's say over a Logon before its session answers it: the engine's logon policy.

`Engine.logon_policy`, when set, is called once per incoming connection with the acceptor
Session its first message was routed to (by comp ids, and only when that session is not
connected already). It returns a LogonDecision:
- accept: the session takes the connection and answers the Logon as usual;
- refuse(text): the engine answers with a Logout carrying `text` (refuse() below) and the
  connection closes; the session stays disconnected and its Application is not called;
- hold(seconds): the engine keeps the connection, and what arrives on it, for that long, then
  hands it to the session, which answers the Logon late.
The venue simulator's reject_logon and delay_logon faults are such a policy; a real acceptor
could check entitlements the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import admin
from .routing import reply_header_of_frame

if TYPE_CHECKING:
    from .session import Session


@dataclass(frozen=True)
class LogonDecision:
    action: str  # "accept" | "refuse" | "hold"
    text: str = ""
    hold_s: float = 0.0

    @staticmethod
    def accept() -> LogonDecision:
        return ACCEPT

    @staticmethod
    def refuse(text: str) -> LogonDecision:
        return LogonDecision("refuse", text=text)

    @staticmethod
    def hold(seconds: float) -> LogonDecision:
        if not seconds >= 0:
            raise ValueError(f"a Logon can be held for 0 seconds or more, not {seconds!r}")
        return LogonDecision("hold", hold_s=float(seconds))


ACCEPT = LogonDecision("accept")



def refuse(session: Session, link, logon: bytes, text: str) -> None:
    """Answers `logon` with a Logout carrying `text` on link, numbered and stored like any
    message the session sends (a later ResendRequest finds it) and logged with the Logon it
    answers; the link closes once the Logout is flushed. The session stays disconnected."""
    out = session.outbox
    now = session.clock()
    seq = session.store.next_sender
    raw = out.encode(admin.LOGOUT, seq, admin.logout(text), reply_header_of_frame(logon))
    session.store.save_sent(seq, raw)
    if session.log:
        session.log.incoming(now, logon)
        session.log.outgoing(now, raw)
    session.event(f"Logon refused by the logon policy: {text}")
    link.write(raw)
    link.close()
