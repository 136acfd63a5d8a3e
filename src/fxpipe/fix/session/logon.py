"""An acceptor's say over a Logon before its session answers it: the engine's logon policy.

`Engine.logon_policy`, when set, is called once per incoming connection with the acceptor
Session its first message was routed to (by comp ids, and only when that session is not
connected already). It returns a LogonDecision:
- accept: the session takes the connection and answers the Logon as usual;
- refuse(text): the session answers with a Logout carrying `text` (Session.refuse_logon) and
  the connection closes; the session stays disconnected and its Application is not called;
- hold(seconds): the engine keeps the connection, and what arrives on it, for that long, then
  hands it to the session, which answers the Logon late.
The venue simulator's reject_logon and delay_logon faults are such a policy; a real acceptor
could check entitlements the same way.
"""
from __future__ import annotations

from dataclasses import dataclass


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

