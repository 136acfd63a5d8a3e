"""What the desk's journal (the system of record) adds to the harness's own stamps: each order
request's hop stamps by ClOrdID (quote received, decoded, decided, at the oms, written to the
socket), the Quote events the trader handled (their receive stamps) and the feed gaps it saw."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import fxpipe.model.events as ev
from fxpipe.journal import JournalReader

STAMPS = ("ts_receive_ns", "ts_decode_ns", "ts_decide_ns", "ts_risk_ns", "ts_send_ns")


@dataclass
class DeskRecord:
    requests: dict[int, tuple[int, ...]]      # cl_ord_id -> STAMPS of the request that went out
    quote_recv_ns: np.ndarray                 # ts_receive_ns of every Quote event, journal order
    gap_ns: np.ndarray                        # ts_receive_ns of every market-data RESENDING


def read_desk(journal_dir: Path) -> DeskRecord:
    quote_dt = ev.dtype_for(ev.EventType.QUOTE)
    quotes: list[bytes] = []
    requests: dict[int, tuple[int, ...]] = {}
    gaps: list[int] = []
    with JournalReader(journal_dir) as reader:
        for rec in reader:
            t = rec.type
            if t == ev.EventType.QUOTE:
                quotes.append(bytes(rec.payload))
            elif t == ev.EventType.ORDER_INTENT:
                e = ev.read(bytearray(rec.payload))
                if int(e["ts_send_ns"]):
                    requests[int(e["cl_ord_id"])] = tuple(int(e[s]) for s in STAMPS)
            elif t == ev.EventType.SESSION:
                e = ev.read(bytearray(rec.payload))
                if (int(e["session_kind"]) == ev.SessionKind.MARKET_DATA
                        and int(e["state"]) == ev.SessionState.RESENDING):
                    gaps.append(int(e["ts_receive_ns"]))
    q = np.frombuffer(b"".join(quotes), dtype=quote_dt) if quotes else np.zeros(0, dtype=quote_dt)
    return DeskRecord(requests, np.sort(q["ts_receive_ns"].astype(np.int64)), np.asarray(gaps, dtype=np.int64))


def stamps_of(record: DeskRecord, cl_ord_ids: np.ndarray) -> np.ndarray:
    """(n, 5) STAMPS for each ClOrdID; a row of zeros where the journal has no request for it."""
    out = np.zeros((len(cl_ord_ids), len(STAMPS)), dtype=np.int64)
    for i, cl in enumerate(cl_ord_ids.tolist()):
        s = record.requests.get(cl)
        if s is not None:
            out[i] = s
    return out
