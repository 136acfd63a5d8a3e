"""The FIX 4.2 data dictionary as C tables, and the validation walk over a scanned message.

Tables are built once at import from fxpipe.fix.spec42 (generated from the specification), so
validation runs without Python objects. The walk reports the first failure in wire order with
its SessionRejectReason: undefined tag (3), tag without value (4), enumeration (5), format (6),
tag not defined for the message type (2), header/body/trailer order (14), duplicate (13),
repeating groups (15: entry not starting with its delimiter, 16: entry count differs from the
NumInGroup field) and required fields (1), checked last.
"""
from cpython.mem cimport PyMem_Malloc
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memcmp, memset

from fxpipe.fix.scan cimport (
    REASON_INCORRECT_DATA_FORMAT,
    REASON_INCORRECT_NUM_IN_GROUP,
    REASON_INVALID_MSG_TYPE,
    REASON_GROUP_FIELDS_OUT_OF_ORDER,
    REASON_REQUIRED_TAG_MISSING,
    REASON_TAG_APPEARS_MORE_THAN_ONCE,
    REASON_TAG_NOT_DEFINED_FOR_MSG_TYPE,
    REASON_TAG_OUT_OF_ORDER,
    REASON_TAG_WITHOUT_VALUE,
    REASON_UNDEFINED_TAG,
    REASON_VALUE_OUT_OF_RANGE,
    fix_check_header,
    fix_scan,
    fix_value,
)
from fxpipe.fix.values cimport (
    VALUE_BAD_FORMAT,
    VALUE_OK,
    fix_check_float,
    fix_check_month_year,
    fix_check_utc_date,
    fix_check_utc_time_only,
    fix_parse_int,
    fix_parse_uint,
    fix_parse_utc_ns,
)

from fxpipe.fix import spec42

cdef enum:
    MAX_GROUP_DEPTH = 4

cdef const char* FIX42 = b"FIX.4.2"


ctypedef struct GroupDef:
    int32_t count_tag
    int32_t delim_tag
    TagSet members
    int32_t* required
    int n_required
    int* nested          # indexes into g_groups
    int n_nested


ctypedef struct MsgDef:
    TagSet allowed       # top-level body tags (group count tags included, members not)
    TagSet group_tags    # the count tags of this message's top-level groups
    int32_t* required
    int n_required
    int* groups
    int n_groups


cdef uint8_t g_type[MAX_TAG + 1]
cdef const char* g_enum[MAX_TAG + 1]       # "\x01A\x01B\x01" for enumerations of strings
cdef uint64_t g_char_enum[MAX_TAG + 1][4]  # bitmap of allowed bytes when every value is one char
cdef bint g_is_char_enum[MAX_TAG + 1]
cdef TagSet g_header
cdef TagSet g_trailer
cdef GroupDef* g_groups = NULL
cdef MsgDef* g_msgs = NULL
cdef int g_msg_index[128]

_TYPES = {
    "STRING": FT_STRING, "CURRENCY": FT_STRING, "EXCHANGE": FT_STRING, "CHAR": FT_CHAR,
    "INT": FT_INT, "LENGTH": FT_UINT, "DAYOFMONTH": FT_DAYOFMONTH, "FLOAT": FT_FLOAT,
    "PRICE": FT_FLOAT, "QTY": FT_FLOAT, "AMT": FT_FLOAT, "PRICEOFFSET": FT_FLOAT,
    "BOOLEAN": FT_BOOLEAN, "UTCTIMESTAMP": FT_UTCTIMESTAMP, "UTCTIMEONLY": FT_UTCTIMEONLY,
    "UTCDATE": FT_DATE, "LOCALMKTDATE": FT_DATE, "MONTHYEAR": FT_MONTHYEAR, "DATA": FT_DATA,
    "MULTIPLEVALUESTRING": FT_MULTI,
}
_keep = []          # the bytes behind g_enum, alive as long as the module
# Values venues send beyond FIX 4.2's own lists, accepted on receipt: "99" (Other, FIX 4.3) in
# OrdRejReason and CxlRejReason is what last-look LPs put on a last-look reject. Refusing it
# would answer the venue's reject with a session Reject and lose the order's outcome; the
# report goes through with reason 99 like any other reason.
ACCEPTED_BEYOND_FIX42 = {102: ("99",), 103: ("99",)}
_group_members = {}  # (msg_type, count_tag) -> tuple of member tags, delimiter first


cdef int32_t* int_array(tags) except NULL:
    cdef int32_t* a = <int32_t*>PyMem_Malloc(sizeof(int32_t) * (len(tags) + 1))
    if a == NULL:
        raise MemoryError()
    for k, t in enumerate(tags):
        a[k] = t
    return a


cdef int build_group(object msg_type, object item) except -1:
    global g_groups
    count_tag, _, members = item
    cdef int gi = len(_group_members_order)
    _group_members_order.append(count_tag)
    tags = [m[0] for m in members]
    _group_members.setdefault((msg_type, count_tag), tuple(tags))
    nested = [build_group(msg_type, m) for m in members if len(m) == 3]
    cdef GroupDef* g = &g_groups[gi]
    memset(g, 0, sizeof(GroupDef))
    g.count_tag = count_tag
    g.delim_tag = tags[0]
    for t in tags:
        tagset_add(&g.members, t)
    req = [m[0] for m in members if m[1]]
    g.required = int_array(req)
    g.n_required = len(req)
    g.nested = <int*>int_array(nested)
    g.n_nested = len(nested)
    return gi


_group_members_order = []


def _count_groups(items):
    return sum(1 + _count_groups(i[2]) for i in items if len(i) == 3)


cdef void build() except *:
    global g_groups, g_msgs
    memset(g_type, 0, sizeof(g_type))
    memset(g_enum, 0, sizeof(g_enum))
    memset(g_char_enum, 0, sizeof(g_char_enum))
    memset(g_is_char_enum, 0, sizeof(g_is_char_enum))
    memset(&g_header, 0, sizeof(TagSet))
    memset(&g_trailer, 0, sizeof(TagSet))
    for k in range(128):
        g_msg_index[k] = -1
    for tag, (_, ftype, values) in spec42.FIELDS.items():
        if tag > MAX_TAG:
            continue
        g_type[tag] = _TYPES.get(ftype, FT_STRING)
        if values:
            values = tuple(values) + ACCEPTED_BEYOND_FIX42.get(tag, ())
            raw = ("\x01" + "\x01".join(values) + "\x01").encode("ascii")
            _keep.append(raw)
            g_enum[tag] = <const char*>raw
            if ftype != "MULTIPLEVALUESTRING" and all(len(v) == 1 for v in values):
                g_is_char_enum[tag] = True
                for v in values:
                    g_char_enum[tag][ord(v) >> 6] |= (<uint64_t>1) << (ord(v) & 63)
    for item in spec42.HEADER:
        tagset_add(&g_header, item[0])
    for item in spec42.TRAILER:
        tagset_add(&g_trailer, item[0])
    n_groups = sum(_count_groups(body) for _, _, body in spec42.MESSAGES.values())
    g_groups = <GroupDef*>PyMem_Malloc(sizeof(GroupDef) * (n_groups + 1))
    g_msgs = <MsgDef*>PyMem_Malloc(sizeof(MsgDef) * (len(spec42.MESSAGES) + 1))
    if g_groups == NULL or g_msgs == NULL:
        raise MemoryError()
    cdef MsgDef* md
    for mi, (msg_type, (_, _, body)) in enumerate(spec42.MESSAGES.items()):
        md = &g_msgs[mi]
        memset(md, 0, sizeof(MsgDef))
        for item in body:
            tagset_add(&md.allowed, item[0])
        req = [item[0] for item in body if item[1]]
        md.required = int_array(req)
        md.n_required = len(req)
        groups = [build_group(msg_type, item) for item in body if len(item) == 3]
        for item in body:
            if len(item) == 3:
                tagset_add(&md.group_tags, item[0])
        md.groups = <int*>int_array(groups)
        md.n_groups = len(groups)
        g_msg_index[ord(msg_type)] = mi


build()


def group_members(msg_type: str, count_tag: int):
    """Member tags of a FIX 4.2 repeating group, delimiter first, or None if not defined."""
    return _group_members.get((msg_type, count_tag))


def field_name(tag: int):
    """The FIX 4.2 name of a tag (e.g. 38 -> 'OrderQty'), or None."""
    entry = spec42.FIELDS.get(tag)
    return entry[0] if entry else None


def message_name(msg_type: str):
    """The FIX 4.2 name of a MsgType (e.g. '8' -> 'ExecutionReport'), or None."""
    entry = spec42.MESSAGES.get(msg_type)
    return entry[0] if entry else None


cdef inline int fail(FixIndex* ix, int reason, int32_t tag, uint32_t field) noexcept nogil:
    ix.err_tag = tag
    ix.err_field = field
    return reason


cdef bint in_enum(const char* allowed, const char* p, Py_ssize_t n) noexcept nogil:
    """Whether p[0:n] is one of the SOH-separated values in allowed ("\\x01A\\x01B\\x01")."""
    cdef const char* a = allowed + 1
    cdef Py_ssize_t k
    while a[0] != 0:
        k = 0
        while a[k] != 1:
            k += 1
        if k == n and memcmp(a, p, n) == 0:
            return True
        a += k + 1
    return False


cdef inline int check_field(int32_t tag, const char* p, Py_ssize_t n) noexcept nogil:
    """0, or the reason this value is not valid for the tag in FIX 4.2."""
    cdef int64_t v
    cdef int t
    cdef Py_ssize_t s, e
    if tag > MAX_TAG:
        if tag < USER_DEFINED_TAG:
            return REASON_UNDEFINED_TAG
        return REASON_TAG_WITHOUT_VALUE if n == 0 else 0
    t = g_type[tag]
    if t == FT_UNKNOWN:
        return REASON_UNDEFINED_TAG
    if n == 0:
        return REASON_TAG_WITHOUT_VALUE
    if t == FT_INT:
        if fix_parse_int(p, n, &v) == VALUE_BAD_FORMAT:
            return REASON_INCORRECT_DATA_FORMAT
    elif t == FT_UINT:
        if fix_parse_uint(p, n, &v) == VALUE_BAD_FORMAT:
            return REASON_INCORRECT_DATA_FORMAT
    elif t == FT_DAYOFMONTH:
        if fix_parse_uint(p, n, &v) != VALUE_OK:
            return REASON_INCORRECT_DATA_FORMAT
        if v < 1 or v > 31:
            return REASON_VALUE_OUT_OF_RANGE
    elif t == FT_FLOAT:
        if not fix_check_float(p, n):
            return REASON_INCORRECT_DATA_FORMAT
    elif t == FT_CHAR:
        if n != 1:
            return REASON_INCORRECT_DATA_FORMAT
    elif t == FT_BOOLEAN:
        if n != 1 or (p[0] != b'Y' and p[0] != b'N'):
            return REASON_INCORRECT_DATA_FORMAT
    elif t == FT_UTCTIMESTAMP:
        if fix_parse_utc_ns(p, n, &v) == VALUE_BAD_FORMAT:
            return REASON_INCORRECT_DATA_FORMAT
    elif t == FT_UTCTIMEONLY:
        if not fix_check_utc_time_only(p, n):
            return REASON_INCORRECT_DATA_FORMAT
    elif t == FT_DATE:
        if not fix_check_utc_date(p, n):
            return REASON_INCORRECT_DATA_FORMAT
    elif t == FT_MONTHYEAR:
        if not fix_check_month_year(p, n):
            return REASON_INCORRECT_DATA_FORMAT
    if g_is_char_enum[tag]:
        if n != 1 or not (g_char_enum[tag][(<unsigned char>p[0]) >> 6] >> ((<unsigned char>p[0]) & 63)) & 1:
            return REASON_VALUE_OUT_OF_RANGE
    elif g_enum[tag] != NULL:
        if t == FT_MULTI:
            s = 0
            while s <= n:
                e = s
                while e < n and p[e] != b' ':
                    e += 1
                if not in_enum(g_enum[tag], p + s, e - s):
                    return REASON_VALUE_OUT_OF_RANGE
                s = e + 1
        elif not in_enum(g_enum[tag], p, n):
            return REASON_VALUE_OUT_OF_RANGE
    return 0


cdef inline const MsgDef* msg_def(const FixIndex* ix) noexcept nogil:
    cdef unsigned char c = <unsigned char>fix_value(ix, 2)[0]
    if ix.fields[2].len == 1 and c < 128 and g_msg_index[c] >= 0:
        return &g_msgs[g_msg_index[c]]
    return NULL


cdef int fix_check_msg_type(FixIndex* ix) noexcept nogil:
    """0 for a FIX 4.2 MsgType or a user-defined one (starting with 'U'), else reason 11."""
    if ix.fields[2].len == 0:
        return fail(ix, REASON_INVALID_MSG_TYPE, 35, 2)
    if msg_def(ix) != NULL or fix_value(ix, 2)[0] == b'U':
        return 0
    return fail(ix, REASON_INVALID_MSG_TYPE, 35, 2)


cdef inline int check_at(FixIndex* ix, uint32_t i) noexcept nogil:
    cdef int r = check_field(ix.fields[i].tag, fix_value(ix, i), ix.fields[i].len)
    if r:
        return fail(ix, r, ix.fields[i].tag, i)
    return 0


cdef Py_ssize_t walk_group(FixIndex* ix, const GroupDef* g, uint32_t i, uint32_t last, int depth) noexcept nogil:
    """Checks the group whose NumInGroup field is fields[i]; returns the index after it, or
    -1 - reason (err_tag set) on failure."""
    cdef int64_t declared = 0
    cdef int64_t entries = 0
    cdef uint32_t j = i + 1
    cdef int32_t tag
    cdef int k, r
    cdef Py_ssize_t nxt
    cdef TagSet seen
    cdef const GroupDef* sub
    if depth > MAX_GROUP_DEPTH:
        return -1 - fail(ix, REASON_GROUP_FIELDS_OUT_OF_ORDER, g.count_tag, i)
    fix_parse_uint(fix_value(ix, i), ix.fields[i].len, &declared)   # format checked already
    while j < last:
        tag = ix.fields[j].tag
        if tag != g.delim_tag:
            if tagset_has(&g.members, tag):
                return -1 - fail(ix, REASON_GROUP_FIELDS_OUT_OF_ORDER, tag, j)
            break
        entries += 1
        memset(&seen, 0, sizeof(TagSet))
        while j < last:
            tag = ix.fields[j].tag
            if (tag == g.delim_tag and tagset_has(&seen, tag)) or not tagset_has(&g.members, tag):
                break
            r = check_at(ix, j)
            if r:
                return -1 - r
            if tagset_has(&seen, tag):
                return -1 - fail(ix, REASON_TAG_APPEARS_MORE_THAN_ONCE, tag, j)
            tagset_add(&seen, tag)
            nxt = j + 1
            for k in range(g.n_nested):
                sub = &g_groups[g.nested[k]]
                if sub.count_tag == tag:
                    nxt = walk_group(ix, sub, j, last, depth + 1)
                    if nxt < 0:
                        return nxt
                    break
            j = <uint32_t>nxt
        for k in range(g.n_required):
            if not tagset_has(&seen, g.required[k]):
                return -1 - fail(ix, REASON_REQUIRED_TAG_MISSING, g.required[k], i)
    if entries != declared:
        return -1 - fail(ix, REASON_INCORRECT_NUM_IN_GROUP, g.count_tag, i)
    return j


cdef int fix_validate(FixIndex* ix) noexcept nogil:
    """The FIX 4.2 checks beyond the standard header; 0 or a reason (err_tag, err_field set)."""
    cdef const MsgDef* md = msg_def(ix)
    cdef uint32_t i = 3, last = ix.n - 1
    cdef int phase = 0          # 0 header, 1 body, 2 trailer
    cdef int32_t tag
    cdef int k, r
    cdef Py_ssize_t nxt
    cdef TagSet seen
    memset(&seen, 0, sizeof(TagSet))
    tagset_add(&seen, 8)
    tagset_add(&seen, 9)
    tagset_add(&seen, 35)
    while i < last:
        tag = ix.fields[i].tag
        # MsgSeqNum and SendingTime were checked with the standard header.
        if tag != 34 and tag != 52:
            r = check_at(ix, i)
            if r:
                return r
        if tagset_has(&g_header, tag):
            if phase != 0:
                return fail(ix, REASON_TAG_OUT_OF_ORDER, tag, i)
        elif tagset_has(&g_trailer, tag):
            phase = 2
        else:
            if phase == 2:
                return fail(ix, REASON_TAG_OUT_OF_ORDER, tag, i)
            phase = 1
            if md != NULL and tag <= MAX_TAG and not tagset_has(&md.allowed, tag):
                return fail(ix, REASON_TAG_NOT_DEFINED_FOR_MSG_TYPE, tag, i)
        if tagset_has(&seen, tag):
            return fail(ix, REASON_TAG_APPEARS_MORE_THAN_ONCE, tag, i)
        tagset_add(&seen, tag)
        nxt = i + 1
        if md != NULL and tagset_has(&md.group_tags, tag):
            for k in range(md.n_groups):
                if g_groups[md.groups[k]].count_tag == tag:
                    nxt = walk_group(ix, &g_groups[md.groups[k]], i, last, 1)
                    if nxt < 0:
                        return <int>(-1 - nxt)
                    break
        i = <uint32_t>nxt
    if md != NULL:
        for k in range(md.n_required):
            if not tagset_has(&seen, md.required[k]):
                return fail(ix, REASON_REQUIRED_TAG_MISSING, md.required[k], ix.n)
    return 0


cdef int fix_parse_index(FixIndex* ix, FixField* fields, uint32_t cap, const char* p, Py_ssize_t n,
                         bint validate) noexcept nogil:
    cdef int rc
    ix.fields = fields
    ix.cap = cap
    rc = fix_scan(ix, p, n)
    if rc == 0:
        rc = fix_check_header(ix, FIX42, 7)
    if rc == 0:
        rc = fix_check_msg_type(ix)
    if rc == 0 and validate:
        rc = fix_validate(ix)
    return rc


cdef int fix_check_field(int32_t tag, const char* p, Py_ssize_t n) noexcept nogil:
    """0, or the reason this value is not valid for the tag in FIX 4.2."""
    return check_field(tag, p, n)
