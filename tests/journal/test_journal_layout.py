"""The on-disk layout: the numpy mirror in fxpipe.journal.layout against the C structs as the
compiler lays them out, and the alignment every record relies on."""
import numpy as np
import pytest

from fxpipe.journal import layout as L
from fxpipe.journal.scan import layout_info

MIRRORS = {
    "SegmentHeader": L.SEGMENT_HEADER_DTYPE,
    "RecordHeader": L.RECORD_HEADER_DTYPE,
    "SealBody": L.SEAL_BODY_DTYPE,
    "RecordEntry": L.RECORD_INDEX_DTYPE,
}


@pytest.mark.parametrize("name", sorted(MIRRORS))
def test_numpy_dtype_matches_c_struct(name):
    size, offsets = layout_info()[name]
    dt = MIRRORS[name]
    assert dt.itemsize == size
    assert {f: dt.fields[f][1] for f in dt.names} == offsets


def test_sizes_are_multiples_of_eight_and_constants_agree():
    info = layout_info()
    assert info["SegmentHeader"][0] == L.SEGMENT_HEADER_SIZE == 64
    assert info["RecordHeader"][0] == L.RECORD_HEADER_SIZE == 32
    assert info["SealBody"][0] == L.SEAL_BODY_SIZE
    assert L.SEAL_RECORD_SIZE == L.RECORD_HEADER_SIZE + L.SEAL_BODY_SIZE
    for size, _ in info.values():
        assert size % 8 == 0


def test_eight_byte_fields_are_naturally_aligned():
    for dt in MIRRORS.values():
        for f in dt.names:
            sub, off = dt.fields[f][:2]
            assert off % sub.alignment == 0, f"{f} at {off}"


def test_record_size_pads_to_eight():
    assert [L.record_size(n) for n in (0, 1, 7, 8, 9, 16)] == [32, 40, 40, 40, 48, 48]


def test_magic_spells_the_format_name():
    assert np.uint64(L.SEGMENT_MAGIC).tobytes() == b"FXJRNL\x00\x01"
