"""A loopback port that is free now and stays free until the process it is meant for binds it.

The usual way (bind port 0, read the number, close) hands back a port from the kernel's
ephemeral range: the very range the kernel draws from for every connect() and unbound UDP send
in the meantime. A venue configuration written with such a port, or a feed channel a desk is
told to listen on, can find it taken when the venue or the desk starts a moment later (by the
harness's own UDP sender, say): `Address already in use`, and a worker that dies on start.
A port below the ephemeral range is never handed out that way, so only another process choosing
the same number on purpose can take it.
"""
from __future__ import annotations

import random
import socket
from collections.abc import Iterator

_EPHEMERAL_RANGE = "/proc/sys/net/ipv4/ip_local_port_range"
LOWEST = 10_000                 # below: well-known and registered services' ports
_TRIES = 500


def ephemeral_range() -> tuple[int, int]:
    """The kernel's ephemeral port range (Linux's default where it cannot be read)."""
    try:
        with open(_EPHEMERAL_RANGE) as fh:
            low, high = (int(v) for v in fh.read().split())
        return low, high
    except (OSError, ValueError):
        return 32_768, 60_999


def unused_port(*kinds: int) -> int:
    """A port on 127.0.0.1 that binds now for each socket kind given (SOCK_STREAM, SOCK_DGRAM;
    none: both), chosen at random below the ephemeral range. Raises OSError when none is found
    (the range is exhausted or the ephemeral range starts too low to leave room)."""
    kinds = kinds or (socket.SOCK_STREAM, socket.SOCK_DGRAM)
    low, _ = ephemeral_range()
    if low - LOWEST < 1_000:
        return _kernel_port(kinds)
    for _, port in zip(range(_TRIES), _candidates(low), strict=False):
        if all(_binds(kind, port) for kind in kinds):
            return port
    raise OSError(f"no free loopback port in {LOWEST}..{low - 1} after {_TRIES} tries")


def _candidates(below: int) -> Iterator[int]:
    rng = random.SystemRandom()
    while True:
        yield rng.randrange(LOWEST, below)


def _binds(kind: int, port: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _kernel_port(kinds: tuple[int, ...]) -> int:
    """Where no room is left below the ephemeral range: the kernel's choice (the old way)."""
    for _ in range(_TRIES):
        with socket.socket(socket.AF_INET, kinds[0]) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if all(_binds(kind, port) for kind in kinds[1:]):
            return port
    raise OSError("no loopback port binds for every kind asked")
