# CRC32C as C functions for the journal's Cython modules. Each module that cimports this must
# call fxj_crc32c_init(0) once at import (the dispatch state lives in each translation unit).
from libc.stddef cimport size_t
from libc.stdint cimport uint32_t

cdef extern from "fxjournal.h" nogil:
    int fxj_crc32c_init(int force_table)
    uint32_t fxj_crc32c(const void *data, size_t n)
    uint32_t fxj_crc32c_table(const void *data, size_t n)
    int fxj_crc_hw
