# Little-endian unaligned loads and stores (feed_le.h) for the binary feed codec.
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t


cdef extern from "feed_le.h" nogil:
    uint16_t le_u16(const uint8_t* p)
    uint32_t le_u32(const uint8_t* p)
    uint64_t le_u64(const uint8_t* p)
    int64_t le_i64(const uint8_t* p)
    void le_put_u16(uint8_t* p, uint16_t v)
    void le_put_u32(uint8_t* p, uint32_t v)
    void le_put_u64(uint8_t* p, uint64_t v)
    void le_put_i64(uint8_t* p, int64_t v)
