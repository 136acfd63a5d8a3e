"""The shared-memory layout: the C compiler's offsets against the Python mirror, and the
alignment that keeps writers of different processes off each other's cache lines."""
import numpy as np

from fxpipe.ring import Ring, header_size, layout_offsets
from fxpipe.ring import layout as L


def test_c_constants_equal_python_mirror():
    from fxpipe.ring import ring as cring

    assert cring.MAGIC == L.MAGIC and cring.LAYOUT_VERSION == L.LAYOUT_VERSION
    assert cring.MAX_CONSUMERS == L.MAX_CONSUMERS


def test_c_offsets_equal_python_mirror():
    assert layout_offsets() == L.offsets_in_c_order()
    assert header_size() == L.HEADER.itemsize


def test_every_cross_process_writer_owns_its_lines():
    h = L.HEADER.fields
    assert h["cursor"][1] % L.LINE == 0
    assert h["gating_cache"][1] % L.LINE == 0
    assert h["futex"][1] % L.LINE == 0
    for i in range(L.MAX_CONSUMERS):
        assert (h["consumers"][1] + i * L.CONSUMER.itemsize) % L.LINE == 0
    # The consumer's sequence is alone on its line: metadata starts a line later.
    assert L.CONSUMER.fields["state"][1] == L.LINE


def test_header_read_through_mirror(ring_name):
    with Ring.create(ring_name, slot_size=128, slot_count=64, producer="multi",
                     consumers=["journal", ("decision", ["journal"])]) as r:
        raw = np.frombuffer(open(r.path, "rb").read(L.HEADER.itemsize), dtype=L.HEADER)[0]
        assert raw["id"]["magic"] == 0x31474E4952584621
        assert raw["id"]["slot_size"] == 128 and raw["id"]["slot_count"] == 64
        assert raw["id"]["slots_offset"] % 4096 == 0
        assert raw["cursor"]["value"] == -1
        assert raw["consumers"][1]["name"] == b"decision"
        assert raw["consumers"][1]["depends_mask"] == 1
