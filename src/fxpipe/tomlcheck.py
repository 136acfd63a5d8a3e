"""Reading and type-checking TOML settings, shared by the settings loaders (FIX sessions, the
venue simulator, reference data, risk limits, the OMS): the file read with an error that says
which file and why, and the type tests TOML values need (a TOML boolean is a Python int, so "an
integer" and "a number" must leave booleans out)."""
from __future__ import annotations

import tomllib
from pathlib import Path


def read_text(path: Path, error: type[Exception], missing: str) -> str:
    """The UTF-8 text of a settings file; `error(f"{path}: {missing}")` when there is no such
    file, `error` saying why when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: {missing}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read it: {exc}") from None


def read_toml(path: Path, error: type[Exception], missing: str) -> dict:
    """The document in path (read as read_text does), `error` naming the TOML mistake when it
    does not parse."""
    try:
        return tomllib.loads(read_text(path, error, missing))
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from None


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
