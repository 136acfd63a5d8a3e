"""Pages readied ahead of a memory-mapped writer (the journal, a FIX session's store), so its
appends on the order path take no first-touch page fault.

A first write to a page of a shared file mapping faults (~2.5 us on a VM, ext4): one record in
~16 paid that on the order path. A writer calls its prefault() in idle moments; `Ahead` says
when that is worth a system call, and `populate_write` is the call for a Python mmap (the
journal's C appender makes its own). Each page is readied once: on a file system that tracks
dirty pages (ext4) a write-back (a sync) write-protects the pages it wrote, and the next write
to each of them faults again (~1.7 us). Readying them again after every sync would dirty them
again and make the next sync write them once more, so that fault is left to happen: one per
page per sync, at most, where the first-touch faults were one per page.
"""
from __future__ import annotations

import errno
import mmap

MADV_POPULATE_WRITE = 23        # Linux 5.14+; older kernels answer EINVAL
PAGE = mmap.PAGESIZE
PREFAULT_BYTES = 64 << 10       # 16 pages, ~290 records of a 192-byte event; readied 32 KB at a time


class Ahead:
    """When an idle writer should ready pages: when it has written into the second half of what
    was readied last (or started a new file). Nothing when nothing was written since."""

    def __init__(self, nbytes: int = PREFAULT_BYTES):
        self.nbytes = nbytes
        self._key: object = None
        self._end = 0

    def due(self, key: object, pos: int) -> bool:
        """key names the file written (a segment), pos is the write position in it."""
        if key != self._key:
            self._key, self._end = key, 0
        return pos + self.nbytes // 2 > self._end

    def readied(self, start: int, n: int) -> None:
        """n bytes from start were readied; fewer than asked (the file's end, a kernel that could
        not) counts as all of them, so a refusal is not asked again at every idle moment."""
        self._end = start + max(n, self.nbytes)


def populate_write(mm: mmap.mmap, start: int, end: int) -> int:
    """Maps [start, end) of mm (rounded out to pages, within the mapping) writable in this
    process now. Returns the bytes readied; 0 where the kernel cannot (the writes then fault as
    they go), -1 where it never will (no MADV_POPULATE_WRITE: stop asking)."""
    start &= ~(PAGE - 1)
    end = min(-(-end // PAGE) * PAGE, len(mm))
    if end <= start:
        return 0
    try:
        mm.madvise(MADV_POPULATE_WRITE, start, end - start)
    except OSError as exc:
        return -1 if exc.errno in (errno.EINVAL, errno.ENOSYS) else 0
    return end - start
