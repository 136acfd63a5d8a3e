/* Little-endian loads and stores at any alignment, for the binary feed codec.
 * memcpy of a constant size compiles to one mov on x86-64 and arm64; a big-endian host
 * would need byte swaps, which fxpipe does not target, so it is refused at build time. */
#ifndef FXPIPE_FEED_LE_H
#define FXPIPE_FEED_LE_H
#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "fxpipe's binary feed codec assumes a little-endian host"
#endif

static inline uint16_t le_u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t le_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t le_u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline int64_t le_i64(const uint8_t *p) { int64_t v; memcpy(&v, p, 8); return v; }
static inline void le_put_u16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void le_put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void le_put_u64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline void le_put_i64(uint8_t *p, int64_t v) { memcpy(p, &v, 8); }
#endif
