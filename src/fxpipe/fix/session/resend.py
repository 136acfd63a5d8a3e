"""Answering a ResendRequest from the durable store, in bounded chunks (no resend storm).

A job covers BeginSeqNo..EndSeqNo of what we sent. Each step reads at most `chunk` records
from the store and turns them into wire messages: application messages go out again with
their own MsgSeqNum, PossDupFlag=Y and OrigSendingTime = their first SendingTime; runs of
admin messages, numbers the store does not hold (reset, cut after corruption) and stored
messages that no longer parse become one SequenceReset-GapFill each (never a message that no longer parses). A gap-fill
run that reaches the end of a chunk carries over into the next, so the counterparty sees one
GapFill per run however the chunks fall. Gap fills carry PossDupFlag=Y and OrigSendingTime,
like every resent message (strict engines reject them otherwise).

A run never starts at our Logon on this connection: that Logon gets a GapFill of its own. The
counterparty has already seen it (it is what made the counterparty ask; QuickFIX queues it
and processes it as soon as the numbers before it are filled), so a GapFill numbered as that
Logon arrives as a duplicate and is dropped, and a run starting there would take everything
after it down with it: the next message would look too high, and everything since the Logon
would be asked for, and resent, twice. Alone, the dropped GapFill covers only the Logon; the
run after it starts at the next number, and one ResendRequest suffices, whether or not the
engine processed the Logon. (A run that starts before the Logon covers it as usual.)

The session drives the steps as its link drains, so memory and the socket backlog stay
bounded however large the range.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from . import admin, wire
from .outbox import Outbox
from .wire import format_utc_timestamp

HIGH_WATER = 1 << 20  # link backlog above which the answer waits for the link to drain


@dataclass
class ResendJob:
    next_seq: int
    end_seq: int
    own_logon: int = 0  # MsgSeqNum of the Logon we sent on this connection (0: none)
    gap_start: int | None = None
    resent: int = 0
    gap_filled: int = 0

    @property
    def done(self) -> bool:
        return self.next_seq > self.end_seq and self.gap_start is None


class ResendStreamer:
    """Turns stored messages into their resent form, one chunk per step."""

    def __init__(self, store, chunk: int, on_unparsable: Callable[[int, str], None]):
        self.store = store
        self.chunk = chunk
        self.on_unparsable = on_unparsable

    def step(self, job: ResendJob, emit_resend: Callable[[int, wire.Message], None],
             emit_gap_fill: Callable[[int, int], None]) -> None:
        """Emit one chunk of `job`; the job records where it stopped."""
        stop = min(job.end_seq, job.next_seq + self.chunk - 1)
        for seq, raw in self.store.get_range(job.next_seq, stop, self.chunk):
            msg = None
            if raw is not None:
                try:
                    msg = wire.parse(raw, validate=False)
                except wire.FixParseError as exc:
                    self.on_unparsable(seq, str(exc))
            if msg is None or wire.msg_type(msg) in admin.ADMIN_TYPES:
                if seq == job.own_logon and job.gap_start is None:
                    job.gap_start = seq
                    self._close_gap(job, seq + 1, emit_gap_fill)
                elif job.gap_start is None:
                    job.gap_start = seq
                continue
            self._close_gap(job, seq, emit_gap_fill)
            emit_resend(seq, msg)
            job.resent += 1
        job.next_seq = stop + 1
        if job.next_seq > job.end_seq:
            self._close_gap(job, job.end_seq + 1, emit_gap_fill)

    @staticmethod
    def _close_gap(job: ResendJob, new_seq_no: int, emit_gap_fill) -> None:
        if job.gap_start is not None:
            emit_gap_fill(job.gap_start, new_seq_no)
            job.gap_filled += new_seq_no - job.gap_start
            job.gap_start = None


def resent_header(orig: wire.Message) -> list:
    """Header of a message sent again: PossDupFlag, OrigSendingTime = its first SendingTime,
    and the header fields it carried beyond those the encoder writes."""
    header = [(admin.POSS_DUP_FLAG, "Y"), (admin.ORIG_SENDING_TIME, orig.get(admin.SENDING_TIME))]
    header += [(tag, value) for tag, value in orig.fields()
               if tag in admin.HEADER_TAGS and tag not in admin.ENCODER_HEADER_TAGS]
    return header


def gap_fill_header(now_ns: int) -> list:
    """A gap fill stands for messages that are not sent again; its OrigSendingTime is its own
    SendingTime (what QuickFIX and QuickFIX/J send)."""
    return [(admin.POSS_DUP_FLAG, "Y"), (admin.ORIG_SENDING_TIME, format_utc_timestamp(now_ns))]


class ResendAnswer:
    """The session's answer to the counterparty's ResendRequest, streamed as the link drains;
    what the application sends meanwhile waits in the outbox and follows it."""

    def __init__(self, store, chunk: int, outbox: Outbox, event: Callable[..., None]):
        self.outbox = outbox
        self.event = event
        self.streamer = ResendStreamer(store, chunk, self._unparsable)
        self.job: ResendJob | None = None
        self.high_water = HIGH_WATER

    def start(self, begin: int, end: int) -> None:
        # A newer request supersedes one still streaming: the counterparty's latest word counts.
        self.job = ResendJob(begin, end, own_logon=self.outbox.logon_seq)
        self.outbox.hold()
        self.pump()

    def pump(self) -> None:
        job, out = self.job, self.outbox
        while job is not None and out.link is not None and out.link.backlog() < self.high_water:
            self.streamer.step(job, self._resend, self._gap_fill)
            if job.done:
                self.event(f"resend done: {job.resent} resent, {job.gap_filled} gap-filled")
                self.job = None
                out.release()
                break

    def stop(self) -> None:
        self.job = None

    def _resend(self, seq: int, orig: wire.Message) -> None:
        self.outbox.write(self.outbox.encode(wire.msg_type(orig), seq, orig.body(), resent_header(orig)))

    def _gap_fill(self, seq: int, new_seq_no: int) -> None:
        out = self.outbox
        out.write(out.encode(admin.SEQUENCE_RESET, seq, admin.gap_fill(new_seq_no), gap_fill_header(out.clock())))

    def _unparsable(self, seq: int, why: str) -> None:
        self.event(f"stored message {seq} no longer parses ({why}); gap-filled instead", logging.ERROR)
