/* The physical limit of fxpipe's ring benchmark: what two processes pinned to two cores can
 * do over shared memory in plain C, with nothing between them but the cache-coherence
 * protocol.
 *
 *   latency:    ping writes a sequence number to line A and spins until pong echoes it on
 *               line B (each 64-byte event is one cache line); one clock read per round trip.
 *               Events of more than 64 bytes (EVENT_BYTES) are copied in and out on both
 *               sides, the sequence number stored last in their first line, the waiting side
 *               asking for the other lines as it polls the first: the least that moving such
 *               an event between two cores takes.
 *   ring-latency: the same round trip over two minimal rings of fxpipe's protocol (a 64-byte
 *               slot, then the producer's cursor on a line of its own; the consumer polls the
 *               cursor, asking for the slot's line in the same step, copies the slot and
 *               releases on a line of its own): what that protocol costs in plain C, with none
 *               of fxpipe's membership, liveness or wait-strategy checks.
 *   throughput: a minimal single-producer single-consumer ring of 64-byte slots (the
 *               producer and consumer indices on their own 128-byte lines, each side keeping
 *               a cached copy of the other's), per event (publish and release each event) or
 *               in batches (publish 64, release all that was available).
 *
 * Usage (compiled by bench/ring.py with `cc -O2` into bench/out/):
 *   pingpong latency      CORE_A CORE_B DURATION_MS MAX_SAMPLES OUT_FILE [EVENT_BYTES]
 *   pingpong ring-latency CORE_A CORE_B DURATION_MS MAX_SAMPLES OUT_FILE [EVENT_BYTES]
 * EVENT_BYTES: 64 (default), 128, 192 or 256.
 *   pingpong throughput   CORE_A CORE_B DURATION_MS BATCH
 * Prints one JSON line; latency samples (int64 nanoseconds) go to OUT_FILE.
 * Spins with the pause hint, as fxpipe's busy-spin wait does, so the two compare like for like.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#define LINE 128                  /* x86 prefetches line pairs: keep hot words 128 bytes apart */
#define EVENT 64
#define RING_SLOTS 1024           /* power of two; as many as the fxpipe ring in the bench */
#define MARKS (1 << 16)           /* consumer progress marks, one per 4096 events */
#define WINDOW_NS 20000000LL      /* span of the best-window rate */

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A cheap clock for the hot loop: the TSC where there is one, else CLOCK_MONOTONIC. */
static inline uint64_t ticks(void) {
#if defined(__x86_64__) || defined(__i386__)
    return __rdtsc();
#else
    return (uint64_t)now_ns();
#endif
}

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Ticks per nanosecond, measured against CLOCK_MONOTONIC over about 50 ms. */
static double calibrate(void) {
    int64_t t0 = now_ns();
    uint64_t k0 = ticks();
    while (now_ns() - t0 < 50000000LL)
        ;
    int64_t t1 = now_ns();
    uint64_t k1 = ticks();
    return (double)(k1 - k0) / (double)(t1 - t0);
}

/* Nanoseconds this process has been on a CPU (/proc/self/schedstat); -1 when unknown.
 * On-CPU time over wall time is the share of its core it got: below 1 means preempted. */
static int64_t on_cpu_ns(void) {
    long long run = -1;
    FILE *f = fopen("/proc/self/schedstat", "r");
    if (f) {
        if (fscanf(f, "%lld", &run) != 1) run = -1;
        fclose(f);
    }
    return run;
}

static double share(int64_t cpu0, int64_t cpu1, int64_t wall0, int64_t wall1) {
    if (cpu0 < 0 || cpu1 < 0 || wall1 <= wall0) return -1.0;
    return (double)(cpu1 - cpu0) / (double)(wall1 - wall0);
}

static void pin(int core) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(core, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
        fprintf(stderr, "pingpong: cannot pin to core %d: %s\n", core, strerror(errno));
        exit(2);
    }
}

static void *shared(size_t size) {
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("pingpong: mmap");
        exit(2);
    }
    memset(p, 0, size);
    return p;
}

/* The second process: dies with its parent, so an interrupted bench leaves nothing behind. */
static pid_t spawn(int core) {
    pid_t pid = fork();
    if (pid < 0) {
        perror("pingpong: fork");
        exit(2);
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        pin(core);
    }
    return pid;
}

static int reap(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 3;
}

/* The round trips, ticks converted to nanoseconds, as raw int64 to OUT_FILE. */
static int write_samples(const char *out, int64_t *samples, int64_t n, double tpn) {
    FILE *f = fopen(out, "wb");
    if (!f) { perror(out); return -1; }
    for (int64_t i = 0; i < n; i++)
        samples[i] = (int64_t)((double)samples[i] / tpn + 0.5);
    size_t wrote = fwrite(samples, sizeof(int64_t), (size_t)n, f);
    if (fclose(f) != 0 || wrote != (size_t)n) { perror(out); return -1; }
    return 0;
}

/* --- latency: one cache line each way ------------------------------------------------------ */

#define MAX_EVENT 256
typedef struct { int64_t seq; char rest[EVENT - 8]; } event_t;
typedef struct { int64_t seq; char rest[MAX_EVENT - 8]; } big_event_t;

/* A constant size per case, so each copy is a few vector moves (as fxpipe's loops copy). */
static inline void copy_event(void *dst, const void *src, int bytes) {
    switch (bytes) {
    case 64: memcpy(dst, src, 64); break;
    case 128: memcpy(dst, src, 128); break;
    case 192: memcpy(dst, src, 192); break;
    default: memcpy(dst, src, 256); break;
    }
}

/* An event of more than one line: ask for its other lines while waiting on the first, so they
 * come with it rather than after it (as fxpipe's consumer does with its slot). */
static inline void prefetch_rest(const big_event_t *ev, int bytes) {
    for (int k = 64; k < bytes; k += 64)
        __builtin_prefetch((const char *)ev + k, 0, 3);
}

typedef struct {
    _Alignas(LINE) big_event_t ping;  /* written by ping, read by pong */
    _Alignas(LINE) big_event_t pong;  /* written by pong, read by ping */
    _Alignas(LINE) int64_t ready;
    double pong_cpu_share;
} pingpong_t;

static int latency(int core_a, int core_b, int64_t duration_ms, int64_t max_samples, const char *out, int bytes) {
    const int copy = bytes > EVENT;                 /* 64 bytes: the sequence number alone, as ever */
    pingpong_t *pp = shared(sizeof(pingpong_t));
    __atomic_store_n(&pp->ping.seq, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&pp->pong.seq, 0, __ATOMIC_RELAXED);
    pid_t pid = spawn(core_b);
    if (pid == 0) {                                  /* pong: echo until seq -1 */
        int64_t expect = 1, cpu0 = on_cpu_ns(), wall0 = now_ns();
        big_event_t ev;
        __atomic_store_n(&pp->ready, 1, __ATOMIC_RELEASE);
        for (;;) {
            int64_t s;
            while ((s = __atomic_load_n(&pp->ping.seq, __ATOMIC_ACQUIRE)) != expect && s != -1) {
                if (copy) prefetch_rest(&pp->ping, bytes);
                relax();
            }
            if (copy) {                              /* the event in, then out: the sequence last */
                copy_event(&ev, &pp->ping, bytes);
                memcpy(pp->pong.rest, ev.rest, (size_t)bytes - 8);
            }
            if (s == -1) {
                pp->pong_cpu_share = share(cpu0, on_cpu_ns(), wall0, now_ns());
                __atomic_store_n(&pp->pong.seq, s, __ATOMIC_RELEASE);
                _exit(0);
            }
            __atomic_store_n(&pp->pong.seq, s, __ATOMIC_RELEASE);
            expect++;
        }
    }
    pin(core_a);
    /* Allocated after the fork (else every page is copy-on-write) and faulted in now: the
     * store of sample i falls inside round trip i+1, and a page fault there would show up as
     * a 1-2 us round trip every 512 samples. Not zero: the compiler turns malloc + memset(0)
     * into calloc, which touches nothing. */
    int64_t *samples = malloc(sizeof(int64_t) * (size_t)max_samples);
    if (!samples) { fprintf(stderr, "pingpong: out of memory\n"); kill(pid, SIGKILL); reap(pid); return 2; }
    memset(samples, 0xff, sizeof(int64_t) * (size_t)max_samples);
    while (!__atomic_load_n(&pp->ready, __ATOMIC_ACQUIRE))
        relax();
    double tpn = calibrate();
    int64_t cpu0 = on_cpu_ns(), wall0 = now_ns();
    uint64_t deadline = ticks() + (uint64_t)(duration_ms * 1e6 * tpn);
    int64_t n = 0;
    uint64_t prev = ticks();
    big_event_t ev, echo;
    memset(&ev, 0, sizeof ev);
    for (int64_t i = 1; n < max_samples; i++) {
        if (copy) memcpy(pp->ping.rest, ev.rest, (size_t)bytes - 8);
        __atomic_store_n(&pp->ping.seq, i, __ATOMIC_RELEASE);
        while (__atomic_load_n(&pp->pong.seq, __ATOMIC_ACQUIRE) != i) {
            if (copy) prefetch_rest(&pp->pong, bytes);
            relax();
        }
        if (copy) { copy_event(&echo, &pp->pong, bytes); ev.rest[0] = echo.rest[0]; }
        uint64_t t = ticks();
        samples[n++] = (int64_t)(t - prev);
        prev = t;
        if (t > deadline) break;
    }
    double ping_share = share(cpu0, on_cpu_ns(), wall0, now_ns());
    __atomic_store_n(&pp->ping.seq, -1, __ATOMIC_RELEASE);
    int rc = reap(pid);
    if (write_samples(out, samples, n, tpn) != 0) return 2;
    printf("{\"mode\": \"latency\", \"samples\": %lld, \"ticks_per_ns\": %.6f, \"pong_rc\": %d, "
           "\"cpu_share\": %.3f}\n", (long long)n, tpn, rc,
           ping_share < pp->pong_cpu_share ? ping_share : pp->pong_cpu_share);
    return rc;
}

/* --- throughput: a minimal SPSC ring ---------------------------------------------------------- */

typedef struct {
    _Alignas(LINE) int64_t head;      /* next sequence the producer will publish (producer writes) */
    _Alignas(LINE) int64_t tail;      /* next sequence the consumer will read (consumer writes) */
    _Alignas(LINE) int64_t stop;
    _Alignas(LINE) int64_t ready;
    _Alignas(LINE) int64_t consumed;  /* result: events read, and when the last one was read */
    int64_t end_ns;
    int64_t errors;
    double consumer_cpu_share;
    int64_t marks;
    int64_t mark_ns[MARKS];           /* when the consumer had read mark_count[i] events */
    int64_t mark_count[MARKS];
    _Alignas(4096) event_t slots[RING_SLOTS];
} spsc_t;

static const char *best_text(double best) {
    static char buf[32];
    if (best < 0) return "null";
    snprintf(buf, sizeof buf, "%.4f", best);
    return buf;
}

static int throughput(int core_a, int core_b, int64_t duration_ms, int64_t batch) {
    const int64_t mask = RING_SLOTS - 1;
    spsc_t *r = shared(sizeof(spsc_t));
    if (batch < 1 || batch > RING_SLOTS) { fprintf(stderr, "pingpong: batch 1..%d\n", RING_SLOTS); return 2; }
    pid_t pid = spawn(core_b);
    if (pid == 0) {                                  /* consumer: read, check order, release */
        int64_t tail = 0, head_cache = 0, expect = 0, errors = 0, cpu0 = on_cpu_ns(), wall0 = now_ns();
        int64_t last_block = 0;
        __atomic_store_n(&r->ready, 1, __ATOMIC_RELEASE);
        for (;;) {
            if (tail == head_cache) {
                while ((head_cache = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE)) == tail)
                    relax();
            }
            /* Per event: release each event, as fxpipe's per-event consumer does; batched:
             * everything available, then one release. */
            int64_t end = batch == 1 ? tail + 1 : head_cache, done = 0;
            for (int64_t s = tail; s < end; s++) {
                int64_t v = r->slots[s & mask].seq;
                if (v == -1) { done = 1; end = s + 1; break; }
                errors += (v != expect);
                expect++;
            }
            tail = end;
            __atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
            if (done) break;
            if ((expect >> 12) != last_block && r->marks < MARKS) {
                last_block = expect >> 12;
                r->mark_ns[r->marks] = now_ns();
                r->mark_count[r->marks++] = expect;
            }
        }
        r->end_ns = now_ns();
        r->consumer_cpu_share = share(cpu0, on_cpu_ns(), wall0, r->end_ns);
        r->consumed = expect;
        r->errors = errors;
        _exit(0);
    }
    pin(core_a);
    while (!__atomic_load_n(&r->ready, __ATOMIC_ACQUIRE))
        relax();
    event_t ev;
    memset(&ev, 0, sizeof ev);
    int64_t head = 0, tail_cache = 0, seq = 0;
    int64_t cpu0 = on_cpu_ns();
    int64_t start = now_ns(), deadline = start + duration_ms * 1000000LL;
    for (;;) {
        int64_t n = batch;
        while (head + n - tail_cache > RING_SLOTS) {
            tail_cache = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
            if (head + n - tail_cache > RING_SLOTS) relax();
        }
        for (int64_t k = 0; k < n; k++) {
            ev.seq = seq++;
            memcpy(&r->slots[(head + k) & mask], &ev, sizeof ev);
        }
        head += n;
        __atomic_store_n(&r->head, head, __ATOMIC_RELEASE);
        if ((seq & 4095) < n && now_ns() > deadline) break;
    }
    while (head + 1 - tail_cache > RING_SLOTS)
        tail_cache = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
    ev.seq = -1;
    memcpy(&r->slots[head & mask], &ev, sizeof ev);
    __atomic_store_n(&r->head, head + 1, __ATOMIC_RELEASE);
    double producer_share = share(cpu0, on_cpu_ns(), start, now_ns());
    int rc = reap(pid);
    double cpu_share = producer_share < r->consumer_cpu_share ? producer_share : r->consumer_cpu_share;
    /* Best rate over any span of at least WINDOW_NS between marks: what the pair does while
     * neither process is preempted (the overall rate counts every preemption). */
    double best = -1.0;
    for (int64_t i = 0, j = 1; i < r->marks; i++) {
        if (j <= i) j = i + 1;
        while (j < r->marks && r->mark_ns[j] - r->mark_ns[i] < WINDOW_NS) j++;
        if (j >= r->marks) break;
        double rate = (double)(r->mark_count[j] - r->mark_count[i]) / (double)(r->mark_ns[j] - r->mark_ns[i]) * 1e3;
        if (rate > best) best = rate;
    }
    printf("{\"mode\": \"throughput\", \"batch\": %lld, \"sent\": %lld, \"received\": %lld, "
           "\"errors\": %lld, \"start_ns\": %lld, \"end_ns\": %lld, \"consumer_rc\": %d, "
           "\"cpu_share\": %.3f, \"best_window_mev_s\": %s}\n",
           (long long)batch, (long long)seq, (long long)r->consumed, (long long)r->errors,
           (long long)start, (long long)r->end_ns, rc, cpu_share, best_text(best));
    return rc;
}

/* --- ring-latency: the round trip over two minimal rings of fxpipe's protocol ------------------ */

typedef struct {
    _Alignas(LINE) int64_t cursor;    /* last published sequence (producer writes) */
    _Alignas(LINE) int64_t released;  /* last sequence the consumer is done with (consumer writes) */
    _Alignas(4096) char slots[RING_SLOTS * MAX_EVENT];
} mini_ring_t;

typedef struct {
    mini_ring_t ab, ba;
    _Alignas(LINE) int64_t ready;
    double pong_cpu_share;
} ring_pair_t;

typedef struct { mini_ring_t *r; int64_t next, released_cache; } mini_producer_t;
static int slot_bytes = EVENT;

static inline char *mini_slot(mini_ring_t *r, int64_t seq) {
    return r->slots + (seq & (RING_SLOTS - 1)) * slot_bytes;
}

static inline void mini_publish(mini_producer_t *p, const big_event_t *ev) {
    int64_t seq = ++p->next;
    while (seq - RING_SLOTS > p->released_cache) {   /* the gating check: once per lap */
        p->released_cache = __atomic_load_n(&p->r->released, __ATOMIC_ACQUIRE);
        if (seq - RING_SLOTS > p->released_cache) relax();
    }
    copy_event(mini_slot(p->r, seq), ev, slot_bytes);
    __atomic_store_n(&p->r->cursor, seq, __ATOMIC_RELEASE);
}

/* Wait for seq (or -1 on the stop word), copy its slot out. Release is the caller's. */
static inline int mini_receive(mini_ring_t *r, int64_t seq, big_event_t *out) {
    const char *slot = mini_slot(r, seq);
    while (__atomic_load_n(&r->cursor, __ATOMIC_ACQUIRE) < seq) {
        for (int k = 0; k < slot_bytes; k += 64)      /* every line of the slot, as fxpipe does */
            __builtin_prefetch(slot + k, 0, 3);
        relax();
    }
    copy_event(out, slot, slot_bytes);
    return out->seq != -1;
}

static int ring_latency(int core_a, int core_b, int64_t duration_ms, int64_t max_samples, const char *out, int bytes) {
    slot_bytes = bytes;
    ring_pair_t *rp = shared(sizeof(ring_pair_t));
    rp->ab.cursor = rp->ab.released = rp->ba.cursor = rp->ba.released = -1;
    pid_t pid = spawn(core_b);
    if (pid == 0) {                                  /* pong: forward each event, then release */
        mini_producer_t tx = {&rp->ba, -1, -1};
        int64_t cpu0 = on_cpu_ns(), wall0 = now_ns();
        big_event_t ev;
        __atomic_store_n(&rp->ready, 1, __ATOMIC_RELEASE);
        for (int64_t seq = 0;; seq++) {
            int more = mini_receive(&rp->ab, seq, &ev);
            mini_publish(&tx, &ev);
            __atomic_store_n(&rp->ab.released, seq, __ATOMIC_RELEASE);
            if (!more) break;
        }
        rp->pong_cpu_share = share(cpu0, on_cpu_ns(), wall0, now_ns());
        _exit(0);
    }
    pin(core_a);
    int64_t *samples = malloc(sizeof(int64_t) * (size_t)max_samples);   /* faulted in: see latency() */
    if (!samples) { fprintf(stderr, "pingpong: out of memory\n"); kill(pid, SIGKILL); reap(pid); return 2; }
    memset(samples, 0xff, sizeof(int64_t) * (size_t)max_samples);
    while (!__atomic_load_n(&rp->ready, __ATOMIC_ACQUIRE))
        relax();
    mini_producer_t tx = {&rp->ab, -1, -1};
    big_event_t ev, echo;
    memset(&ev, 0, sizeof ev);
    double tpn = calibrate();
    int64_t cpu0 = on_cpu_ns(), wall0 = now_ns(), n = 0, errors = 0, seq = 0;
    uint64_t deadline = ticks() + (uint64_t)(duration_ms * 1e6 * tpn);
    uint64_t prev = ticks();
    for (; n < max_samples; seq++) {
        ev.seq = seq;
        mini_publish(&tx, &ev);
        mini_receive(&rp->ba, seq, &echo);
        __atomic_store_n(&rp->ba.released, seq, __ATOMIC_RELEASE);
        errors += (echo.seq != seq);
        uint64_t t = ticks();
        samples[n++] = (int64_t)(t - prev);
        prev = t;
        if (t > deadline) { seq++; break; }
    }
    double ping_share = share(cpu0, on_cpu_ns(), wall0, now_ns());
    ev.seq = -1;                                     /* stop: pong forwards it and leaves */
    mini_publish(&tx, &ev);
    mini_receive(&rp->ba, seq, &echo);
    int rc = reap(pid);
    if (write_samples(out, samples, n, tpn) != 0) return 2;
    printf("{\"mode\": \"ring-latency\", \"samples\": %lld, \"ticks_per_ns\": %.6f, \"pong_rc\": %d, "
           "\"errors\": %lld, \"cpu_share\": %.3f}\n", (long long)n, tpn, rc, (long long)errors,
           ping_share < rp->pong_cpu_share ? ping_share : rp->pong_cpu_share);
    return rc;
}

static int event_bytes(int argc, char **argv) {
    int bytes = argc == 8 ? atoi(argv[7]) : EVENT;
    if (bytes != 64 && bytes != 128 && bytes != 192 && bytes != 256) {
        fprintf(stderr, "pingpong: EVENT_BYTES is 64, 128, 192 or 256, not %s\n", argv[7]);
        exit(2);
    }
    return bytes;
}

int main(int argc, char **argv) {
    if ((argc == 7 || argc == 8) && strcmp(argv[1], "latency") == 0)
        return latency(atoi(argv[2]), atoi(argv[3]), atoll(argv[4]), atoll(argv[5]), argv[6], event_bytes(argc, argv));
    if ((argc == 7 || argc == 8) && strcmp(argv[1], "ring-latency") == 0)
        return ring_latency(atoi(argv[2]), atoi(argv[3]), atoll(argv[4]), atoll(argv[5]), argv[6],
                            event_bytes(argc, argv));
    if (argc == 6 && strcmp(argv[1], "throughput") == 0)
        return throughput(atoi(argv[2]), atoi(argv[3]), atoll(argv[4]), atoll(argv[5]));
    fprintf(stderr, "usage: pingpong latency      CORE_A CORE_B DURATION_MS MAX_SAMPLES OUT_FILE [EVENT_BYTES]\n"
                    "       pingpong ring-latency CORE_A CORE_B DURATION_MS MAX_SAMPLES OUT_FILE [EVENT_BYTES]\n"
                    "       pingpong throughput   CORE_A CORE_B DURATION_MS BATCH\n");
    return 2;
}
