/* The C boundary fxpipe's Cython core needs and cannot spell itself: GCC __atomic builtins
 * with the memory order named at each call, the x86 pause hint, futex on shared memory and
 * clock reads. Everything is static inline so it compiles into the caller's hot loop. */
#ifndef FX_ATOMIC_H
#define FX_ATOMIC_H

#include <stdint.h>
#include <time.h>
#include <errno.h>
#include <unistd.h>
#include <sched.h>
#include <signal.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <linux/futex.h>

static inline int64_t fx_load_acquire_i64(const int64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline int64_t fx_load_relaxed_i64(const int64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void fx_store_release_i64(int64_t *p, int64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline void fx_store_relaxed_i64(int64_t *p, int64_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
static inline int64_t fx_fetch_add_i64(int64_t *p, int64_t v) { return __atomic_fetch_add(p, v, __ATOMIC_ACQ_REL); }
static inline int fx_cas_i64(int64_t *p, int64_t expected, int64_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
static inline uint64_t fx_fetch_add_relaxed_u64(uint64_t *p, uint64_t v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
static inline uint64_t fx_load_relaxed_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline uint64_t fx_load_acquire_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void fx_store_release_u64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline int fx_cas_u64(uint64_t *p, uint64_t expected, uint64_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE);
}

static inline int32_t fx_load_acquire_i32(const int32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void fx_store_release_i32(int32_t *p, int32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline uint32_t fx_load_acquire_u32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline uint32_t fx_load_relaxed_u32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void fx_store_release_u32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline uint32_t fx_fetch_add_u32(uint32_t *p, uint32_t v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
static inline uint32_t fx_fetch_sub_u32(uint32_t *p, uint32_t v) { return __atomic_fetch_sub(p, v, __ATOMIC_SEQ_CST); }
static inline int fx_cas_u32(uint32_t *p, uint32_t expected, uint32_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
/* Orders a publish (store) before the load of a waiter count: the Dekker pattern that lets a
 * blocking consumer sleep without missing a wake-up. Only rings that allow blocking pay it. */
static inline void fx_fence_seq_cst(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
/* Orders the slot reads before it ahead of the membership load after it (the seqlock reader's
 * fence): a consumer that copied a slot and then still finds itself attached copied a slot the
 * producer had not reused. Free on x86 (a compiler barrier). */
static inline void fx_fence_acquire(void) { __atomic_thread_fence(__ATOMIC_ACQUIRE); }
/* Saturating decrement: a waiter count never wraps below zero, even after a recovery took a
 * dead waiter's registration back concurrently. */
static inline void fx_dec_sat_u32(uint32_t *p) {
    uint32_t v = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (v != 0 && !__atomic_compare_exchange_n(p, &v, v - 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {}
}

static inline void fx_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline int64_t fx_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
static inline int64_t fx_realtime_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
/* The tick-granular clock (vDSO, no TSC read): cheap enough for the release path's heartbeat. */
static inline int64_t fx_coarse_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
static inline void fx_sleep_ns(int64_t ns) {
    struct timespec ts = { (time_t)(ns / 1000000000LL), (long)(ns % 1000000000LL) };
    nanosleep(&ts, NULL);
}
static inline void fx_yield(void) { sched_yield(); }

/* Shared (not PRIVATE) futex: waiters and wakers live in different processes. */
static inline int fx_futex_wait(uint32_t *addr, uint32_t expected, int64_t timeout_ns) {
    struct timespec ts = { (time_t)(timeout_ns / 1000000000LL), (long)(timeout_ns % 1000000000LL) };
    return (int)syscall(SYS_futex, addr, FUTEX_WAIT, expected, &ts, NULL, 0);
}
static inline int fx_futex_wake_all(uint32_t *addr) {
    return (int)syscall(SYS_futex, addr, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* 1 when the process runs, 0 when it does not. Signal 0 probes without sending (EPERM: it
 * runs under another user); a zombie (exited, not yet reaped by its parent) counts as dead,
 * since it will never release anything again; with start_time != 0, a pid whose start time
 * (/proc/PID/stat field 22) differs is another process that reused the pid: dead. When /proc
 * cannot tell, the answer is "alive": liveness never declares a process dead on a guess.
 * Slow path only: it reads /proc. */
static inline int fx_process_alive(int64_t pid, uint64_t start_time) {
    char path[64], buf[512];
    int fd, field;
    ssize_t n;
    char *p;
    unsigned long long st = 0;
    if (pid <= 0 || pid > INT_MAX) return 0;
    if (kill((pid_t)pid, 0) != 0 && errno != EPERM) return 0;
    snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 1;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 1;
    buf[n] = 0;
    p = strrchr(buf, ')');
    if (!p || p[1] != ' ') return 1;
    if (p[2] == 'Z' || p[2] == 'X') return 0;
    if (start_time == 0) return 1;
    /* after ") ": field 3 (state) ... field 22 (starttime) is the 20th token */
    p += 2;
    for (field = 3; field < 22 && *p; field++) {
        while (*p && *p != ' ') p++;
        while (*p == ' ') p++;
    }
    if (field != 22 || !*p) return 1;
    while (*p >= '0' && *p <= '9') st = st * 10 + (unsigned long long)(*p++ - '0');
    return st == start_time;
}
#endif
