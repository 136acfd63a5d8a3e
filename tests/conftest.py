import os
import uuid

import pytest

from fxpipe.ring import segment


@pytest.fixture
def ring_name():
    """A unique ring name; any segment left under it is removed after the test."""
    name = f"t{os.getpid()}-{uuid.uuid4().hex[:10]}"
    yield name
    try:
        os.unlink(segment.segment_path(name))
    except FileNotFoundError:
        pass
