"""Reading and type-checking TOML settings, shared by the FIX session settings and the venue
simulator's config: the file read with an error that says which file and why, and the type
tests TOML values need (a TOML boolean is a Python int, so "an integer" and "a number" must
leave booleans out)."""
from __future__ import annotations

import tomllib
from pathlib import Path


def read_toml(path: Path, error: type[Exception], missing: str) -> dict:
    """The document in path; `error(f"{path}: {missing}")` when there is no such file, and
    `error` naming the TOML mistake when it does not parse."""
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise error(f"{path}: {missing}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from None


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
