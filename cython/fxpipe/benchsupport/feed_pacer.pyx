# cython: language_level=3
"""Benchmark support for `./scripts/bench tick-to-trade`: the harness's quote publisher and the
floor's echo as C loops, so that what the benchmark reports is the desk's time and not the
harness's.

The Python harness published each quote between reading orders, answering them and sharing its
core with the desk's journal, and a quote often went out milliseconds after its scheduled time
(send lag p99 3.5 ms at 10k quotes/s). Open-loop figures corrected for coordinated omission
count that lateness against the desk. Here a thread without the GIL sends every quote at its
time: it sleeps until shortly before (clock_nanosleep, timer slack 1 ns) and spins the rest,
and runs SCHED_FIFO where the host permits, so the journal and the venue on the same core do
not hold it up; the Python thread meanwhile answers the orders.

The datagrams are the binary feed's incremental packets, one BookRefresh of one level a side,
rendered by the feed's own PacketWriter once (the template) and patched per quote at the offsets
of its sequence number, sending time, RptSeq, transact time and the two prices (the offsets come
from the wire format's declaration in fxpipe/feed/sbe.pxd; a test checks every patched packet
against the PacketWriter's). Quote g's ask is ask_base + (g mod cycle) * tick and its bid
ask - spread, so an order's price names the quote it came from. Not part of the trading path."""
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memcpy

from fxpipe.feed.sbe cimport GROUP_HEADER_SIZE, MESSAGE_HEADER_SIZE, PACKET_HEADER_SIZE, BOOK_REFRESH_BLOCK, LEVEL_SIZE
from fxpipe.includes.atomic cimport fx_cpu_relax, fx_realtime_ns, fx_store_release_i64
from fxpipe.includes.feed_le cimport le_put_i64, le_put_u32, le_put_u64

cdef extern from *:
    """
    #include <errno.h>
    #include <stdint.h>
    #include <pthread.h>
    #include <sched.h>
    #include <string.h>
    #include <sys/prctl.h>
    #include <sys/socket.h>
    #include <time.h>

    static void fxp_sleep_until(long long ns) {
        struct timespec t;
        t.tv_sec = ns / 1000000000LL;
        t.tv_nsec = ns % 1000000000LL;
        while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &t, NULL) == EINTR) {}
    }

    /* SCHED_FIFO at prio for the calling thread, timer slack 1 ns; 1 when FIFO was granted */
    static int fxp_enter(int prio, int* old_policy, struct sched_param* old) {
        struct sched_param p;
        prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
        pthread_getschedparam(pthread_self(), old_policy, old);
        if (prio <= 0) return 0;
        memset(&p, 0, sizeof p);
        p.sched_priority = prio;
        return pthread_setschedparam(pthread_self(), SCHED_FIFO, &p) == 0;
    }

    static void fxp_leave(int old_policy, const struct sched_param* old) {
        pthread_setschedparam(pthread_self(), old_policy, old);
    }

    /* a datagram the kernel would not take is lost as on a congested link (the receiver sees
       the gap); anything else is the harness's own error */
    static int fxp_send(int fd, const void* buf, size_t n) {
        if (send(fd, buf, n, 0) >= 0) return 1;
        if (errno == EAGAIN || errno == ENOBUFS || errno == ECONNREFUSED) return 0;
        return -errno;
    }

    #define FXP_BATCH 64
    /* sends bufs[0..n) (each len bytes) in sendmmsg calls; returns how many the kernel took, or
       -errno */
    static int fxp_send_batch(int fd, void* bufs_, int n, size_t len) {
        uint8_t (*bufs)[1472] = bufs_;
        struct mmsghdr msgs[FXP_BATCH];
        struct iovec iov[FXP_BATCH];
        int k, done = 0, r;
        memset(msgs, 0, sizeof msgs);
        for (k = 0; k < n; k++) {
            iov[k].iov_base = bufs[k];
            iov[k].iov_len = len;
            msgs[k].msg_hdr.msg_iov = &iov[k];
            msgs[k].msg_hdr.msg_iovlen = 1;
        }
        while (done < n) {
            r = sendmmsg(fd, msgs + done, n - done, 0);
            if (r < 0) {
                if (errno == EAGAIN || errno == ENOBUFS || errno == ECONNREFUSED) return done;
                return -errno;
            }
            done += r;
        }
        return done;
    }

    /* the floor's echo: every `every`th datagram on rx (its first 8 bytes name it) answered with
       an order-sized message on tx carrying that name; returns datagrams seen, or -errno */
    static long long fxp_echo(int rx, int tx, int every, int order_bytes, long long stop) {
        uint8_t in[2048], out[1024];
        long long seen = 0, g;
        ssize_t n, w, off;
        memset(out, 0, sizeof out);
        if (order_bytes > (int)sizeof out) order_bytes = sizeof out;
        for (;;) {
            n = recv(rx, in, sizeof in, MSG_DONTWAIT);
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR) continue;
                return -errno;
            }
            if (n < 8) continue;
            memcpy(&g, in, 8);
            if (g == stop) return seen;
            seen++;
            if (seen % every) continue;
            memcpy(out, &g, 8);
            for (off = 0; off < order_bytes; off += w) {
                w = send(tx, out + off, order_bytes - off, 0);
                if (w < 0) {
                    if (errno == EAGAIN || errno == EINTR) { w = 0; continue; }
                    return -errno;
                }
            }
        }
    }
    """
    struct sched_param:
        int sched_priority
    void fxp_sleep_until(long long ns) nogil
    int fxp_enter(int prio, int* old_policy, sched_param* old) nogil
    void fxp_leave(int old_policy, const sched_param* old) nogil
    int fxp_send(int fd, const void* buf, size_t n) nogil
    int FXP_BATCH
    int fxp_send_batch(int fd, void* bufs, int n, size_t length) nogil
    long long fxp_echo(int rx, int tx, int every, int order_bytes, long long stop) nogil

cdef enum:
    MAX_DATAGRAM = 1472
    # where a one-level BookRefresh packet's per-quote fields lie (fxpipe/feed/sbe.pxd)
    AT_SEQ = 0
    AT_SENDING = 8
    AT_BOOK = PACKET_HEADER_SIZE + MESSAGE_HEADER_SIZE
    AT_RPT = AT_BOOK + 4
    AT_TRANSACT = AT_BOOK + 8
    AT_BID_PX = AT_BOOK + BOOK_REFRESH_BLOCK + GROUP_HEADER_SIZE
    AT_ASK_PX = AT_BID_PX + LEVEL_SIZE + GROUP_HEADER_SIZE
    PACKET_BYTES = AT_ASK_PX + LEVEL_SIZE

QUOTE_PACKET_BYTES = PACKET_BYTES


cdef struct Script:
    uint64_t seq0          # quote j goes out with sequence number seq0 + j + 1
    uint32_t rpt0          # and RptSeq rpt0 + j + 1
    int64_t g0             # its global number g0 + j names its prices
    int64_t ask_base
    int64_t tick
    int64_t spread
    int64_t cycle


cdef inline void _patch(uint8_t* p, const Script* s, int64_t j, int64_t now) noexcept nogil:
    cdef int64_t ask = s.ask_base + ((s.g0 + j) % s.cycle) * s.tick
    le_put_u64(p + AT_SEQ, s.seq0 + <uint64_t>j + 1)
    le_put_u64(p + AT_SENDING, <uint64_t>now)
    le_put_u32(p + AT_RPT, s.rpt0 + <uint32_t>j + 1)
    le_put_i64(p + AT_TRANSACT, now)
    le_put_i64(p + AT_BID_PX, ask - s.spread)
    le_put_i64(p + AT_ASK_PX, ask)


cdef Script _script(const uint8_t[::1] template, uint64_t seq0, uint32_t rpt0, int64_t g0, tuple prices) except *:
    cdef Script s
    if template.shape[0] != PACKET_BYTES:
        raise ValueError(f"the template must be a one-level BookRefresh packet of {PACKET_BYTES} bytes, "
                         f"not {template.shape[0]}")
    s.seq0, s.rpt0, s.g0 = seq0, rpt0, g0
    s.ask_base, s.tick, s.spread, s.cycle = prices
    if s.cycle <= 0:
        raise ValueError("cycle must be > 0")
    return s


def render(const uint8_t[::1] template, uint64_t seq0, uint32_t rpt0, int64_t g0, tuple prices, int64_t j,
           int64_t now) -> bytes:
    """Quote j's packet as pace() and burst() send it, sent at `now` (for tests)."""
    cdef Script s = _script(template, seq0, rpt0, g0, prices)
    cdef uint8_t buf[MAX_DATAGRAM]
    memcpy(buf, &template[0], PACKET_BYTES)
    _patch(buf, &s, j, now)
    return bytes(buf[:PACKET_BYTES])


def pace(int fd, const uint8_t[::1] template, uint64_t seq0, uint32_t rpt0, int64_t g0, tuple prices,
         const int64_t[::1] due, int64_t[::1] sent, int64_t[::1] progress, int64_t spin_ns=25_000,
         int priority=1, int64_t max_spin_ns=0) -> dict:
    """Sends quote j (j = 0 .. len(due)-1) on the connected UDP socket fd at due[j] (CLOCK_REALTIME
    ns), or at once when that time has passed; sent[j] is the clock read right before its send().
    progress[0] is the number sent so far (read by another thread). The calling thread sleeps
    until shortly before each due time and spins the rest, under SCHED_FIFO at `priority` where
    permitted (0: never). How long before: spin_ns, or, when max_spin_ns is larger, what the
    thread's own wake-ups have been late by (the latest lateness at once when it grows, decaying
    by 1/64 a wake-up when it shrinks) plus 2 us, within spin_ns .. max_spin_ns: a host whose
    timer wakes a thread 20 us late would otherwise send every quote late by the difference.
    Returns {"fifo": granted, "lost": datagrams the kernel refused, "spin_ns": the spin at the
    end, "wake_late_max_ns": the latest wake-up}."""
    cdef Script s = _script(template, seq0, rpt0, g0, prices)
    cdef Py_ssize_t n = due.shape[0], j
    cdef uint8_t buf[MAX_DATAGRAM]
    cdef int fifo, old_policy, rc = 0
    cdef sched_param old
    cdef int64_t now, d, lost = 0, late, late_est = 0, late_max = 0, spin = spin_ns
    if sent.shape[0] < n or progress.shape[0] < 1:
        raise ValueError("sent must hold len(due) stamps and progress one count")
    memcpy(buf, &template[0], PACKET_BYTES)
    with nogil:
        fifo = fxp_enter(priority, &old_policy, &old)
        for j in range(n):
            d = due[j]
            now = fx_realtime_ns()
            if d - now > spin:
                fxp_sleep_until(d - spin)
                now = fx_realtime_ns()
                late = now - (d - spin)
                if late > late_max:
                    late_max = late
                if max_spin_ns > spin_ns:
                    if late > late_est:
                        late_est = late
                    else:
                        late_est -= (late_est - late) >> 6
                    spin = late_est + 2_000
                    if spin < spin_ns:
                        spin = spin_ns
                    elif spin > max_spin_ns:
                        spin = max_spin_ns
            while now < d:
                fx_cpu_relax()
                now = fx_realtime_ns()
            _patch(buf, &s, j, now)
            now = fx_realtime_ns()
            sent[j] = now
            rc = fxp_send(fd, buf, PACKET_BYTES)
            if rc < 0:
                break
            lost += 1 - rc
            fx_store_release_i64(&progress[0], j + 1)
        fxp_leave(old_policy, &old)
    if rc < 0:
        raise OSError(-rc, f"the pacer's send() failed at quote {j}")
    return {"fifo": bool(fifo), "lost": lost, "spin_ns": spin, "wake_late_max_ns": late_max}


def burst(int fd, const uint8_t[::1] template, uint64_t seq0, uint32_t rpt0, int64_t g0, tuple prices,
          int64_t seconds_ns, int64_t[::1] progress) -> dict:
    """Quotes as fast as the kernel takes them (sendmmsg, FXP_BATCH a call) for seconds_ns, in
    the thread's own scheduling class (a FIFO thread that never sleeps would starve the journal
    on its core). progress[0]: the number sent so far. Returns {"sent", "lost", "t0", "t1"}."""
    cdef Script s = _script(template, seq0, rpt0, g0, prices)
    cdef uint8_t bufs[64][MAX_DATAGRAM]
    cdef int k, rc = 0, batch = FXP_BATCH
    cdef int64_t j = 0, t0, t1, end, lost = 0, now
    if batch > 64:
        batch = 64
    for k in range(batch):
        memcpy(bufs[k], &template[0], PACKET_BYTES)
    with nogil:
        t0 = fx_realtime_ns()
        end = t0 + seconds_ns
        now = t0
        while now < end:
            for k in range(batch):
                _patch(bufs[k], &s, j + k, now)
            rc = fxp_send_batch(fd, bufs, batch, PACKET_BYTES)
            if rc < 0:
                break
            lost += batch - rc
            j += batch
            fx_store_release_i64(&progress[0], j)
            now = fx_realtime_ns()
        t1 = now
    if rc < 0:
        raise OSError(-rc, "the burst's sendmmsg() failed")
    return {"sent": j, "lost": lost, "t0": t0, "t1": t1}


def echo(int rx_fd, int tx_fd, int every, int order_bytes, long long stop) -> int:
    """The floor's echo (in its own process, on the trader's core): spins on the non-blocking
    UDP socket rx_fd; every `every`th datagram's first 8 bytes go back at the start of an
    order_bytes message on the TCP socket tx_fd. A datagram whose first 8 bytes are `stop` ends
    it. Returns the datagrams seen."""
    cdef long long r
    if every <= 0 or order_bytes < 8:
        raise ValueError("every must be > 0 and order_bytes >= 8")
    with nogil:
        r = fxp_echo(rx_fd, tx_fd, every, order_bytes, stop)
    if r < 0:
        raise OSError(<int>-r, "the floor's echo failed")
    return r
