"""Where fxpipe's shipped configuration lives: config/ of the source tree when running from it,
else the copy a wheel carries as package data (fxpipe/_data/config, made by setup.py from the
same config/ at build time). The repository's config/ stays the one place to edit."""
from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_SOURCE_TREE = _PACKAGE.parents[1]
PACKAGED = _PACKAGE / "_data" / "config"


def config_dir() -> Path:
    if (_SOURCE_TREE / "setup.py").is_file() and (_SOURCE_TREE / "config").is_dir():
        return _SOURCE_TREE / "config"
    return PACKAGED


def config_file(*parts: str) -> Path:
    return config_dir().joinpath(*parts)
