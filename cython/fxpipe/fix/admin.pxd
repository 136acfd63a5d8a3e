# Direct paths for the session (admin) messages, one struct for all of them:
#   Logon (A), Heartbeat (0), TestRequest (1), ResendRequest (2), Reject (3),
#   SequenceReset (4), Logout (5).
# poss_dup / orig_sending_time_ns go into the header, as a resent SequenceReset-GapFill needs.
from libc.stdint cimport int64_t, uint16_t

from fxpipe.fix.encoder cimport FixTemplate
from fxpipe.fix.fields cimport FixId
from fxpipe.fix.scan cimport FixIndex

cdef enum:
    FIX_TEXT_MAX = 255

ctypedef struct FixText:
    char s[FIX_TEXT_MAX + 1]
    uint16_t len

ctypedef struct AdminMessage:
    char msg_type                    # 'A', '0'..'5'
    char poss_dup                    # 43 in the header when 'Y'
    int64_t orig_sending_time_ns     # 122 in the header when > 0
    int64_t encrypt_method           # 98 (A), 0
    int64_t heart_bt_int             # 108 (A), seconds
    char reset_seq_num_flag          # 141 (A), 'Y' / 'N' / 0
    FixId test_req_id                # 112 (0, 1)
    int64_t begin_seq_no             # 7 (2)
    int64_t end_seq_no               # 16 (2), 0 = infinity
    int64_t ref_seq_num              # 45 (3)
    int64_t ref_tag_id               # 371 (3), -1 when absent
    FixId ref_msg_type               # 372 (3)
    int64_t session_reject_reason    # 373 (3), -1 when absent
    char gap_fill_flag               # 123 (4), 'Y' / 'N' / 0
    int64_t new_seq_no               # 36 (4)
    FixText text                     # 58 (3, 5)

cdef void fix_admin_init(AdminMessage* m, char msg_type) noexcept nogil
cdef int fix_text_set(FixText* t, const char* p, Py_ssize_t n) noexcept nogil
cdef Py_ssize_t fix_encode_admin(char* buf, Py_ssize_t cap, const FixTemplate* t, int64_t seq,
                                 int64_t sending_ns, const AdminMessage* m, Py_ssize_t* start) noexcept nogil
cdef int fix_decode_admin(FixIndex* ix, AdminMessage* m) noexcept nogil
