"""The standard-header checks of an incoming message, in the order the FIX spec gives them:
comp ids, SendingTime accuracy, then PossDupFlag's OrigSendingTime.

check_header() is a pure function of the message, the session's settings and the time; it
returns None when the header is fine, or a Problem the session acts on (Reject, and for a
fatal one Logout and disconnect).
"""
from __future__ import annotations

from dataclasses import dataclass

from fxpipe.fix.enums import SessionRejectReason

from . import admin

_NS = 1_000_000_000


@dataclass(frozen=True)
class Problem:
    reason: SessionRejectReason
    tag: int
    text: str
    fatal: bool  # Reject, then Logout and disconnect; else Reject and go on


def check_header(msg, mt: str, cfg, now: int) -> Problem | None:
    sender, target = msg.get_str(admin.SENDER_COMP_ID), msg.get_str(admin.TARGET_COMP_ID)
    if sender != cfg.target_comp_id or target != cfg.sender_comp_id:
        tag = admin.SENDER_COMP_ID if sender != cfg.target_comp_id else admin.TARGET_COMP_ID
        return Problem(SessionRejectReason.COMP_ID_PROBLEM, tag,
                       f"CompID problem: got {sender}->{target}, expected {cfg.target_comp_id}->{cfg.sender_comp_id}",
                       True)
    sending = msg.get_utc_ns(admin.SENDING_TIME)
    if cfg.max_latency_s and abs(now - sending) > cfg.max_latency_s * _NS:
        return Problem(SessionRejectReason.SENDING_TIME_ACCURACY_PROBLEM, admin.SENDING_TIME,
                       f"SendingTime accuracy problem: {abs(now - sending) / _NS:.1f} s off, "
                       f"limit {cfg.max_latency_s} s", True)
    if msg.get(admin.POSS_DUP_FLAG) == b"Y" and mt != admin.SEQUENCE_RESET:
        if not msg.has(admin.ORIG_SENDING_TIME):
            return Problem(SessionRejectReason.REQUIRED_TAG_MISSING, admin.ORIG_SENDING_TIME,
                           "PossDupFlag=Y without OrigSendingTime", False)
        if msg.get_utc_ns(admin.ORIG_SENDING_TIME) > sending:
            return Problem(SessionRejectReason.SENDING_TIME_ACCURACY_PROBLEM, admin.ORIG_SENDING_TIME,
                           "OrigSendingTime later than SendingTime", True)
    return None


def too_low_runbook(text: str, store_path) -> str:
    return (f"{text}. Runbook: the counterparty reused sequence numbers without PossDupFlag (their store "
            f"was reset, or ours kept numbers they dropped). Do not lower ours blindly: agree with them "
            f"which numbers both sides will use, then either reset both (reset_on_logon / ResetSeqNumFlag) "
            f"or set ours with `fxpipe fix-store set {store_path} --next-target N` while stopped.")
