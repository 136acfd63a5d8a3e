# cython: language_level=3, boundscheck=False, wraparound=False
"""A spinning worker's idle wait, in C: until one of its sockets is readable, one of the rings it
reads has an event for it, or a bound passes, without the GIL and without running Python.

A worker that spins in its Python loop runs the whole loop (every source's poll, the order
sessions' poll, each ring's read) tens of thousands of times between two quotes; each pass
costs microseconds before a new datagram is even looked at, and it pushes the code and data of
the quote → order path out of the core's caches, so the next quote runs that path cold. Here the
idle core runs a few dozen bytes of C: a load of each ring's cursor and a read of each binary
feed's socket per turn (the read that finds a quote takes it), one epoll_wait(0) over every
other socket every fourth turn (the order sessions' own epoll set is one of them) and, at its
period, the order gateway's warm() (the order path's pure steps on the last request, so the
next order finds them in the caches), after the send-path warmer's byte when one is due. The
bound keeps the Python loop's timers (heartbeats, request deadlines, the strategies' timer) on
time.
"""
from libc.stdint cimport int64_t

from fxpipe.includes.atomic cimport fx_cpu_relax, fx_monotonic_ns
from fxpipe.ring.barrier cimport ConsumerC, consumer_available
from fxpipe.feed.books cimport FeedBooks, HeldBatch, held_take
from fxpipe.ring.endpoints cimport Consumer
from fxpipe.runtime.sendwarm cimport SendPathWarmer


cdef extern from "<sys/epoll.h>" nogil:
    ctypedef union epoll_data_t:
        int fd
    cdef struct epoll_event:
        unsigned int events
        epoll_data_t data
    int epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout)


cdef enum:
    MAX_RINGS = 16
    MAX_FEEDS = 16
    SOCKET_EVERY = 4        # ring cursors every turn, the sockets' epoll set every 4th


cdef enum:
    READY_RING = -1
    BOUND_PASSED = -2


def spin_wait_fd(int epoll_fd, consumers, int64_t max_ns, feeds=(), warm=None, int64_t warm_every_ns=0,
                 SendPathWarmer send_warmer=None):
    """Spin until the epoll set epoll_fd (-1: none) has an event, one of `consumers`
    (fxpipe.ring Consumers, at most 16) has an event past its last release, one of `feeds` has
    datagrams, or max_ns passed. Returns what ended the wait: the socket found readable (its fd,
    as registered in the epoll set, or a feed's), -1 when a ring has an event (or epoll_wait
    failed: the loop meets the error), -2 when the bound passed. The worker then reads that
    socket without asking the epoll set again.

    feeds: (FeedBooks, fd) of the binary feeds' incremental sockets (at most 16). Each turn
    reads them (recvmmsg, non-blocking) instead of asking an epoll set whether they are
    readable: the read that finds a quote is the read that takes it, stamped as it leaves the
    socket and held in the books (FeedBooks.held) for the feed stage's next drain, one system
    call from the datagram's arrival to its receive stamp, as a plain spinning receiver has it.

    warm: called (with the GIL) every warm_every_ns of the wait, first after one period: the
    order gateway's warm(), which runs the order path's pure steps on its last request so the
    next order finds them in the caches. It must not raise (GatewayCore.warm does not).
    send_warmer: ticked on the same turns, before warm (fxpipe.runtime.sendwarm: a byte through
    the kernel's TCP send path at its own period), so the order path's code is the last the
    wait ran."""
    cdef ConsumerC* cs[MAX_RINGS]
    cdef int64_t want[MAX_RINGS]
    cdef HeldBatch* held[MAX_FEEDS]
    cdef int feed_fd[MAX_FEEDS]
    cdef int n = 0, nf = 0, i, ready = BOUND_PASSED
    cdef FeedBooks books
    cdef unsigned int turn = 0
    cdef epoll_event ev
    cdef int64_t deadline, now, next_warm = 0
    cdef bint warming = warm is not None and warm_every_ns > 0
    cdef bint sending = send_warmer is not None
    cdef Consumer c
    for obj in consumers:
        if n == MAX_RINGS:
            raise ValueError(f"spin_wait_fd watches at most {MAX_RINGS} rings")
        c = <Consumer?>obj
        cs[n] = &c.c
        want[n] = c._next
        n += 1
    for obj, fd in feeds:
        if nf == MAX_FEEDS:
            raise ValueError(f"spin_wait_fd reads at most {MAX_FEEDS} feeds")
        books = <FeedBooks?>obj
        held[nf] = &books.held
        feed_fd[nf] = fd
        nf += 1
    deadline = fx_monotonic_ns() + max_ns
    if warming:
        next_warm = deadline - max_ns + warm_every_ns
    with nogil:
        while ready == BOUND_PASSED:
            for i in range(n):
                if consumer_available(cs[i], want[i]) >= want[i]:
                    ready = READY_RING
                    break
            if ready != BOUND_PASSED:
                break
            for i in range(nf):
                if held_take(held[i], feed_fd[i]) != 0:     # datagrams held, or an error to meet
                    ready = feed_fd[i]
                    break
            if ready != BOUND_PASSED:
                break
            turn += 1
            if epoll_fd >= 0 and turn % SOCKET_EVERY == 0:
                i = epoll_wait(epoll_fd, &ev, 1, 0)
                if i > 0:
                    ready = ev.data.fd
                    break
                if i < 0:                   # an error the loop will meet: let it run
                    ready = READY_RING
                    break
            if (warming or sending) and turn % SOCKET_EVERY == 0:
                now = fx_monotonic_ns()
                if sending:
                    send_warmer.tick(now)
                if warming and now >= next_warm:
                    with gil:
                        warm()
                    next_warm = now + warm_every_ns
            if turn % 64 == 0 and fx_monotonic_ns() >= deadline:
                break
            fx_cpu_relax()
    return ready
