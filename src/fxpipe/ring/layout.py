"""Python mirror of the ring header (fx_ring_layout.h) as a numpy dtype, so tools can read a
segment's identity and counters without the extension, and so a test can hold the C
compiler's offsets against this declaration field by field."""
import numpy as np

MAGIC = 0x31474E4952584621      # "!FXRING1" little-endian; equal to FX_RING_MAGIC (tested)
LAYOUT_VERSION = 1
LINE = 128
MAX_CONSUMERS = 16
FLAG_BLOCKING = 1
STATE_INITIALIZING, STATE_READY, STATE_CLOSED = 0, 1, 2

IDENTITY = np.dtype([
    ("magic", "<u8"), ("layout_version", "<u4"), ("slot_size", "<u4"), ("slot_count", "<u8"),
    ("producer_mode", "<u4"), ("max_consumers", "<u4"), ("creator_pid", "<i8"),
    ("creator_start_time", "<u8"), ("created_ns", "<i8"), ("flags", "<u4"), ("state", "<u4"),
    ("avail_offset", "<u8"), ("slots_offset", "<u8"), ("total_size", "<u8"), ("name", "S40"),
])

PADDED_SEQ = np.dtype({"names": ["value"], "formats": ["<i8"], "offsets": [0], "itemsize": LINE})

CONSUMER = np.dtype({
    "names": ["sequence", "state", "wait_strategy", "depends_mask", "pid", "start_time",
              "heartbeat_ns", "attached_ns", "waits", "name"],
    "formats": ["<i8", "<u4", "<u4", "<u8", "<i8", "<u8", "<i8", "<i8", "<u8", "S32"],
    "offsets": [0, 128, 132, 136, 144, 152, 160, 168, 176, 184],
    "itemsize": 2 * LINE,
})

HEADER = np.dtype({
    "names": ["id", "cursor", "gating_cache", "futex", "producer", "consumers"],
    "formats": [IDENTITY, PADDED_SEQ, PADDED_SEQ,
                np.dtype({"names": ["pub_epoch", "pub_waiters", "rel_epoch", "rel_waiters"],
                          "formats": ["<u4"] * 4, "offsets": [0, 4, 8, 12], "itemsize": LINE}),
                np.dtype({"names": ["pid", "start_time", "heartbeat_ns", "full_waits", "full_wait_ns",
                                    "full_timeouts", "dead_consumers_seen", "detached"],
                          "formats": ["<i8", "<u8", "<i8", "<u8", "<u8", "<u8", "<u8", "<u8"],
                          "offsets": [0, 8, 16, 24, 32, 40, 48, 56], "itemsize": LINE}),
                (CONSUMER, (MAX_CONSUMERS,))],
    "offsets": [0, 128, 256, 384, 512, 640],
    "itemsize": 640 + MAX_CONSUMERS * 2 * LINE,
})


def offsets_in_c_order() -> list[int]:
    """The same fields, in the order fx_ring_offsets[] lists them in the C header."""
    i = IDENTITY.fields
    c = CONSUMER.fields
    h = HEADER.fields
    assert i is not None and c is not None and h is not None  # structured dtypes declared above
    ident = ["magic", "layout_version", "slot_size", "slot_count", "producer_mode", "max_consumers",
             "creator_pid", "creator_start_time", "created_ns", "flags", "state", "avail_offset",
             "slots_offset", "total_size", "name"]
    return ([i[f][1] for f in ident]
            + [h[f][1] for f in ("cursor", "gating_cache", "futex", "producer", "consumers")]
            + [CONSUMER.itemsize] + [c[f][1] for f in ("state", "depends_mask", "pid", "heartbeat_ns", "name")]
            + [HEADER.itemsize])
