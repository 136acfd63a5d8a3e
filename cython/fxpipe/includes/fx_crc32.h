/* CRC-32 as zlib computes it (reflected polynomial 0xEDB88320, zlib.crc32's numbers), the
 * checksum of every FIX store record: on the order path once per message sent.
 *
 * Two implementations behind one entry point: carry-less multiplication (PCLMULQDQ) folding
 * 16 bytes a step, with the constants of Intel's "Fast CRC Computation for Generic Polynomials
 * Using PCLMULQDQ Instruction" for this polynomial, and a slicing-by-8 table for the rest of a
 * buffer and for CPUs without the instruction. A byte-at-a-time table walk costs a dependent
 * load per byte (~0.4 us for an order's ~240 bytes); the fold does the bulk in a few dozen
 * instructions. The build is portable, so the folding path is compiled with a target attribute
 * and chosen at run time by fx_crc32_init(), which must run once before the first checksum (the
 * module init does it). Both paths give identical results; tests compare them with zlib.
 */
#ifndef FXPIPE_CRC32_H
#define FXPIPE_CRC32_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fx_crc_slice8.h"

#if defined(__x86_64__)
#define FX_CRC32_X86 1
#include <immintrin.h>
#endif

static uint32_t fx_crc32_table[8][256];
static int fx_crc32_fold = 0;      /* 1 when the PCLMULQDQ path is in use */

static void fx_crc32_build_table(void) { fx_crc_slice8_build(fx_crc32_table, 0xEDB88320u); }

/* state is the running register (already inverted); returns the register */
static inline uint32_t fx_crc32_sliced(uint32_t c, const uint8_t *p, size_t n) {
    return fx_crc_slice8(fx_crc32_table, c, p, n);
}

#ifdef FX_CRC32_X86
/* The register over n bytes, n >= 64 and a multiple of 16; c is the register (inverted). */
__attribute__((target("pclmul,sse4.1")))
static uint32_t fx_crc32_folded(uint32_t c, const uint8_t *p, size_t n) {
    /* bit-reflected fold constants (x^(4*128+32), x^(4*128-32) mod P, ...) and the Barrett pair */
    const __m128i k1k2 = _mm_set_epi64x(0x01c6e41596LL, 0x0154442bd4LL);
    const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009eLL, 0x01751997d0LL);
    const __m128i k5 = _mm_set_epi64x(0, 0x0163cd6124LL);
    const __m128i poly = _mm_set_epi64x(0x01f7011641LL, 0x01db710641LL);
    const __m128i low32 = _mm_setr_epi32(~0, 0, ~0, 0);
    __m128i x0, x1, x2, x3, x4, x5, x6, x7, x8;

    x1 = _mm_loadu_si128((const __m128i *)(p + 0x00));
    x2 = _mm_loadu_si128((const __m128i *)(p + 0x10));
    x3 = _mm_loadu_si128((const __m128i *)(p + 0x20));
    x4 = _mm_loadu_si128((const __m128i *)(p + 0x30));
    x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128((int)c));
    p += 64;
    n -= 64;

    while (n >= 64) {                    /* four lanes folded 64 bytes ahead */
        x5 = _mm_clmulepi64_si128(x1, k1k2, 0x00);
        x6 = _mm_clmulepi64_si128(x2, k1k2, 0x00);
        x7 = _mm_clmulepi64_si128(x3, k1k2, 0x00);
        x8 = _mm_clmulepi64_si128(x4, k1k2, 0x00);
        x1 = _mm_clmulepi64_si128(x1, k1k2, 0x11);
        x2 = _mm_clmulepi64_si128(x2, k1k2, 0x11);
        x3 = _mm_clmulepi64_si128(x3, k1k2, 0x11);
        x4 = _mm_clmulepi64_si128(x4, k1k2, 0x11);
        x1 = _mm_xor_si128(_mm_xor_si128(x1, x5), _mm_loadu_si128((const __m128i *)(p + 0x00)));
        x2 = _mm_xor_si128(_mm_xor_si128(x2, x6), _mm_loadu_si128((const __m128i *)(p + 0x10)));
        x3 = _mm_xor_si128(_mm_xor_si128(x3, x7), _mm_loadu_si128((const __m128i *)(p + 0x20)));
        x4 = _mm_xor_si128(_mm_xor_si128(x4, x8), _mm_loadu_si128((const __m128i *)(p + 0x30)));
        p += 64;
        n -= 64;
    }

    /* the four lanes into one, 16 bytes apart */
    x5 = _mm_clmulepi64_si128(x1, k3k4, 0x00);
    x1 = _mm_clmulepi64_si128(x1, k3k4, 0x11);
    x1 = _mm_xor_si128(_mm_xor_si128(x1, x2), x5);
    x5 = _mm_clmulepi64_si128(x1, k3k4, 0x00);
    x1 = _mm_clmulepi64_si128(x1, k3k4, 0x11);
    x1 = _mm_xor_si128(_mm_xor_si128(x1, x3), x5);
    x5 = _mm_clmulepi64_si128(x1, k3k4, 0x00);
    x1 = _mm_clmulepi64_si128(x1, k3k4, 0x11);
    x1 = _mm_xor_si128(_mm_xor_si128(x1, x4), x5);

    while (n >= 16) {                    /* the rest, 16 bytes a step */
        x2 = _mm_loadu_si128((const __m128i *)p);
        x5 = _mm_clmulepi64_si128(x1, k3k4, 0x00);
        x1 = _mm_clmulepi64_si128(x1, k3k4, 0x11);
        x1 = _mm_xor_si128(_mm_xor_si128(x1, x2), x5);
        p += 16;
        n -= 16;
    }

    /* 128 bits to 64 */
    x2 = _mm_clmulepi64_si128(x1, k3k4, 0x10);
    x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), x2);
    x2 = _mm_srli_si128(x1, 4);
    x1 = _mm_and_si128(x1, low32);
    x1 = _mm_clmulepi64_si128(x1, k5, 0x00);
    x1 = _mm_xor_si128(x1, x2);

    /* Barrett reduction to 32 bits */
    x2 = _mm_and_si128(x1, low32);
    x2 = _mm_clmulepi64_si128(x2, poly, 0x10);
    x2 = _mm_and_si128(x2, low32);
    x2 = _mm_clmulepi64_si128(x2, poly, 0x00);
    x1 = _mm_xor_si128(x1, x2);
    x0 = x1;
    return (uint32_t)_mm_extract_epi32(x0, 1);
}
#endif

static void fx_crc32_init(void) {
    fx_crc32_build_table();
#ifdef FX_CRC32_X86
    __builtin_cpu_init();
    fx_crc32_fold = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
#endif
}

/* zlib.crc32(buf, crc): crc is a previous result (0 to start) */
static inline uint32_t fx_crc32(uint32_t crc, const uint8_t *p, size_t n) {
    uint32_t c = ~crc;
#ifdef FX_CRC32_X86
    if (fx_crc32_fold && n >= 64) {
        size_t bulk = n & ~(size_t)15;
        c = fx_crc32_folded(c, p, bulk);
        p += bulk;
        n -= bulk;
    }
#endif
    return ~fx_crc32_sliced(c, p, n);
}

/* the table path alone (the tests hold the two paths to the same numbers) */
static inline uint32_t fx_crc32_table_only(uint32_t crc, const uint8_t *p, size_t n) {
    return ~fx_crc32_sliced(~crc, p, n);
}

static inline int fx_crc32_folding(void) { return fx_crc32_fold; }

#endif
