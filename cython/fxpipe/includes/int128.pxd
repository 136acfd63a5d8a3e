# 128-bit integer types from fx_int128.h. Cython believes they are long long; the C compiler
# knows better. So: never let a value of these types reach a Python object (Cython would
# convert it as a 64-bit long long); split it with >> 64 and a uint64_t cast instead, and
# cast an operand to fx_int128 before multiplying so the product is computed in 128 bits.
cdef extern from "fx_int128.h":
    ctypedef long long fx_int128
    ctypedef unsigned long long fx_uint128
    fx_int128 FX_INT128_MAX
    fx_int128 FX_INT128_MIN
