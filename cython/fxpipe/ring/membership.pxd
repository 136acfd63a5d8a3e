# Membership of a ring's consumer table as a protocol (see membership.pyx): claiming a free
# entry, attaching (first attach, resume after a crash, rejoin after a detach), detaching,
# liveness, and taking back the futex registrations of processes that died asleep.
#
# Every state change of an entry is one CAS on its 64-bit member word (state | generation), so
# two parties can never both win: detach vs resume, auto-detach vs resume, two attachers.
from libc.stdint cimport int64_t, uint32_t, uint64_t
from fxpipe.ring.layout cimport fx_ring_header

cdef enum:
    ATTACH_OK = 0
    ATTACH_RETRY = -1            # the entry changed under us: look it up again
    ATTACH_BUSY = -2             # attached by another live process
    ATTACH_JOINING = -3          # another live process is attaching it right now
    ATTACH_DETACHED = -4         # detached while we were attaching it
    CLAIM_FULL = -5              # no free entry
    CLAIM_DUPLICATE = -6         # another process is adding a consumer of the same name
    EMPTY_WAKES_BEFORE_RECOUNT = 64   # wakes that found no sleeper before waiters are recounted

ctypedef struct AttachResult:
    uint64_t member              # the member word this attachment holds (ATTACHED | generation)
    int64_t gap                  # events missed while detached (rejoin only)
    int64_t holder               # pid holding the entry (ATTACH_BUSY / ATTACH_JOINING)
    bint rejoined

cdef uint64_t valid_deps(int index, uint64_t mask) noexcept nogil
cdef int64_t join_start(fx_ring_header* h, uint64_t mask) noexcept nogil
cdef int attach_entry(fx_ring_header* h, int index, int64_t pid, uint64_t start_time,
                      uint32_t wait, AttachResult* out) noexcept nogil
cdef int claim_entry(fx_ring_header* h, const char* name, uint64_t mask, int64_t pid,
                     uint64_t start_time, uint32_t wait, AttachResult* out) noexcept nogil
cdef bint detach_entry(fx_ring_header* h, int index) noexcept nogil
cdef int check_gating_liveness(fx_ring_header* h, bint auto_detach) noexcept nogil
cdef void reconcile_waiters(fx_ring_header* h) noexcept nogil
cdef void note_empty_wakes(fx_ring_header* h, uint32_t* empty_wakes) noexcept nogil
