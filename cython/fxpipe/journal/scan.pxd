from libc.stdint cimport uint64_t

from fxpipe.journal.layout cimport RecordEntry


cdef int check_record(const unsigned char *base, uint64_t pos, uint64_t end, uint64_t expect_seq,
                      bint verify_crc, bint check_seq) noexcept nogil
