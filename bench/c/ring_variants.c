/* Where a ring hop's time goes: the round trip over two minimal single-producer rings of
 * fxpipe's protocol (the 64-byte slot, then the cursor on a line of its own) in plain C, with
 * one change at a time to how the lines move, against the one-line ping-pong. The evidence
 * behind the ring section of bench/RESULTS.md; bench/ring.py's `c-ring` is variant `prefetch`.
 *
 *   cc -O2 -o bench/out/ring_variants bench/c/ring_variants.c
 *   bench/out/ring_variants [ROUND_TRIPS [REPEATS]]     (defaults 100000, 5; cores 0 and 1)
 *
 * Each repeat runs every variant once, in turn, so drift on the host (where the hypervisor puts
 * the two vCPUs) weighs on all alike; prints the p50 round trip of each run in ns.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#define LINE 128
#define SLOTS 1024

enum {
    ONE_LINE = 1,          /* the limit: a sequence number in one line each way */
    ONE_LINE_COPY = 2,     /* the limit moving a whole 64-byte event, the sequence in its line */
    CONSUMER_PREFETCH = 4, /* the consumer asks for the slot's line in each poll (fxpipe) */
    CONSUMER_LOAD = 8,     /* ... with a demand load instead of a prefetch */
    CONSUMER_PREFETCHW = 16, /* ... with a prefetch for writing */
    PRODUCER_PREFETCHW = 32, /* the producer asks to own its next slot after each publish */
    SCATTERED = 64,        /* consecutive sequences in slots far apart (no prefetcher runs ahead) */
    NO_PAUSE = 128,        /* the poll without the pause hint */
};

static const struct { const char *name; int flags; } VARIANTS[] = {
    {"one-line", ONE_LINE},
    {"one-line-copy", ONE_LINE_COPY},
    {"plain", 0},
    {"prefetch", CONSUMER_PREFETCH},
    {"load", CONSUMER_LOAD},
    {"prefetchw", CONSUMER_PREFETCHW},
    {"producer-prefetchw", PRODUCER_PREFETCHW},
    {"prefetch+producer-prefetchw", CONSUMER_PREFETCH | PRODUCER_PREFETCHW},
    {"scattered", SCATTERED},
    {"prefetch-no-pause", CONSUMER_PREFETCH | NO_PAUSE},
};

typedef struct { int64_t seq; char rest[56]; } event_t;
typedef struct {
    _Alignas(LINE) int64_t cursor;
    _Alignas(LINE) int64_t released;
    _Alignas(4096) event_t slots[SLOTS];
} ring_t;
typedef struct { ring_t ab, ba; _Alignas(LINE) int64_t ready; } pair_t;

static int F;

static void pin(int core) {
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(core, &s);
    if (sched_setaffinity(0, sizeof s, &s) != 0) { perror("sched_setaffinity"); exit(2); }
}

static inline int64_t slot_of(int64_t seq) {
    return (F & SCATTERED) ? ((seq * 37) & (SLOTS - 1)) : (seq & (SLOTS - 1));
}

static int64_t released_seen[2] = {-1, -1};   /* per ring, this process's last look at it */

static inline void publish(ring_t *r, int ring, int64_t seq, const event_t *e) {
    /* The gating check reads the consumer's line once per lap, not per event (as fxpipe's
     * producer does): a read per event would move that line on every hop. */
    while (seq - SLOTS > released_seen[ring]) {
        released_seen[ring] = __atomic_load_n(&r->released, __ATOMIC_ACQUIRE);
        if (seq - SLOTS > released_seen[ring]) __builtin_ia32_pause();
    }
    memcpy(&r->slots[slot_of(seq)], e, sizeof *e);
    __atomic_store_n(&r->cursor, seq, __ATOMIC_RELEASE);
    if (F & PRODUCER_PREFETCHW) __builtin_prefetch(&r->slots[slot_of(seq + 1)], 1, 3);
}

static inline void receive(ring_t *r, int64_t seq, event_t *out) {
    event_t *slot = &r->slots[slot_of(seq)];
    while (__atomic_load_n(&r->cursor, __ATOMIC_ACQUIRE) < seq) {
        if (F & CONSUMER_PREFETCH) __builtin_prefetch(slot, 0, 3);
        if (F & CONSUMER_PREFETCHW) __builtin_prefetch(slot, 1, 3);
        if (F & CONSUMER_LOAD) (void)*(volatile int64_t *)slot;
        if (!(F & NO_PAUSE)) __builtin_ia32_pause();
    }
    memcpy(out, slot, sizeof *out);
    __atomic_store_n(&r->released, seq, __ATOMIC_RELEASE);
}

/* The one-line ping-pong: ONE_LINE_COPY copies the event in and out, the sequence stored last. */
static inline void line_send(event_t *line, int64_t seq, const event_t *e) {
    if (F & ONE_LINE_COPY) memcpy(line->rest, e->rest, sizeof e->rest);
    __atomic_store_n(&line->seq, seq, __ATOMIC_RELEASE);
}

static inline void line_receive(event_t *line, int64_t seq, event_t *out) {
    while (__atomic_load_n(&line->seq, __ATOMIC_ACQUIRE) != seq)
        __builtin_ia32_pause();
    if (F & ONE_LINE_COPY) memcpy(out, line, sizeof *out);
}

static int cmp(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double ticks_per_ns(void) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    uint64_t k0 = __rdtsc();
    do clock_gettime(CLOCK_MONOTONIC, &b);
    while ((b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec) < 50000000LL);
    return (double)(__rdtsc() - k0) / (double)((b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec));
}

static int64_t run(int flags, long n, int64_t *samples, double tpn) {
    F = flags;
    released_seen[0] = released_seen[1] = -1;
    pair_t *p = mmap(NULL, sizeof(pair_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); exit(2); }
    memset(p, 0, sizeof *p);
    p->ab.cursor = p->ba.cursor = p->ab.released = p->ba.released = -1;
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); exit(2); }
    if (pid == 0) {                               /* pong: echo every event back */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        pin(1);
        event_t e;
        __atomic_store_n(&p->ready, 1, __ATOMIC_RELEASE);
        for (long i = 0; i < n; i++) {
            if (F & (ONE_LINE | ONE_LINE_COPY)) {
                line_receive(&p->ab.slots[0], i + 1, &e);
                line_send(&p->ba.slots[0], i + 1, &e);
            } else {
                receive(&p->ab, i, &e);
                publish(&p->ba, 1, i, &e);
            }
        }
        _exit(0);
    }
    pin(0);
    while (!__atomic_load_n(&p->ready, __ATOMIC_ACQUIRE))
        __builtin_ia32_pause();
    event_t e, echo;
    memset(&e, 0, sizeof e);
    int64_t errors = 0;
    uint64_t prev = __rdtsc();
    for (long i = 0; i < n; i++) {
        e.seq = i;
        if (F & (ONE_LINE | ONE_LINE_COPY)) {
            line_send(&p->ab.slots[0], i + 1, &e);
            line_receive(&p->ba.slots[0], i + 1, &echo);
            errors += (F & ONE_LINE_COPY) && echo.seq != i + 1;
        } else {
            publish(&p->ab, 0, i, &e);
            receive(&p->ba, i, &echo);
            errors += echo.seq != i;
        }
        uint64_t t = __rdtsc();
        samples[i] = (int64_t)(t - prev);
        prev = t;
    }
    waitpid(pid, NULL, 0);
    munmap(p, sizeof *p);
    if (errors) { fprintf(stderr, "ring_variants: %lld echoes differed\n", (long long)errors); exit(1); }
    qsort(samples, (size_t)n, sizeof *samples, cmp);
    return (int64_t)((double)samples[n / 2] / tpn + 0.5);
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000;
    int repeats = argc > 2 ? atoi(argv[2]) : 5;
    if (n < 1 || repeats < 1) { fprintf(stderr, "usage: ring_variants [ROUND_TRIPS [REPEATS]]\n"); return 2; }
    int64_t *samples = malloc(sizeof(int64_t) * (size_t)n);
    if (!samples) { fprintf(stderr, "ring_variants: out of memory\n"); return 2; }
    memset(samples, 0xff, sizeof(int64_t) * (size_t)n);
    double tpn = ticks_per_ns();
    size_t nv = sizeof VARIANTS / sizeof VARIANTS[0];
    printf("round trip p50 (ns), %ld round trips per run, cores 0<->1\n", n);
    for (size_t v = 0; v < nv; v++) printf("%s%s", v ? "\t" : "", VARIANTS[v].name);
    printf("\n");
    for (int r = 0; r < repeats; r++) {
        for (size_t v = 0; v < nv; v++)
            printf("%s%lld", v ? "\t" : "", (long long)run(VARIANTS[v].flags, n, samples, tpn));
        printf("\n");
        fflush(stdout);
    }
    free(samples);
    return 0;
}
