# The FIX 4.2 data dictionary as C tables (built once at import from fxpipe.fix.spec42) and the
# validation walk over a FixIndex: field formats and enumerations, tags defined per message
# type, header/body/trailer order, duplicates, repeating groups and required fields.
from libc.stdint cimport int32_t, uint32_t, uint64_t

from fxpipe.fix.scan cimport FixIndex

cdef enum:
    MAX_TAG = 511            # FIX 4.2 defines tags 1..446; 5000+ are user-defined
    USER_DEFINED_TAG = 5000

cdef enum FieldType:
    FT_UNKNOWN = 0
    FT_STRING
    FT_CHAR
    FT_INT
    FT_UINT          # LENGTH and counts: non-negative
    FT_DAYOFMONTH
    FT_FLOAT         # FLOAT, PRICE, QTY, AMT, PRICEOFFSET
    FT_BOOLEAN
    FT_UTCTIMESTAMP
    FT_UTCTIMEONLY
    FT_DATE          # UTCDATE, LOCALMKTDATE
    FT_MONTHYEAR
    FT_DATA
    FT_MULTI         # MULTIPLEVALUESTRING: space-separated values

ctypedef struct TagSet:
    uint64_t bits[8]

cdef inline bint tagset_has(const TagSet* s, int32_t tag) noexcept nogil:
    return 0 < tag <= MAX_TAG and (s.bits[tag >> 6] >> (tag & 63)) & 1

cdef inline void tagset_add(TagSet* s, int32_t tag) noexcept nogil:
    if 0 < tag <= MAX_TAG:
        s.bits[tag >> 6] |= (<uint64_t>1) << (tag & 63)

cdef int fix_check_msg_type(FixIndex* ix) noexcept nogil
cdef int fix_validate(FixIndex* ix) noexcept nogil
cdef int fix_check_field(int32_t tag, const char* p, Py_ssize_t n) noexcept nogil

# scan + standard header + MsgType (+ the dictionary walk when validate): the one-call C parse.
# fields/cap are the caller's storage; returns 0 or a failure code (scan.pxd).
from fxpipe.fix.scan cimport FixField
cdef int fix_parse_index(FixIndex* ix, FixField* fields, uint32_t cap, const char* p, Py_ssize_t n,
                         bint validate) noexcept nogil
