"""Fuzz the FIX parser with atheris: every input must be a message or a reasoned reject.

For each input: frame_length returns 0..len or raises FixParseError; parse (with and without
validation) returns a FixMessage whose fields reassemble to exactly the input, or raises
FixParseError with a known reason; the direct decoders, the event paths and the typed reads
the session makes of its own messages (session_fields) return or raise FixParseError. Anything else (another exception, a crash, an ASan report) is a finding.

    python fuzz/fix_parser.py -max_total_time=60 [corpus_dir]      (bounded run)
    ./fuzz/run.sh 60 [--asan]                                       (builds, seeds, runs)

Inputs are also re-framed (BodyLength and CheckSum made right) so the mutations reach the
field scanner and the dictionary checks, not only the framing.
"""
import sys

import atheris

with atheris.instrument_imports():
    from fxpipe.fix import bridge, codec, direct
    from fxpipe.fix.enums import UNSUPPORTED_BEGIN_STRING, GarbleReason, SessionRejectReason
    from fxpipe.fix.session import admin

KNOWN_REASONS = {int(r) for r in SessionRejectReason} | {int(g) for g in GarbleReason} | {
    UNSUPPORTED_BEGIN_STRING}
# What the session reads from a session message, as it reads it (typed accessors).
SESSION_INTS = (admin.HEART_BT_INT, admin.ENCRYPT_METHOD, admin.BEGIN_SEQ_NO, admin.END_SEQ_NO,
                admin.NEW_SEQ_NO, admin.REF_SEQ_NUM, admin.REF_TAG_ID, admin.SESSION_REJECT_REASON)
SESSION_CHARS = (admin.GAP_FILL_FLAG, admin.RESET_SEQ_NUM_FLAG, admin.POSS_DUP_FLAG, admin.POSS_RESEND)
SESSION_TIMES = (admin.SENDING_TIME, admin.ORIG_SENDING_TIME)


def session_fields(raw: bytes, validate: bool = True) -> None:
    m = codec.parse(raw, validate=validate)
    for tag in SESSION_INTS:
        m.get_int(tag)
    for tag in SESSION_CHARS:
        m.get_char(tag)
    for tag in SESSION_TIMES:
        m.get_utc_ns(tag)
    m.get_str(admin.TEST_REQ_ID)
    m.get_str(admin.TEXT)


DECODERS = (direct.decode_order, direct.decode_execution_report, direct.decode_order_cancel_reject,
            direct.decode_md_request, direct.decode_md_snapshot, session_fields,
            bridge.execution_report_to_events, bridge.cancel_reject_to_event)


def reframe(data: bytes) -> bytes:
    """data as the body of a message with correct BodyLength and CheckSum."""
    head = b"8=FIX.4.2\x019=%d\x01" % len(data)
    msg = head + data
    return msg + b"10=%03d\x01" % (sum(msg) % 256)


def check_one(raw: bytes) -> None:
    try:
        n = codec.frame_length(raw)
        assert 0 <= n <= len(raw), n
    except codec.FixParseError as exc:
        assert exc.reason in KNOWN_REASONS, exc.reason
    for validate in (True, False):
        try:
            m = codec.parse(raw, validate=validate)
        except codec.FixParseError as exc:
            assert exc.reason in KNOWN_REASONS and str(exc), exc.reason
            continue
        rebuilt = b"".join(b"%d=%s\x01" % (t, v) for t, v in m.fields())
        assert rebuilt == raw, (rebuilt, raw)
        assert m.seq_num > 0 and m.msg_type
    for decode in DECODERS:
        try:
            decode(raw, validate=False)
        except codec.FixParseError as exc:
            assert exc.reason in KNOWN_REASONS, exc.reason
    try:
        bridge.QuoteBook().quote(raw, validate=False)
    except codec.FixParseError as exc:
        assert exc.reason in KNOWN_REASONS, exc.reason


def splice(data: bytes) -> bytes:
    """A seed message body with data's bytes spliced in at a place data chooses: keeps most
    inputs deep in the field scanner and the dictionary even without C coverage feedback."""
    if len(data) < 3:
        return SEEDS[0]
    seed = SEEDS[data[0] % len(SEEDS)]
    at = (data[1] * 256 + data[2]) % (len(seed) + 1)
    cut = data[1] % 8
    return seed[:at] + data[3:] + seed[at + cut:]


def test_one_input(data: bytes) -> None:
    check_one(data)
    check_one(reframe(data))
    check_one(reframe(splice(data)))


SEEDS = [
    b"35=8\x0149=LP1\x0156=FXPIPE\x0134=7\x0152=20231114-22:13:20.123\x0137=O\x0111=42\x0117=E\x0120=0\x01"
    b"150=1\x0139=1\x0155=EUR/USD\x0154=1\x0132=1000000\x0131=1.08341\x01151=4000000\x0114=1000000\x016=1.08341\x01",
    b"35=W\x0149=LP1\x0156=FXPIPE\x0134=8\x0152=20231114-22:13:20.123\x0155=EUR/USD\x01268=2\x01269=0\x01"
    b"270=1.0834\x01271=1000000\x01269=1\x01270=1.0835\x01271=1000000\x01",
    b"35=D\x0149=FXPIPE\x0156=LP1\x0134=9\x0152=20231114-22:13:20.123\x0111=1\x0121=1\x0155=EUR/USD\x0154=1\x01"
    b"60=20231114-22:13:20.123\x0138=5000000\x0140=2\x0144=1.08345\x0159=3\x01",
    b"35=A\x0149=LP1\x0156=FXPIPE\x0134=1\x0152=20231114-22:13:20\x0198=0\x01108=30\x01141=Y\x01",
    b"35=B\x0149=LP1\x0156=FXPIPE\x0134=1\x0152=20231114-22:13:20\x01148=h\x0133=1\x0158=l\x0195=3\x0196=a\x01b\x01",
]


def write_seeds(corpus_dir: str) -> None:
    import os
    os.makedirs(corpus_dir, exist_ok=True)
    for i, body in enumerate(SEEDS):
        for name, data in ((f"seed{i}-body", body), (f"seed{i}-msg", reframe(body))):
            with open(os.path.join(corpus_dir, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--seed":
        write_seeds(sys.argv[2])
        raise SystemExit(0)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
