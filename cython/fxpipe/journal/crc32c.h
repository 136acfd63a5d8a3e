/* CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every journal record.
 *
 * Two implementations behind one entry point: the SSE4.2 `crc32` instruction (8 bytes per
 * instruction) and a slicing-by-8 table for CPUs without it. The build is portable (no -msse4.2),
 * so the hardware path is compiled with a target attribute and chosen at run time by
 * fxj_crc32c_init(), which must run once before the first checksum (the module init does it).
 * Both paths give identical results; tests compare them and check the standard test vector
 * crc32c("123456789") == 0xE3069283.
 */
#ifndef FXPIPE_JOURNAL_CRC32C_H
#define FXPIPE_JOURNAL_CRC32C_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fx_crc_slice8.h"

#if defined(__x86_64__) || defined(__i386__)
#define FXJ_CRC_X86 1
#include <nmmintrin.h>
#endif

static uint32_t fxj_crc_table[8][256];
static int fxj_crc_hw = 0;        /* 1 when the SSE4.2 path is in use */
static int fxj_crc_ready = 0;

static void fxj_crc32c_build_table(void) { fx_crc_slice8_build(fxj_crc_table, 0x82F63B78u); }

/* Table path: slicing-by-8 over the raw (pre-inverted) state. */
static uint32_t fxj_crc32c_sw_update(uint32_t crc, const unsigned char *p, size_t n) {
    return fx_crc_slice8(fxj_crc_table, crc, p, n);
}

#ifdef FXJ_CRC_X86
__attribute__((target("sse4.2")))
static uint32_t fxj_crc32c_hw_update(uint32_t crc, const unsigned char *p, size_t n) {
#if defined(__x86_64__)
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
        p += 8;
        n -= 8;
    }
    crc = (uint32_t)c;
#endif
    if (n >= 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        crc = _mm_crc32_u32(crc, w);
        p += 4;
        n -= 4;
    }
    while (n--) crc = _mm_crc32_u8(crc, *p++);
    return crc;
}
#endif

/* Picks the implementation for this CPU. force_table=1, or FXPIPE_CRC32C=table in the
 * environment, selects the table path (to test and measure the fallback end to end). */
static int fxj_crc32c_init(int force_table) {
    const char *env = getenv("FXPIPE_CRC32C");
    if (env && strcmp(env, "table") == 0) force_table = 1;
    if (!fxj_crc_ready) {
        fxj_crc32c_build_table();
        fxj_crc_ready = 1;
    }
    fxj_crc_hw = 0;
#ifdef FXJ_CRC_X86
    if (!force_table) {
        __builtin_cpu_init();
        fxj_crc_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    }
#endif
    return fxj_crc_hw;
}

static inline uint32_t fxj_crc32c(const void *data, size_t n) {
    const unsigned char *p = (const unsigned char *)data;
#ifdef FXJ_CRC_X86
    if (fxj_crc_hw) return ~fxj_crc32c_hw_update(0xFFFFFFFFu, p, n);
#endif
    return ~fxj_crc32c_sw_update(0xFFFFFFFFu, p, n);
}

static inline uint32_t fxj_crc32c_table(const void *data, size_t n) {
    return ~fxj_crc32c_sw_update(0xFFFFFFFFu, (const unsigned char *)data, n);
}

#endif
