"""The few libc calls the journal makes that Python's os module does not offer (msync of a range
of a mapping it did not make writable, sync_file_range), looked up once through ctypes; None
where the C library has no such function, and the caller then does without."""
from __future__ import annotations

import ctypes
from collections.abc import Callable


def libc_function(name: str, argtypes: tuple, restype=ctypes.c_int) -> Callable | None:
    """libc's `name` with its argument and result types set (errno kept for ctypes.get_errno),
    or None."""
    try:
        fn = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None
    fn.argtypes = argtypes
    fn.restype = restype
    return fn
