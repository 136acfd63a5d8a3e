/* C helpers for the journal that Cython cannot express: ordered stores/loads of the commit
 * marker (GCC __atomic builtins) and a few tight byte loops. Included by the journal modules
 * next to this file; crc32c.h holds the checksum.
 */
#ifndef FXPIPE_JOURNAL_FXJOURNAL_H
#define FXPIPE_JOURNAL_FXJOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "crc32c.h"

/* The commit marker is stored last, with release order, so that a reader in another process
 * that loads it with acquire order sees every byte of the record before it. */
static inline void fxj_store_release_u32(uint32_t *p, uint32_t v) {
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline void fxj_store_release_u64(uint64_t *p, uint64_t v) {
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline uint32_t fxj_load_acquire_u32(const uint32_t *p) {
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* Offset one past the last non-zero byte in [start, end), or start when all are zero. */
static uint64_t fxj_last_nonzero(const unsigned char *base, uint64_t start, uint64_t end) {
    uint64_t i = end;
    while (i > start && ((i & 7) != 0)) {
        if (base[i - 1]) return i;
        i--;
    }
    while (i >= start + 8) {
        uint64_t w;
        memcpy(&w, base + i - 8, 8);
        if (w) break;
        i -= 8;
    }
    while (i > start) {
        if (base[i - 1]) return i;
        i--;
    }
    return start;
}

/* Zeros for preparing segment pages ahead of the writer with pwrite (see appender.pyx). */
#define FXJ_PREPARE_CHUNK (1u << 20)
static unsigned char fxj_zeros[FXJ_PREPARE_CHUNK];  /* bss: all zero, never written */

static inline int64_t fxj_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#endif
