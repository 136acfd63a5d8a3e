"""Python mirror of the ring header (fx_ring_layout.h) as a numpy dtype, so tools can read a
segment's identity and counters without the extension, and so a test can hold the C
compiler's offsets against this declaration field by field. Also the segment geometry (where
the availability flags and slots start, the total size), computed in one place for the
creator and for the checks an attacher runs on a header read from a file."""
import numpy as np

MAGIC = 0x31474E4952584621      # "!FXRING1" little-endian; equal to FX_RING_MAGIC (tested)
LAYOUT_VERSION = 2
LINE = 128
MAX_CONSUMERS = 16
CONSUMER_NAME_LEN = 32
MAX_SLOT_COUNT = 1 << 30
MAX_SLOT_SIZE = 1 << 20
FLAG_BLOCKING = 1
FLAG_SKIP_DETACHED_UPSTREAM = 2
KNOWN_FLAGS = FLAG_BLOCKING | FLAG_SKIP_DETACHED_UPSTREAM
STATE_INITIALIZING, STATE_READY, STATE_CLOSED = 0, 1, 2
PRODUCER_SINGLE, PRODUCER_MULTI = 1, 2
(CONSUMER_FREE, CONSUMER_DECLARED, CONSUMER_ATTACHED, CONSUMER_DETACHED, CONSUMER_CLAIMING,
 CONSUMER_JOINING) = range(6)
GATING_STATES = (CONSUMER_DECLARED, CONSUMER_ATTACHED, CONSUMER_JOINING)
WAIT_CODES = 4

IDENTITY = np.dtype([
    ("magic", "<u8"), ("layout_version", "<u4"), ("slot_size", "<u4"), ("slot_count", "<u8"),
    ("producer_mode", "<u4"), ("max_consumers", "<u4"), ("creator_pid", "<i8"),
    ("creator_start_time", "<u8"), ("created_ns", "<i8"), ("flags", "<u4"), ("state", "<u4"),
    ("avail_offset", "<u8"), ("slots_offset", "<u8"), ("total_size", "<u8"), ("name", "S40"),
])

PADDED_SEQ = np.dtype({"names": ["value"], "formats": ["<i8"], "offsets": [0], "itemsize": LINE})

# `member` is one 64-bit word in C (state | generation << 32); little-endian, its halves read
# as `state` and `generation` here.
CONSUMER = np.dtype({
    "names": ["sequence", "heartbeat_ns", "state", "generation", "wait_strategy", "waiting",
              "depends_mask", "pid", "start_time", "attached_ns", "waits", "name"],
    "formats": ["<i8", "<i8", "<u4", "<u4", "<u4", "<u4", "<u8", "<i8", "<u8", "<i8", "<u8", "S32"],
    "offsets": [0, 8, 128, 132, 136, 140, 144, 152, 160, 168, 176, 184],
    "itemsize": 2 * LINE,
})

PRODUCER = np.dtype({
    "names": ["pid", "start_time", "heartbeat_ns", "full_waits", "full_wait_ns", "full_timeouts",
              "dead_consumers_seen", "detached", "waiting", "waiters_recovered"],
    "formats": ["<i8", "<u8", "<i8", "<u8", "<u8", "<u8", "<u8", "<u8", "<u4", "<u8"],
    "offsets": [0, 8, 16, 24, 32, 40, 48, 56, 64, 72],
    "itemsize": LINE,
})

HEADER = np.dtype({
    "names": ["id", "cursor", "gating_cache", "futex", "producer", "consumers"],
    "formats": [IDENTITY, PADDED_SEQ, PADDED_SEQ,
                np.dtype({"names": ["pub_epoch", "pub_waiters", "rel_epoch", "rel_waiters"],
                          "formats": ["<u4"] * 4, "offsets": [0, 4, 8, 12], "itemsize": LINE}),
                PRODUCER, (CONSUMER, (MAX_CONSUMERS,))],
    "offsets": [0, 128, 256, 384, 512, 640],
    "itemsize": 640 + MAX_CONSUMERS * 2 * LINE,
})


def _round_up(v: int, a: int) -> int:
    return (v + a - 1) // a * a


def geometry(slot_count: int, slot_size: int, producer_mode: int) -> tuple[int, int, int]:
    """(avail_offset, slots_offset, total_size) of a segment: MP availability flags after the
    header, slots page-aligned after them. avail_offset is 0 on single-producer rings."""
    avail = _round_up(HEADER.itemsize, LINE)
    flags = slot_count * 4 if producer_mode == PRODUCER_MULTI else 0
    slots = _round_up(avail + flags, 4096)
    return (avail if producer_mode == PRODUCER_MULTI else 0), slots, slots + slot_count * slot_size


def offsets_in_c_order() -> list[int]:
    """The same fields, in the order fx_ring_offsets[] lists them in the C header."""
    i = IDENTITY.fields
    c = CONSUMER.fields
    h = HEADER.fields
    pr = PRODUCER.fields
    assert i is not None and c is not None and h is not None and pr is not None  # structured dtypes
    ident = ["magic", "layout_version", "slot_size", "slot_count", "producer_mode", "max_consumers",
             "creator_pid", "creator_start_time", "created_ns", "flags", "state", "avail_offset",
             "slots_offset", "total_size", "name"]
    return ([i[f][1] for f in ident]
            + [h[f][1] for f in ("cursor", "gating_cache", "futex", "producer")]
            + [h["producer"][1] + pr[f][1] for f in ("waiting", "waiters_recovered")]
            + [h["consumers"][1], CONSUMER.itemsize]
            + [c[f][1] for f in ("heartbeat_ns", "state", "wait_strategy", "waiting", "depends_mask", "pid",
                                 "start_time", "waits", "name")]
            + [HEADER.itemsize])
