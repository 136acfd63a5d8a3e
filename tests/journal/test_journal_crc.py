"""CRC32C: the standard vectors, the SSE4.2 path against the table path, and a journal written
with the table path read back with the hardware one."""
import os
import random
import subprocess
import sys

import pytest

from fxpipe.journal import JournalReader
from fxpipe.journal.crc import crc32c, crc32c_table, uses_hardware

VECTORS = [
    (b"", 0x00000000),
    (b"123456789", 0xE3069283),
    (bytes(32), 0x8A9136AA),            # RFC 3720 B.4
    (b"\xff" * 32, 0x62A8AB43),
    (bytes(range(32)), 0x46DD794E),
    (bytes(range(31, -1, -1)), 0x113FDB5C),
]


@pytest.mark.parametrize("data,expected", VECTORS)
def test_standard_vectors_both_paths(data, expected):
    assert crc32c(data) == expected
    assert crc32c_table(data) == expected


def test_hardware_and_table_agree_on_every_length_and_alignment():
    rng = random.Random(4)
    blob = bytes(rng.getrandbits(8) for _ in range(4096))
    mv = memoryview(blob)
    for _ in range(3000):
        start = rng.randrange(0, 64)
        n = rng.randrange(0, 1500)
        piece = mv[start:start + n]
        assert crc32c(piece) == crc32c_table(piece)


def test_hardware_path_is_used_when_the_cpu_has_it():
    with open("/proc/cpuinfo") as f:
        has = " sse4_2" in f.read()
    assert uses_hardware() == has


def test_journal_written_with_table_crc_reads_back_with_hardware_crc(tmp_path):
    code = (
        "import sys; sys.path.insert(0, 'tests/journal');"
        "from fxpipe.journal.crc import uses_hardware; assert not uses_hardware();"
        "from fxpipe.journal import Journal; import jtestdata as d;"
        f"j = Journal.open({str(tmp_path / 'j')!r}, segment_size=1 << 16, fsync='never');"
        "d.write(j, 700); j.close()"
    )
    env = dict(os.environ, FXPIPE_CRC32C="table")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert r.returncode == 0, r.stderr
    sys.path.insert(0, os.path.dirname(__file__))
    import jtestdata

    with JournalReader(tmp_path / "j") as reader:
        assert jtestdata.check_all(reader) == 700
