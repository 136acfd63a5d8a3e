"""fxpipe: the backend of a systematic FX trading desk.

Stages (feed, decision, oms, persistence) run as pinned processes linked by Disruptor-style
rings in POSIX shared memory; the hot core is Cython (cython/), this package is the glue.
"""

__version__ = "0.1.0"
