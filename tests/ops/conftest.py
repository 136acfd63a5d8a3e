import os
import sys
import uuid
from pathlib import Path

import pytest

from fxpipe.ring import segment

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "oms"))      # the scripted venue of the oms tests


@pytest.fixture
def prefix():
    """A unique ring prefix; its rings and status files are removed after the test."""
    p = f"t{os.getpid()}-{uuid.uuid4().hex[:8]}"
    yield p
    for path in list(segment.SHM_DIR.iterdir()):
        if path.name.startswith(segment.PREFIX + p + ".") or path.name.startswith(p + ".status."):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
