# cython: language_level=3, boundscheck=False, wraparound=False
"""The order gateway's write-ahead step, in C: one input event numbered, stamped, journaled,
handed to the oms stage, and what the stage made of it journaled, before anything leaves.

Every event the oms takes (a mark, an intent, a venue's report and its Fill, a timer, a control,
a session edge) goes through here, so it is on the order path twice per order (the mark, then
the intent) and on every report. In Python the step's glue (two copies of the event, field
packing through struct, the outputs' bytes, a journal call each) cost more than the stage's C
core itself. What the outputs mean (a request to send, a status to ask) stays the gateway's.
"""
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint64_t

from fxpipe.journal.layout cimport RT_RESERVED_MIN
from fxpipe.model.events cimport EVENT_SIZE, Event, copy_event

cdef enum:
    JOURNAL_INPUT = 0x01           # fxpipe.journal.layout.FLAG_INPUT
    JOURNAL_OUTPUT = 0x02          # fxpipe.journal.layout.FLAG_OUTPUT


cdef int _copy_event(object event, Event* out) except -1:
    cdef Py_ssize_t n
    # bytes and bytearrays as they are (a hasattr() that fails raises and catches an
    # AttributeError: ~0.3 us, twice an order); a numpy record (or a memoryview) as its bytes
    if type(event) is not bytearray and type(event) is not bytes and hasattr(event, "tobytes"):
        event = event.tobytes()
    n = copy_event(event, out, "an event")
    if n != EVENT_SIZE:
        raise ValueError(f"an event is {EVENT_SIZE} bytes, got {n}")
    if out.hdr.type == 0 or out.hdr.type >= RT_RESERVED_MIN:
        raise ValueError(f"event type {out.hdr.type} is not an event")
    return 0


cdef class WriteAhead:
    """The gateway's step for each input: `seq` is the last input sequence given (the next input
    gets seq + 1, as recovery continues it). The stage is `on_event(bytes)`, or `first(bytes, 0)`
    then, where that gives None (having changed nothing), `on_event(bytes)`: a stage with a C
    path (OmsStage.c_path, python_path) is called without a Python frame on its common paths."""
    # attributes: writeahead.pxd

    def __init__(self, SegmentAppender appender, on_event, clock, int64_t seq, int stage_id, first=None):
        if not 0 <= stage_id <= 255:
            raise ValueError(f"stage_id must be within 0..255, got {stage_id}")
        self.appender = appender
        self.on_event = on_event
        self.first = first
        owner = getattr(first, "__self__", None)
        # the stage's C path itself: called without going through Python on every input
        self.core = owner if isinstance(owner, StageCore) and first == owner.on_event else None
        self.clock = clock
        self.seq = seq
        self.stage_id = <uint8_t>stage_id

    cpdef object feed(self, event):
        """One input event (its bytes, or a record): numbered (the next input sequence), stamped
        with the clock if it carries no receive time, journaled as an input, given to the
        stage. Returns None when the stage made nothing of it (a mark, most often), else
        (outputs, their bytes), each output journaled already in order. An output the stage
        made as a bytearray is its own bytes (the same object in both)."""
        cdef Event e
        cdef int64_t ts
        cdef object b
        cdef const unsigned char* p
        cdef Py_ssize_t n
        cdef list out_raw
        _copy_event(event, &e)
        e.hdr.sequence = self.seq + 1
        ts = e.hdr.ts_receive_ns
        if ts == 0:
            ts = self.clock()
            e.hdr.ts_receive_ns = ts
        self.appender.append_raw(e.hdr.type, <const unsigned char*>&e, EVENT_SIZE, ts, JOURNAL_INPUT,
                                 self.stage_id)
        self.seq += 1              # journaled: the number is used, whatever the stage does next
        raw = PyBytes_FromStringAndSize(<const char*>&e, EVENT_SIZE)
        outputs = None
        if self.core is not None:
            outputs = self.core.on_event(raw, 0)
        elif self.first is not None:
            outputs = self.first(raw, 0)
        if outputs is None:
            outputs = self.on_event(raw)
        if not outputs:
            return None
        out_raw = []
        for out in outputs:
            if type(out) is bytearray:
                b = out
                p, n = <const unsigned char*>PyByteArray_AS_STRING(b), PyByteArray_GET_SIZE(b)
            else:
                b = out if type(out) is bytes else out.tobytes()
                p, n = <const unsigned char*>PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b)
            if n < 2:
                raise ValueError("the stage made an output of fewer than 2 bytes")
            self.appender.append_raw(<uint16_t>(p[0] | p[1] << 8), p, <uint64_t>n, ts, JOURNAL_OUTPUT,
                                     self.stage_id)
            out_raw.append(b)
        return outputs, out_raw
