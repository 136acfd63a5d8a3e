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


@pytest.fixture(autouse=True)
def _fxpipe_logging_restored():
    """A test that configures fxpipe's JSON logging (handlers, level, propagation) must not
    change what the next test's log capture sees."""
    import logging

    root = logging.getLogger("fxpipe")
    saved = (list(root.handlers), root.level, root.propagate)
    yield
    for h in list(root.handlers):
        if h not in saved[0]:
            root.removeHandler(h)
    root.setLevel(saved[1])
    root.propagate = saved[2]
