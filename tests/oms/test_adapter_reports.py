"""A venue adapter's reading of an ExecutionReport: the normalised events' bytes, stamped with
the venue and the receive time; checked against the FIX 4.2 dictionary unless the session that
took the message has done so already."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fix_codec"))
from fix_codec_msgs import EXEC_REPORT_BODY, header, wire  # noqa: E402

import fxpipe.model.events as ev  # noqa: E402
from fxpipe.fix import bridge  # noqa: E402
from fxpipe.fix.codec import FixParseError  # noqa: E402
from fxpipe.oms.venues.adapters import EcnAdapter  # noqa: E402


def test_a_report_becomes_its_events_bytes_stamped_with_venue_and_receive_time():
    raw = wire(header("8") + EXEC_REPORT_BODY)
    update, fill = EcnAdapter().report("8", raw, 7, 123_456)
    assert type(update) is bytearray and type(fill) is bytearray
    u0, f0 = bridge.execution_report_to_events(raw)
    for got, plain in ((update, u0), (fill, f0)):
        rec = ev.read(bytearray(got))
        assert (int(rec["venue_id"]), int(rec["ts_receive_ns"])) == (7, 123_456)
        patched = ev.read(bytearray(plain))
        patched["venue_id"], patched["ts_receive_ns"] = 7, 123_456
        assert bytes(got) == patched.tobytes()


def test_a_report_outside_the_dictionary_is_refused_unless_the_session_checked_it():
    raw = wire(header("8") + EXEC_REPORT_BODY.replace("54=1|", "54=Z|"))
    with pytest.raises(FixParseError, match="tag 54"):
        EcnAdapter().report("8", raw, 1, 1)
    # a session that validates would have refused it before; one that does not is trusted as set up
    update, _ = EcnAdapter().report("8", raw, 1, 1, validate=False)
    assert int(ev.read(bytearray(update))["type"]) == ev.EventType.ORDER_UPDATE
