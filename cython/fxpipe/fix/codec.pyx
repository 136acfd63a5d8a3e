"""FIX 4.2 codec, Python API: frame a TCP stream (frame_length), parse a message into a
zero-copy FixMessage with typed accessors, and encode a message from (tag, value) pairs
(encode and Encoder come from fxpipe.fix.encoder and are re-exported here).

Every parse failure raises FixParseError carrying the SessionRejectReason a Reject needs (or a
GarbleReason code when FIX says to drop the message), the tag and the MsgSeqNum it refers to.
The C-level API for Cython callers is in scan.pxd, dictionary.pxd and encoder.pxd.
"""
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int32_t, int64_t, uint32_t
from libc.string cimport memchr

from fxpipe.fix.dictionary cimport fix_check_msg_type, fix_parse_index, fix_validate
from fxpipe.model.numbers cimport NUM_ERR_PRECISION, NUM_ERR_RANGE, NUM_OK, parse_scaled
from fxpipe.fix.scan cimport (
    REASON_INVALID_TAG_NUMBER,
    SCAN_INDEX_FULL,
    fix_check_header,
    fix_find,
    fix_frame,
    fix_reason,
    fix_scan,
)
from fxpipe.fix.values cimport (
    VALUE_OK,
    VALUE_OUT_OF_RANGE,
    fix_parse_int,
    fix_parse_uint,
    fix_parse_utc_ns,
)

from fxpipe.fix.dictionary import group_members
from fxpipe.fix.encoder import Encoder, encode, format_utc_timestamp  # noqa: F401  (re-export)
from fxpipe.fix.errors import FixParseError, describe
from fxpipe.fix.tags import TRAILER_TAGS

MAX_BODY_LENGTH = 1 << 20   # frame_length's default cap: bigger is garbage, not a message
BEGIN_STRING = b"FIX.4.2"

cdef bytes g_begin = BEGIN_STRING
cdef dict g_msg_types = {}      # interned MsgType str by value bytes
cdef dict g_group_closure = {}  # (msg_type, count_tag) -> (delimiter, all member tags) or None


cdef class _Buffer:
    """Pointer and length of a bytes-like object; a Py_buffer only for other buffer types."""
    cdef const char* ptr
    cdef Py_ssize_t size
    cdef Py_buffer view
    cdef bint has_view

    def __dealloc__(self):
        if self.has_view:
            PyBuffer_Release(&self.view)


cdef _Buffer as_buffer(object buf):
    cdef _Buffer b = _Buffer.__new__(_Buffer)
    if type(buf) is bytes:
        b.ptr = PyBytes_AS_STRING(buf)
        b.size = PyBytes_GET_SIZE(buf)
    elif type(buf) is bytearray:
        b.ptr = PyByteArray_AS_STRING(buf)
        b.size = PyByteArray_GET_SIZE(buf)
    else:
        PyObject_GetBuffer(buf, &b.view, PyBUF_SIMPLE)
        b.has_view = True
        b.ptr = <const char*>b.view.buf
        b.size = b.view.len
    return b


def frame_length(buf, Py_ssize_t start=0, Py_ssize_t max_body=MAX_BODY_LENGTH):
    """Bytes of the first complete FIX message at buf[start:], 0 while it is incomplete.

    Raises FixParseError (a GarbleReason) when the bytes there cannot start a FIX message: the
    transport then drops bytes up to next_frame_start(buf, start + 1) and goes on."""
    cdef _Buffer b = as_buffer(buf)
    cdef int reason = 0
    cdef Py_ssize_t n
    if start < 0 or start > b.size:
        raise ValueError(f"frame_length: start {start} is outside the buffer of {b.size} bytes")
    n = fix_frame(b.ptr + start, b.size - start, max_body, &reason)
    if n < 0:
        raise fix_error(reason, NULL, start)
    return n


def next_frame_start(buf, Py_ssize_t start=0):
    """Offset of the first b"8=FIX" at or after start, or of a tail of buf that could still
    become one (b"8=F" at the very end); -1 when there is none, so all of buf can be dropped."""
    cdef _Buffer b = as_buffer(buf)
    cdef const char* hit
    cdef Py_ssize_t i = start if start > 0 else 0, k
    cdef const char* begin = b"8=FIX"
    while i < b.size:
        hit = <const char*>memchr(b.ptr + i, b'8', b.size - i)
        if hit == NULL:
            return -1
        i = hit - b.ptr
        k = 1
        while k < 5 and i + k < b.size and hit[k] == begin[k]:
            k += 1
        if k == 5 or i + k == b.size:
            return i
        i += 1
    return -1


cdef object fix_error(int code, const FixIndex* ix, Py_ssize_t offset):
    cdef int reason = fix_reason(code)
    cdef int64_t seq
    cdef int i
    ref_tag = None
    ref_msg_type = None
    ref_seq_num = None
    at = offset
    if ix != NULL:
        if ix.err_tag >= 0:
            ref_tag = ix.err_tag
        if ix.n > 2 and ix.fields[2].tag == 35:
            ref_msg_type = PyBytes_FromStringAndSize(ix.buf + ix.fields[2].off,
                                                     ix.fields[2].len).decode("latin-1")
        if ix.seq_num > 0:
            ref_seq_num = ix.seq_num
        else:
            # A scan stopped early: MsgSeqNum may still be among the fields indexed so far.
            i = fix_find(ix, 34, 3, ix.n)
            if i >= 0 and fix_parse_uint(ix.buf + ix.fields[i].off, ix.fields[i].len, &seq) == VALUE_OK and seq > 0:
                ref_seq_num = seq
        if ix.err_field < ix.n:
            at = offset + ix.fields[ix.err_field].off
        elif code == REASON_INVALID_TAG_NUMBER and ix.n > 0:
            at = offset + ix.fields[ix.n - 1].off + ix.fields[ix.n - 1].len + 1
    return FixParseError(describe(reason, ref_tag, ref_msg_type, ref_seq_num, at),
                         reason, ref_tag, ref_msg_type, ref_seq_num)



cdef bytes fix_index_bytes(FixIndex* ix, FixField* fields, uint32_t cap, object raw, bint validate):
    cdef bytes data = raw if type(raw) is bytes else bytes(raw)
    cdef int rc = fix_parse_index(ix, fields, cap, data, len(data), validate)
    if rc:
        raise fix_error(rc, ix, 0)
    return data

cdef object _group_closure(object msg_type, int count_tag):
    """(delimiter, frozenset of every tag an entry may hold, nested groups' included)."""
    key = (msg_type, count_tag)
    try:
        return g_group_closure[key]
    except KeyError:
        pass
    members = group_members(msg_type, count_tag)
    result = None
    if members is not None:
        tags = set()
        todo = [count_tag]
        while todo:
            for t in group_members(msg_type, todo.pop()) or ():
                if t not in tags:
                    tags.add(t)
                    if group_members(msg_type, t) is not None:
                        todo.append(t)
        result = (members[0], frozenset(tags))
    g_group_closure[key] = result
    return result


cdef inline int view_find(FieldView v, int32_t tag):
    cdef uint32_t i
    for i in range(v._lo, v._hi):
        if v._fields[i].tag == tag:
            return <int>i
    return -1


cdef inline bytes view_bytes(FieldView v, int i):
    return PyBytes_FromStringAndSize(v._buf + v._fields[i].off, v._fields[i].len)


cdef object view_error(FieldView v, int reason, int i, str detail):
    tag = v._fields[i].tag
    msg = describe(reason, tag, v._msg_type_str, None, v._fields[i].off) + f" ({detail})"
    return FixParseError(msg, reason, tag, v._msg_type_str, None)


cdef FieldView sub_view(FieldView parent, uint32_t lo, uint32_t hi):
    cdef FieldView v = FieldView.__new__(FieldView)
    # A FixMessage may hold the field array inline: the entry keeps the message alive.
    v._owner = parent._owner if type(parent) is FieldView else parent
    v._buf = parent._buf
    v._fields = parent._fields
    v._lo = lo
    v._hi = hi
    v._msg_type_str = parent._msg_type_str
    return v


cdef class FieldView:
    """A run of fields of a parsed message (the whole message, or one repeating-group entry),
    with typed accessors. Values are read from the original bytes when asked for."""

    def has(self, int tag):
        """Whether the tag is present."""
        return view_find(self, tag) >= 0

    def get(self, int tag, default=None):
        """The raw value bytes of the first field with this tag, or default."""
        cdef int i = view_find(self, tag)
        return default if i < 0 else view_bytes(self, i)

    def get_str(self, int tag, default=None):
        cdef int i = view_find(self, tag)
        return default if i < 0 else view_bytes(self, i).decode("latin-1")

    def get_char(self, int tag, default=None):
        """A one-character value (Side, OrdStatus, ...) as str."""
        cdef int i = view_find(self, tag)
        if i < 0:
            return default
        if self._fields[i].len != 1:
            raise view_error(self, 6, i, "expected one character")
        return chr(<unsigned char>self._buf[self._fields[i].off])

    def get_int(self, int tag, default=None):
        cdef int i = view_find(self, tag)
        cdef int64_t v
        cdef int rc
        if i < 0:
            return default
        rc = fix_parse_int(self._buf + self._fields[i].off, self._fields[i].len, &v)
        if rc == VALUE_OK:
            return v
        if rc == VALUE_OUT_OF_RANGE:
            raise view_error(self, 5, i, "does not fit a 64-bit integer")
        raise view_error(self, 6, i, "expected an integer")

    def get_scaled(self, int tag, int scale, default=None):
        """A decimal value as an exact int scaled by 10**scale: LastPx "1.08345" with scale 8
        gives 108345000. More decimals than the scale holds raise (never rounded)."""
        cdef int i = view_find(self, tag)
        cdef int64_t v
        cdef int rc
        if i < 0:
            return default
        if scale < 0 or scale > 18:
            raise ValueError(f"get_scaled: scale {scale} outside 0..18")
        rc = parse_scaled(self._buf + self._fields[i].off, self._fields[i].len, scale, &v)
        if rc == NUM_OK:
            return v
        if rc == NUM_ERR_PRECISION:
            raise view_error(self, 5, i, f"more than {scale} decimals cannot be held exactly")
        if rc == NUM_ERR_RANGE:
            raise view_error(self, 5, i, f"does not fit a 64-bit integer at scale {scale}")
        raise view_error(self, 6, i, "expected a decimal number")

    def get_utc_ns(self, int tag, default=None):
        """A UTCTimestamp as int nanoseconds since the epoch."""
        cdef int i = view_find(self, tag)
        cdef int64_t v
        cdef int rc
        if i < 0:
            return default
        rc = fix_parse_utc_ns(self._buf + self._fields[i].off, self._fields[i].len, &v)
        if rc == VALUE_OK:
            return v
        if rc == VALUE_OUT_OF_RANGE:
            raise view_error(self, 5, i, "outside the years 1678..2261 that int64 ns can hold")
        raise view_error(self, 6, i, "expected YYYYMMDD-HH:MM:SS[.sss]")

    def fields(self):
        """[(tag, value bytes)] in wire order."""
        cdef uint32_t i
        return [(self._fields[i].tag, view_bytes(self, i)) for i in range(self._lo, self._hi)]

    def groups(self, int count_tag, first_tag=None, members=None):
        """The entries of the repeating group counted by count_tag, as FieldViews.

        Members come from the FIX 4.2 dictionary for this MsgType; for other groups pass
        first_tag and members (without members the last entry runs to the end of the body).
        Raises FixParseError (16) when the entry count differs from the count field."""
        cdef int i = view_find(self, count_tag)
        cdef int64_t declared
        cdef uint32_t j, s
        if i < 0:
            return []
        if fix_parse_int(self._buf + self._fields[i].off, self._fields[i].len, &declared) != VALUE_OK:
            raise view_error(self, 6, i, "NumInGroup is not an integer")
        spec = _group_closure(self._msg_type_str, count_tag)
        if first_tag is None:
            if spec is None:
                raise ValueError(f"group {count_tag} is not in the FIX 4.2 dictionary for MsgType "
                                 f"{self._msg_type_str!r}: pass first_tag (and members)")
            first_tag = spec[0]
        if members is not None:
            member_set = frozenset(members) | {first_tag}
        elif spec is not None and spec[0] == first_tag:
            member_set = spec[1]
        else:
            member_set = None
        out = []
        j = i + 1
        while j < self._hi and self._fields[j].tag == first_tag:
            s = j
            j += 1
            while j < self._hi and self._fields[j].tag != first_tag:
                if member_set is None:
                    if self._fields[j].tag in TRAILER_TAGS:
                        break
                elif self._fields[j].tag not in member_set:
                    break
                j += 1
            out.append(sub_view(self, s, j))
        if len(out) != declared:
            raise view_error(self, 16, i, f"NumInGroup says {declared}, found {len(out)} entries")
        return out

    def __len__(self):
        return self._hi - self._lo

    def __repr__(self):
        return f"{type(self).__name__}({self.fields()!r})"


cdef class FixMessage(FieldView):
    """A parsed FIX message: the field index over the original bytes (kept referenced)."""

    def __dealloc__(self):
        if self._heap != NULL:
            PyMem_Free(self._heap)

    @property
    def msg_type(self):
        return self._msg_type_str

    @property
    def seq_num(self):
        return self.ix.seq_num

    @property
    def raw(self):
        """The message's bytes (the very object parsed when it was exactly this message)."""
        if PyBytes_GET_SIZE(self._owner) == self.ix.length:
            return self._owner
        return PyBytes_FromStringAndSize(self.ix.buf, self.ix.length)

    def body(self):
        """[(tag, value bytes)] after the standard header and before the trailer, e.g. to
        resend a stored message with new header fields."""
        cdef uint32_t i
        return [(self._fields[i].tag, view_bytes(self, i)) for i in range(3, self.ix.n - 1)
                if self._fields[i].tag not in _HEADER_AND_TRAILER]


from fxpipe.fix.tags import HEADER_TAGS  # noqa: E402

_HEADER_AND_TRAILER = HEADER_TAGS | TRAILER_TAGS


cdef int scan_into(FixMessage m, const char* p, Py_ssize_t n) except -1:
    cdef int rc
    cdef uint32_t cap
    m.ix.fields = m._inline
    m.ix.cap = INLINE_FIELDS
    rc = fix_scan(&m.ix, p, n)
    if rc == SCAN_INDEX_FULL:
        # Every field takes at least 3 bytes ("1=x" and its SOH is 4): this bound always holds.
        cap = <uint32_t>(n // 3 + 2)
        m._heap = <FixField*>PyMem_Malloc(cap * sizeof(FixField))
        if m._heap == NULL:
            raise MemoryError()
        m.ix.fields = m._heap
        m.ix.cap = cap
        rc = fix_scan(&m.ix, p, n)
    return rc


cdef FixMessage parse_bytes(bytes buf, Py_ssize_t start, Py_ssize_t end, bint validate):
    cdef FixMessage m = FixMessage.__new__(FixMessage)
    cdef const char* p = PyBytes_AS_STRING(buf) + start
    cdef int rc
    m._owner = buf
    rc = scan_into(m, p, end - start)
    if rc == 0:
        rc = fix_check_header(&m.ix, PyBytes_AS_STRING(g_begin), PyBytes_GET_SIZE(g_begin))
    if rc == 0:
        rc = fix_check_msg_type(&m.ix)
    if rc == 0 and validate:
        rc = fix_validate(&m.ix)
    if rc != 0:
        raise fix_error(rc, &m.ix, start)
    m._buf = m.ix.buf
    m._fields = m.ix.fields
    m._lo = 0
    m._hi = m.ix.n
    key = PyBytes_FromStringAndSize(p + m.ix.fields[2].off, m.ix.fields[2].len)
    mt = g_msg_types.get(key)
    if mt is None:
        mt = key.decode("latin-1")
        if len(g_msg_types) < 256:
            g_msg_types[key] = mt
    m._msg_type_str = mt
    return m


def parse(buf, bint validate=True, Py_ssize_t start=0, end=None):
    """Parses the one FIX 4.2 message that is exactly buf[start:end] into a FixMessage.

    Always checks framing, CheckSum, BeginString, MsgType and the required header fields; with
    validate also the FIX 4.2 dictionary rules. bytes are parsed without a copy; other buffers
    (bytearray, memoryview) are copied once so the message never sees them change."""
    cdef Py_ssize_t size, stop
    if type(buf) is not bytes:
        buf = bytes(buf)
    size = PyBytes_GET_SIZE(buf)
    stop = size if end is None else end
    if start < 0 or stop > size or start > stop:
        raise ValueError(f"parse: range [{start}:{end}] is outside the buffer of {size} bytes")
    return parse_bytes(buf, start, stop, validate)
