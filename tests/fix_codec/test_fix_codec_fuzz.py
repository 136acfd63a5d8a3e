"""Property fuzzing of the parser (hypothesis): arbitrary and mutated input never crashes, is
never read beyond the range given, and is always a message (whose fields rebuild exactly the
bytes) or a FixParseError with a known reason. fuzz/ holds the atheris harness for long runs."""
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fuzz"))
from fix_codec_msgs import execution_report, new_order_single, snapshot  # noqa: E402
from fix_parser import KNOWN_REASONS, check_one, reframe  # noqa: E402

from fxpipe.fix import codec  # noqa: E402

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VALID = [execution_report(), new_order_single(), snapshot()]
BODIES = [v[v.index(b"\x0135=") + 1:-7] for v in VALID]
TOKENS = [b"\x01", b"=", b"8=FIX.4.2\x01", b"9=", b"10=", b"35=", b"268=", b"269=", b"95=", b"96=",
          b"0", b"9", b"-", b".", b"\xff", b"\x00", b"Y"]


def test_fuzz_harness_accepts_the_valid_messages():
    for raw in VALID:
        check_one(raw)
        codec.parse(raw)


@SETTINGS
@given(st.binary(max_size=400))
def test_arbitrary_bytes(data):
    check_one(data)
    check_one(reframe(data))


@st.composite
def mutated(draw):
    body = bytearray(draw(st.sampled_from(BODIES)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.integers(0, 3))
        pos = draw(st.integers(0, len(body)))
        if op == 0 and body:
            del body[min(pos, len(body) - 1)]
        elif op == 1:
            body[pos:pos] = draw(st.sampled_from(TOKENS))
        elif op == 2 and pos < len(body):
            body[pos] = draw(st.integers(0, 255))
        else:
            end = draw(st.integers(pos, len(body)))
            body[pos:pos] = body[pos:end]      # duplicate a run of fields
    return bytes(body)


@SETTINGS
@given(mutated())
def test_mutated_messages_are_messages_or_reasoned_rejects(body):
    check_one(reframe(body))


@SETTINGS
@given(mutated(), st.binary(max_size=40))
def test_never_reads_past_the_range(body, tail):
    raw = reframe(body)
    # Bytes after `end` that would change the result if read: a valid continuation.
    stream = b"xx" + raw + tail + b"10=000\x01" + execution_report()
    try:
        alone = codec.parse(raw).fields()
    except codec.FixParseError as exc:
        alone = exc.reason
    try:
        ranged = codec.parse(stream, start=2, end=2 + len(raw)).fields()
    except codec.FixParseError as exc:
        ranged = exc.reason
    assert alone == ranged


@SETTINGS
@given(st.sampled_from(VALID), st.data())
def test_every_truncation_is_incomplete_and_rejected(raw, data):
    cut = data.draw(st.integers(0, len(raw) - 1))
    assert codec.frame_length(raw[:cut]) == 0
    try:
        codec.parse(raw[:cut])
    except codec.FixParseError as exc:
        assert exc.garbled and exc.reason in KNOWN_REASONS
    else:
        raise AssertionError("a truncated message parsed")
