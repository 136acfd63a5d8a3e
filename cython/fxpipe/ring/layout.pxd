# The ring segment layout, declared from fx_ring_layout.h (the one drawing of it).
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t

cdef extern from "fx_ring_layout.h" nogil:
    uint64_t FX_RING_MAGIC
    uint32_t FX_RING_LAYOUT_VERSION
    int FX_LINE
    int FX_RING_MAX_CONSUMERS
    int FX_RING_NAME_LEN
    int FX_CONSUMER_NAME_LEN
    int64_t FX_RING_MAX_SLOT_COUNT
    int FX_RING_MAX_SLOT_SIZE
    int FX_RING_N_OFFSETS
    uint32_t FX_RING_KNOWN_FLAGS
    uint32_t FX_CONSUMER_STATE_MAX
    enum: FX_PRODUCER_SINGLE, FX_PRODUCER_MULTI
    enum: FX_RING_INITIALIZING, FX_RING_READY, FX_RING_CLOSED
    enum: FX_FLAG_BLOCKING, FX_FLAG_SKIP_DETACHED_UPSTREAM
    enum: FX_CONSUMER_FREE, FX_CONSUMER_DECLARED, FX_CONSUMER_ATTACHED, FX_CONSUMER_DETACHED, FX_CONSUMER_CLAIMING, FX_CONSUMER_JOINING
    enum: FX_WAIT_SPIN, FX_WAIT_YIELD, FX_WAIT_SLEEP, FX_WAIT_BLOCK
    enum: FX_WAITING_NONE, FX_WAITING_PUBLISH, FX_WAITING_RELEASE

    ctypedef struct fx_ring_identity:
        uint64_t magic
        uint32_t layout_version
        uint32_t slot_size
        uint64_t slot_count
        uint32_t producer_mode
        uint32_t max_consumers
        int64_t creator_pid
        uint64_t creator_start_time
        int64_t created_ns
        uint32_t flags
        uint32_t state
        uint64_t avail_offset
        uint64_t slots_offset
        uint64_t total_size
        char name[40]

    ctypedef struct fx_padded_seq:
        int64_t value

    ctypedef struct fx_ring_futex:
        uint32_t pub_epoch
        uint32_t pub_waiters
        uint32_t rel_epoch
        uint32_t rel_waiters

    ctypedef struct fx_producer_stats:
        int64_t pid
        uint64_t start_time
        int64_t heartbeat_ns
        uint64_t full_waits
        uint64_t full_wait_ns
        uint64_t full_timeouts
        uint64_t dead_consumers_seen
        uint64_t detached
        uint32_t waiting
        uint64_t waiters_recovered

    ctypedef struct fx_consumer_entry:
        int64_t sequence
        int64_t heartbeat_ns
        uint64_t member
        uint32_t wait_strategy
        uint32_t waiting
        uint64_t depends_mask
        int64_t pid
        uint64_t start_time
        int64_t attached_ns
        uint64_t waits
        char name[32]

    ctypedef struct fx_ring_header:
        fx_ring_identity id
        fx_padded_seq cursor
        fx_padded_seq gating_cache
        fx_ring_futex futex
        fx_producer_stats producer
        fx_consumer_entry consumers[16]

    const size_t fx_ring_offsets[]

    uint32_t fx_member_state(uint64_t m)
    uint32_t fx_member_gen(uint64_t m)
    uint64_t fx_member(uint32_t state, uint32_t gen)
    bint fx_state_gates(uint32_t st)
