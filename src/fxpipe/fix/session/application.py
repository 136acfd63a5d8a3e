"""What a FIX session's application sees: the Application callbacks, the session's states, and
the error send() raises outside a logged-on session.
"""
from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import wire
    from .session import Session


class State(enum.Enum):
    DISCONNECTED = "disconnected"
    LOGON_SENT = "logon-sent"      # initiator, waiting for the Logon reply
    AWAIT_LOGON = "await-logon"    # acceptor, waiting for the counterparty's Logon
    ACTIVE = "active"
    LOGOUT_SENT = "logout-sent"


class SessionNotLoggedOn(RuntimeError):
    """send() outside an active session: the message was not sent and got no sequence number."""


class UnsupportedMessageType(Exception):
    """Raised by on_message for a valid FIX 4.2 message type the application does not handle:
    the session answers with a BusinessMessageReject (BusinessRejectReason 3, unsupported
    message type) and counts the message as received."""


class Application:
    """What the OMS or the venue simulator implements; every method is optional.

    on_message is called once per application message, in MsgSeqNum order; the message counts
    as received when it returns. Journal what must survive before returning, and handle a
    message seen again (PossDupFlag=Y after a restart) idempotently. UnsupportedMessageType
    answers it with a BusinessMessageReject; any other exception counts as not handled: the
    session logs out, and the message comes again after the reconnect."""

    def on_logon(self, session: Session) -> None: ...

    def on_logout(self, session: Session, reason: str) -> None: ...

    def on_message(self, session: Session, msg: wire.Message) -> None: ...
