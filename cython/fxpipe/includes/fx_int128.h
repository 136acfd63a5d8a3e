/* 128-bit integers for exact money arithmetic (fxpipe.model.numbers).
 *
 * price_e8 * qty_e2 needs up to 126 bits, so notional and PnL are computed in __int128 and
 * only the rounded result comes back to int64. GCC and Clang provide __int128 on every 64-bit
 * target fxpipe runs on; anything else fails here at build time rather than silently losing
 * bits. Cython sees fx_int128 through a typedef declared in int128.pxd.
 */
#ifndef FXPIPE_FX_INT128_H
#define FXPIPE_FX_INT128_H

#include <stdint.h>

#if !defined(__SIZEOF_INT128__)
#error "fxpipe needs a compiler with __int128 (GCC or Clang on a 64-bit target)"
#endif

typedef __int128 fx_int128;
typedef unsigned __int128 fx_uint128;

/* Two's complement bounds; the unsigned-to-signed conversion is defined by GCC and Clang. */
#define FX_INT128_MAX ((fx_int128)(((fx_uint128)1 << 127) - 1))
#define FX_INT128_MIN ((fx_int128)((fx_uint128)1 << 127))

#endif
