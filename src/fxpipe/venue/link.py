"""What the venue does to a FIX session below the application layer, for its faults: send a
copy of a message (PossResend under a new MsgSeqNum, or a real retransmission under the
original MsgSeqNum with PossDupFlag), skip sequence numbers, write garbled bytes, drop the TCP connection, refuse or
delay a Logon. (Stopping reading the socket is the engine's own Engine.pause_reading.)

Everything goes through fxpipe's FIX engine and its public API: the session numbers, stores,
writes and logs what it sends under its own rules (numbers in order after a resend, the store
answers a ResendRequest correctly); Logon refusal and delay are a logon policy
(fxpipe.fix.session.logon) the engine consults for every incoming Logon.
"""
from __future__ import annotations

from fxpipe.fix.codec import format_utc_timestamp
from fxpipe.fix.session.logon import LogonDecision
from fxpipe.fix.session.session import Session
from fxpipe.fix.tags import Tag


def send_possresend(session: Session, msg_type: str, body: list, orig_sending_ns: int) -> int:
    """An application message sent again under a new MsgSeqNum with PossResend=Y and
    OrigSendingTime, as a venue re-sending a report it is not sure arrived: FIX 4.2's way for
    an application to resend. The receiver must apply it at most once (by ExecID)."""
    header = [(Tag.PossResend, "Y"), (Tag.OrigSendingTime, format_utc_timestamp(orig_sending_ns))]
    return session.send(msg_type, body, header)


def resend(session: Session, seq: int, msg_type: str, body: list, orig_sending_ns: int) -> None:
    """A message retransmitted under its original MsgSeqNum with PossDupFlag=Y and
    OrigSendingTime, as a ResendRequest is answered: the receiver's session layer drops it as
    a duplicate when it already has that number. Not stored again: the number is the old one."""
    session.send_retransmission(seq, msg_type, body, orig_sending_ns)


def skip_seq(session: Session, n: int) -> int:
    """Skips n outgoing sequence numbers: the counterparty sees a gap and asks for a resend,
    which the store answers with a gap fill. Returns the next number now used."""
    return session.skip_sequence_numbers(n)


def send_garbled(session: Session, kind: str) -> bytes:
    """One message the receiver must drop as garbled (FIX: no Reject, no sequence number used):
    a wrong CheckSum, a BodyLength that does not match, or a broken BeginString."""
    return session.send_garbled(kind)


def drop(session: Session, reason: str) -> None:
    """Closes the TCP connection at once, no Logout, as a network failure would."""
    link = session.link
    if link is not None:
        link.close()
        session.disconnected(reason)


class LogonFaults:
    """The venue's logon policy for fxpipe's FIX engine (Engine.logon_policy): refuse the next
    Logon of a session with a Logout (reject_logon) or answer it late (delay_logon). Each armed
    fault rules on one Logon; a refusal wins over a delay armed for the same session."""

    def __init__(self):
        self.reject: dict[str, str] = {}  # session name -> Logout text
        self.delay: dict[str, float] = {}  # session name -> seconds

    def __call__(self, session: Session) -> LogonDecision:
        name = session.cfg.name
        if name in self.reject:
            return LogonDecision.refuse(self.reject.pop(name))
        if name in self.delay:
            return LogonDecision.hold(self.delay.pop(name))
        return LogonDecision.accept()
