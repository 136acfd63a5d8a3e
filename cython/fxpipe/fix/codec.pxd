# The Python face of the codec: FixMessage (a zero-copy view over the parsed bytes) and the
# group-entry view. Declared here so Cython code (the session layer) can reach the index.
from libc.stdint cimport uint32_t

from fxpipe.fix.scan cimport FixField, FixIndex

cdef enum:
    INLINE_FIELDS = 64       # fields held inside the message object; more go to the heap


cdef class FieldView:
    cdef object _owner           # keeps the bytes (and the field array) alive
    cdef const char* _buf
    cdef FixField* _fields
    cdef uint32_t _lo
    cdef uint32_t _hi
    cdef object _msg_type_str


cdef class FixMessage(FieldView):
    cdef FixIndex ix
    cdef FixField* _heap
    cdef FixField _inline[INLINE_FIELDS]

cdef FixMessage parse_bytes(bytes buf, Py_ssize_t start, Py_ssize_t end, bint validate)

# FixParseError for a failure code of scan/validate/direct decode (ix may be NULL).
cdef object fix_error(int code, const FixIndex* ix, Py_ssize_t offset)

# fix_parse_index over a Python bytes-like object into the caller's field storage, raising
# FixParseError on failure; returns the bytes ix points into (keep it referenced while reading ix).
cdef bytes fix_index_bytes(FixIndex* ix, FixField* fields, uint32_t cap, object raw, bint validate)
