/* The shared-memory layout of one fxpipe ring, drawn once. No pointers, only offsets: each
 * process maps the segment at its own address.
 *
 *  offset 0     +--------------------------------------------------------------+
 *               | identity: magic, layout version, slot size/count, producer    |
 *               | mode, creator pid + start time, state, offsets, name          |
 *  128          | cursor            (SP: last published; MP: last claimed)      |
 *  256          | gating cache      (MP: min consumer sequence seen by a claim) |
 *  384          | futex words       (publish epoch/waiters, release epoch/...)  |
 *  512          | producer stats    (pid, heartbeat, back-pressure counters)    |
 *  640          | consumer[0]       sequence line | membership line (256 bytes) |
 *   ...         | consumer[15]                                                 |
 *  4736         +--------------------------------------------------------------+
 *  avail_offset | MP only: int32 availability flag per slot (round number)     |
 *  slots_offset | slot[0] .. slot[slot_count-1], slot_size bytes each          |
 *               +--------------------------------------------------------------+
 *
 * Lines are 128 bytes, not 64: x86's adjacent-line prefetcher pulls cache lines in pairs, so
 * two hot words 64 bytes apart still false-share. Every region a different process writes
 * (cursor, each consumer sequence) owns its pair of lines.
 *
 * A consumer entry's membership is one 64-bit word: state in the low half, a generation in
 * the high half that every membership change bumps. One CAS moves an entry between states, so
 * a detach, a resume and the producer's auto-detach can never both win; a consumer holds the
 * word it attached with and compares it on its read path to learn that it was detached. */
#ifndef FX_RING_LAYOUT_H
#define FX_RING_LAYOUT_H
#include <stdint.h>
#include <stddef.h>

#define FX_RING_MAGIC 0x31474e4952584621ULL  /* "!FXRING1" in little-endian bytes */
#define FX_RING_LAYOUT_VERSION 2
#define FX_LINE 128
#define FX_RING_MAX_CONSUMERS 16
#define FX_RING_NAME_LEN 40
#define FX_CONSUMER_NAME_LEN 32
#define FX_RING_MAX_SLOT_COUNT (1LL << 30)
#define FX_RING_MAX_SLOT_SIZE (1 << 20)

enum { FX_PRODUCER_SINGLE = 1, FX_PRODUCER_MULTI = 2 };
enum { FX_RING_INITIALIZING = 0, FX_RING_READY = 1, FX_RING_CLOSED = 2 };
/* SKIP_DETACHED_UPSTREAM: a dependent reads past an upstream while it is detached (default:
 * it waits for the upstream to come back). */
enum { FX_FLAG_BLOCKING = 1, FX_FLAG_SKIP_DETACHED_UPSTREAM = 2 };
#define FX_RING_KNOWN_FLAGS (FX_FLAG_BLOCKING | FX_FLAG_SKIP_DETACHED_UPSTREAM)
/* CLAIMING: a process won a free entry and is filling it in; it gates nobody and is invisible
 * to name look-ups other than the duplicate-name check.
 * JOINING: a process is (re)attaching the entry: it gates the producer and its dependents,
 * but neither auto-detach nor another attacher may take it. */
enum { FX_CONSUMER_FREE = 0, FX_CONSUMER_DECLARED = 1, FX_CONSUMER_ATTACHED = 2, FX_CONSUMER_DETACHED = 3,
       FX_CONSUMER_CLAIMING = 4, FX_CONSUMER_JOINING = 5 };
#define FX_CONSUMER_STATE_MAX 5
enum { FX_WAIT_SPIN = 0, FX_WAIT_YIELD = 1, FX_WAIT_SLEEP = 2, FX_WAIT_BLOCK = 3 };
/* Which futex word a party is registered on as a waiter (consumer entry / producer stats). */
enum { FX_WAITING_NONE = 0, FX_WAITING_PUBLISH = 1, FX_WAITING_RELEASE = 2 };

typedef struct {
    uint64_t magic;
    uint32_t layout_version;
    uint32_t slot_size;
    uint64_t slot_count;
    uint32_t producer_mode;
    uint32_t max_consumers;
    int64_t creator_pid;
    uint64_t creator_start_time;   /* /proc/PID/stat field 22: tells a reused pid apart */
    int64_t created_ns;            /* CLOCK_REALTIME */
    uint32_t flags;
    uint32_t state;                /* FX_RING_*; READY is release-stored last by the creator */
    uint64_t avail_offset;
    uint64_t slots_offset;
    uint64_t total_size;
    char name[FX_RING_NAME_LEN];
} fx_ring_identity;

typedef struct {
    int64_t value;
    char pad[FX_LINE - sizeof(int64_t)];
} fx_padded_seq;

typedef struct {
    uint32_t pub_epoch;     /* bumped on publish when pub_waiters > 0 */
    uint32_t pub_waiters;
    uint32_t rel_epoch;     /* bumped on release when rel_waiters > 0 */
    uint32_t rel_waiters;
    char pad[FX_LINE - 4 * sizeof(uint32_t)];
} fx_ring_futex;

typedef struct {
    int64_t pid;                   /* negative while a producer is taking the ring over */
    uint64_t start_time;
    int64_t heartbeat_ns;          /* CLOCK_MONOTONIC, refreshed while the producer waits */
    uint64_t full_waits;           /* claims that found the ring full: back-pressure */
    uint64_t full_wait_ns;         /* time producers spent waiting for space */
    uint64_t full_timeouts;        /* claims that gave up at their timeout */
    uint64_t dead_consumers_seen;  /* gating consumers found dead while waiting */
    uint64_t detached;             /* consumers detached so far */
    uint32_t waiting;              /* FX_WAITING_*: the SP producer sleeps on rel_epoch */
    uint32_t reserved;
    uint64_t waiters_recovered;    /* waiter registrations of dead processes taken back */
    char pad[FX_LINE - 10 * 8];
} fx_producer_stats;

typedef struct {
    /* line 0: written by the consumer on every release; read by the producer and dependents */
    int64_t sequence;              /* last sequence this consumer released */
    int64_t heartbeat_ns;          /* CLOCK_MONOTONIC(_COARSE): refreshed on release and waits */
    char pad0[FX_LINE - 2 * 8];
    /* line 1: membership and metadata, written rarely */
    uint64_t member;               /* state (low 32 bits) | generation (high 32 bits) */
    uint32_t wait_strategy;        /* FX_WAIT_* */
    uint32_t waiting;              /* FX_WAITING_*: the futex word it sleeps on, if any */
    uint64_t depends_mask;         /* bit i: gates on consumer i; 0: gates on the cursor */
    int64_t pid;
    uint64_t start_time;
    int64_t attached_ns;           /* CLOCK_REALTIME */
    uint64_t waits;                /* times it found nothing to read and waited */
    char name[FX_CONSUMER_NAME_LEN];
    char pad1[FX_LINE - 7 * 8 - FX_CONSUMER_NAME_LEN];
} fx_consumer_entry;

typedef struct {
    fx_ring_identity id;
    fx_padded_seq cursor;
    fx_padded_seq gating_cache;
    fx_ring_futex futex;
    fx_producer_stats producer;
    fx_consumer_entry consumers[FX_RING_MAX_CONSUMERS];
} fx_ring_header;

_Static_assert(sizeof(fx_ring_identity) == FX_LINE, "identity is one line");
_Static_assert(sizeof(fx_consumer_entry) == 2 * FX_LINE, "consumer entry is two lines");
_Static_assert(offsetof(fx_consumer_entry, member) == FX_LINE, "membership starts the second line");
_Static_assert(offsetof(fx_ring_header, cursor) == 128, "cursor at 128");
_Static_assert(offsetof(fx_ring_header, consumers) == 640, "consumers at 640");
_Static_assert(sizeof(fx_ring_header) == 640 + FX_RING_MAX_CONSUMERS * 256, "header size");

static inline uint32_t fx_member_state(uint64_t m) { return (uint32_t)m; }
static inline uint32_t fx_member_gen(uint64_t m) { return (uint32_t)(m >> 32); }
static inline uint64_t fx_member(uint32_t state, uint32_t gen) { return ((uint64_t)gen << 32) | state; }
/* Declared, attached and joining entries hold back the producer (and their dependents). */
static inline int fx_state_gates(uint32_t st) {
    return st == FX_CONSUMER_DECLARED || st == FX_CONSUMER_ATTACHED || st == FX_CONSUMER_JOINING;
}

/* offsetof for Python: the layout test compares these with the Python mirror. */
#define FX_RING_N_OFFSETS 33
static const size_t fx_ring_offsets[FX_RING_N_OFFSETS] = {
    offsetof(fx_ring_header, id.magic), offsetof(fx_ring_header, id.layout_version),
    offsetof(fx_ring_header, id.slot_size), offsetof(fx_ring_header, id.slot_count),
    offsetof(fx_ring_header, id.producer_mode), offsetof(fx_ring_header, id.max_consumers),
    offsetof(fx_ring_header, id.creator_pid), offsetof(fx_ring_header, id.creator_start_time),
    offsetof(fx_ring_header, id.created_ns), offsetof(fx_ring_header, id.flags),
    offsetof(fx_ring_header, id.state), offsetof(fx_ring_header, id.avail_offset),
    offsetof(fx_ring_header, id.slots_offset), offsetof(fx_ring_header, id.total_size),
    offsetof(fx_ring_header, id.name), offsetof(fx_ring_header, cursor),
    offsetof(fx_ring_header, gating_cache), offsetof(fx_ring_header, futex),
    offsetof(fx_ring_header, producer), offsetof(fx_ring_header, producer.waiting),
    offsetof(fx_ring_header, producer.waiters_recovered), offsetof(fx_ring_header, consumers),
    sizeof(fx_consumer_entry), offsetof(fx_consumer_entry, heartbeat_ns),
    offsetof(fx_consumer_entry, member), offsetof(fx_consumer_entry, wait_strategy),
    offsetof(fx_consumer_entry, waiting), offsetof(fx_consumer_entry, depends_mask),
    offsetof(fx_consumer_entry, pid), offsetof(fx_consumer_entry, start_time),
    offsetof(fx_consumer_entry, waits), offsetof(fx_consumer_entry, name),
    sizeof(fx_ring_header),
};
#endif
