"""A journal writer for the crash tests, run as its own process and killed with SIGKILL.

usage: crash_writer.py JOURNAL ACK_FILE FSYNC_POLICY [SEGMENT_SIZE [IDLE_CALLS [PAUSE_US]]]
Appends the deterministic records of jtestdata forever (every 2nd one 128 KiB, so a kill often
lands inside an append), storing the sequence of each record it has finished appending in
ACK_FILE (a mapped 8-byte counter, which survives the kill in the page cache).
IDLE_CALLS: prefault() calls after each append, as a writer's idle loop makes them (so the
next segment is being written ahead when the kill comes). PAUSE_US: small records only, with
that pause after each (a writer at a desk's pace rather than a disk's).
Prints "NEXT_SEQ TAIL_CUT" once the journal is open.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jtestdata as d  # noqa: E402
import numpy as np  # noqa: E402

from fxpipe.journal import Journal  # noqa: E402

BIG = {"big_every": 2, "big_size": 128 * 1024}


def main() -> None:
    path, ack_path, policy = sys.argv[1:4]
    segment_size = int(sys.argv[4]) if len(sys.argv) > 4 else 1 << 24
    idle_calls = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    pause_s = int(sys.argv[6]) / 1e6 if len(sys.argv) > 6 else 0.0
    big = {} if pause_s else BIG
    ack = np.memmap(ack_path, dtype="<u8", mode="r+", shape=(1,))
    j = Journal.open(path, segment_size=segment_size, fsync=policy, index_every=256, write_ahead=idle_calls > 0)
    print(j.next_seq, int(j.tail is not None), flush=True)
    while True:
        seq = j.next_seq
        j.append(d.type_for(seq), d.payload_for(seq, **big), d.ts_for(seq))
        ack[0] = seq
        for _ in range(idle_calls):
            j.prefault()
        if pause_s:
            time.sleep(pause_s)


if __name__ == "__main__":
    main()
