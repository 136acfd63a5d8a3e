# cython: language_level=3, boundscheck=False, wraparound=False
"""What a FIX connection (fxpipe.fix.session.connection) does with every message sent, in C:
the bytes handed to the kernel at once, only what it would not take kept for later.

On the order path this runs between the send stamp and the bytes reaching the kernel, so every
interpreted line and the socket object's own call (argument parsing, its timeout logic) counted
in the order's time on the wire; here it is one send(2) on the socket's descriptor. The socket
is non-blocking (the engine makes it so); what the kernel does not take is queued and the
engine watches for the socket to be writable, as before.
"""
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from libc.errno cimport EAGAIN, EINTR, errno

import os


cdef extern from "<sys/socket.h>" nogil:
    ssize_t send(int fd, const void* buf, size_t n, int flags)


cdef extern from "<errno.h>" nogil:
    int EWOULDBLOCK


cdef class LinkWriter:
    """A Connection's writing state: its event loop (`engine`: lost(), watch()), its socket,
    the bytes queued behind what the kernel took (`wbuf`), whether it is open and since when it
    is closing (None: not closing)."""
    # attributes: linkwriter.pxd

    def _attach(self, engine, sock) -> None:
        self.engine = engine
        self.sock = sock
        self._fd = sock.fileno()
        self.wbuf = bytearray()
        self.open = True
        self.closing_since = None

    cpdef write(self, data):
        """Sends `data` now; what the kernel does not take is queued (and the engine asked to
        watch for the socket to be writable). Nothing is sent once the connection is closing or
        closed, and nothing overtakes what is queued."""
        self.write_c(data)

    cdef int write_c(self, data) except -1:
        """write() for a Cython caller (the session's outbox): a C call without the instance
        look-up a cpdef call makes; the caller uses it only while the object's type keeps
        LinkWriter.write (fxpipe.includes.overrides)."""
        cdef Py_buffer view
        cdef ssize_t sent
        cdef int err = 0
        if not self.open or self.closing_since is not None:
            return 0
        if len(self.wbuf):
            self.wbuf += data
            return 0
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        try:
            while True:
                sent = send(self._fd, view.buf, <size_t>view.len, 0)
                if sent >= 0:
                    break
                if errno == EINTR:
                    continue
                if errno == EAGAIN or errno == EWOULDBLOCK:
                    sent = 0
                else:
                    err = errno
                break
            if err:
                self.engine.lost(self, f"send failed: {os.strerror(err)}")
                return 0
            if sent < view.len:
                self.wbuf += data[sent:]
                self.engine.watch(self)
        finally:
            PyBuffer_Release(&view)
        return 0
