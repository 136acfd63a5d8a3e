"""frame_length and next_frame_start: splitting a TCP byte stream into messages and resyncing
after garbage, as the transport does."""
import pytest
from fix_codec_msgs import execution_report, new_order_single, snapshot

from fxpipe.fix import codec
from fxpipe.fix.enums import GarbleReason


def split_stream(stream: bytes):
    """The transport's loop: frame, parse, on garbage drop to the next 8=FIX."""
    out, garbled, pos = [], 0, 0
    while pos < len(stream):
        try:
            n = codec.frame_length(stream, pos)
        except codec.FixParseError as exc:
            assert exc.garbled
            garbled += 1
            nxt = codec.next_frame_start(stream, pos + 1)
            pos = len(stream) if nxt < 0 else nxt
            continue
        if n == 0:
            break
        try:
            out.append(codec.parse(stream, start=pos, end=pos + n).seq_num)
        except codec.FixParseError as exc:
            assert exc.garbled
            garbled += 1
        pos += n
    return out, garbled, pos


def test_every_prefix_is_incomplete_not_an_error():
    raw = execution_report()
    for cut in range(len(raw)):
        assert codec.frame_length(raw[:cut]) == 0
    assert codec.frame_length(raw) == len(raw)


def test_frame_at_offset_and_with_following_bytes():
    a, b = new_order_single(1), snapshot(2)
    stream = a + b + b"8=FIX.4"
    assert codec.frame_length(stream) == len(a)
    assert codec.frame_length(stream, len(a)) == len(b)
    assert codec.frame_length(stream, len(a) + len(b)) == 0
    assert codec.frame_length(bytearray(stream), len(a)) == len(b)
    assert codec.frame_length(memoryview(stream), len(a)) == len(b)
    with pytest.raises(ValueError, match="outside"):
        codec.frame_length(stream, len(stream) + 1)


@pytest.mark.parametrize("junk,reason", [
    (b"GET / HTTP/1.1\r\n", GarbleReason.BEGIN_STRING),
    (b"8=FIX.4.2\x0135=D\x01", GarbleReason.BODY_LENGTH),
    (b"8=FIX.4.2\x019=12a\x01", GarbleReason.BODY_LENGTH),
    (b"8=FIX.4.2 with spaces\x01", GarbleReason.BEGIN_STRING),
    (b"8=FIX.4.2\x019=999999999\x01", GarbleReason.TOO_LARGE),
    (b"8=FIX.4.2\x019=5\x0135=0\x0111=", GarbleReason.BODY_LENGTH),
    (b"8=FIX.4.2\x019=5\x0135=0\x0110=1x", GarbleReason.CHECKSUM),
])
def test_garbage_raises_garbled(junk, reason):
    with pytest.raises(codec.FixParseError) as exc:
        codec.frame_length(junk)
    assert exc.value.reason == reason and exc.value.garbled


def test_max_body_is_enforced():
    raw = execution_report()
    with pytest.raises(codec.FixParseError) as exc:
        codec.frame_length(raw, max_body=100)
    assert exc.value.reason == GarbleReason.TOO_LARGE


def test_resync_after_garbage_and_a_bad_checksum():
    good = [execution_report(i) for i in range(1, 5)]
    bad_sum = execution_report(99)[:-4] + b"000\x01"
    stream = b"noise" + good[0] + b"\x00\xff8=FIY" + good[1] + bad_sum + good[2] + b"8=FIX.4.2\x019=" + good[3]
    seqs, garbled, _ = split_stream(stream)
    assert seqs == [1, 2, 3, 4]
    assert garbled >= 3


def test_stream_fed_byte_by_byte():
    msgs = [execution_report(i) for i in range(1, 4)]
    stream = b"".join(msgs)
    buf = b""
    seen = []
    for i in range(len(stream)):
        buf += stream[i:i + 1]
        n = codec.frame_length(buf)
        if n:
            seen.append(codec.parse(buf[:n]).seq_num)
            buf = buf[n:]
    assert seen == [1, 2, 3] and buf == b""


def test_next_frame_start():
    assert codec.next_frame_start(b"xx8=FIX.4.2") == 2
    assert codec.next_frame_start(b"xx8=FIX.4.2", 3) == -1
    assert codec.next_frame_start(b"xx8=8=F") == 4      # a tail that may still become 8=FIX
    assert codec.next_frame_start(b"888") == 2
    assert codec.next_frame_start(b"") == -1
