"""CRC32C for Python: the checksum the journal puts on every record, exposed for tests, tools
and the benchmark. The hardware (SSE4.2) path is chosen at import when the CPU has it; the
table path is always available so the two can be checked against each other."""
from fxpipe.journal.crc cimport fxj_crc32c, fxj_crc32c_init, fxj_crc32c_table, fxj_crc_hw

fxj_crc32c_init(0)


def crc32c(const unsigned char[::1] data not None) -> int:
    """CRC32C of a bytes-like object, by the path the journal uses on this CPU."""
    return fxj_crc32c(&data[0] if data.shape[0] else NULL, data.shape[0])


def crc32c_table(const unsigned char[::1] data not None) -> int:
    """CRC32C by the portable table path, whatever the CPU."""
    return fxj_crc32c_table(&data[0] if data.shape[0] else NULL, data.shape[0])


def uses_hardware() -> bool:
    """True when the SSE4.2 crc32 instruction computes the journal's checksums here."""
    return fxj_crc_hw != 0
