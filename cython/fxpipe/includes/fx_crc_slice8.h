/* Slicing-by-8 table CRC for a reflected 32-bit polynomial: the portable path of both of
 * fxpipe's checksums (CRC-32C of the journal, fxpipe/journal/crc32c.h; zlib's CRC-32 of the
 * FIX store, fx_crc32.h), and the tail after their hardware paths. The state is the raw
 * (pre-inverted) register; little-endian hosts only, as both formats are. */
#ifndef FXPIPE_CRC_SLICE8_H
#define FXPIPE_CRC_SLICE8_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static void fx_crc_slice8_build(uint32_t table[8][256], uint32_t poly) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (poly & (0u - (c & 1u)));
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = table[0][i];
        for (int t = 1; t < 8; t++) {
            c = table[0][c & 0xFF] ^ (c >> 8);
            table[t][i] = c;
        }
    }
}

static inline uint32_t fx_crc_slice8(uint32_t table[8][256], uint32_t crc, const unsigned char *p, size_t n) {
    while (n && ((uintptr_t)p & 7)) {
        crc = table[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
        n--;
    }
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        uint32_t lo = (uint32_t)w ^ crc, hi = (uint32_t)(w >> 32);
        crc = table[7][lo & 0xFF] ^ table[6][(lo >> 8) & 0xFF] ^ table[5][(lo >> 16) & 0xFF] ^ table[4][lo >> 24] ^
              table[3][hi & 0xFF] ^ table[2][(hi >> 8) & 0xFF] ^ table[1][(hi >> 16) & 0xFF] ^ table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--) crc = table[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return crc;
}

#endif
