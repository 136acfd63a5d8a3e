"""simplefix is the reference: messages encoded by one are parsed by the other, both ways, over
hypothesis-generated messages, with every field, BodyLength and CheckSum compared."""
from decimal import Decimal

import simplefix
from hypothesis import given, settings
from hypothesis import strategies as st

from fxpipe.fix import codec

SETTINGS = settings(max_examples=150, deadline=None)

comp_id = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.", min_size=1, max_size=16)
# Any byte but SOH; include '=' and high bytes, which FIX values may hold.
value = st.binary(min_size=1, max_size=24).map(lambda b: b.replace(b"\x01", b"\x02"))
user_tag = st.integers(5000, 9999)
seq = st.integers(1, 2**31 - 1)
sending_ns = st.integers(0, 4_000_000_000_000_000_000)
msg_type = st.sampled_from(["0", "1", "8", "D", "F", "G", "W", "X", "U1"])


def simplefix_parse(raw: bytes) -> list[tuple[int, bytes]]:
    p = simplefix.FixParser()
    p.append_buffer(raw)
    m = p.get_message()
    assert m is not None
    assert p.get_message() is None
    return [(int(t), v) for t, v in m.pairs]


def simplefix_encode(mt, sender, target, seq_num, ts: str, body) -> bytes:
    m = simplefix.FixMessage()
    m.append_pair(8, "FIX.4.2", header=True)
    m.append_pair(35, mt, header=True)
    m.append_pair(49, sender, header=True)
    m.append_pair(56, target, header=True)
    m.append_pair(34, seq_num, header=True)
    m.append_pair(52, ts, header=True)
    for t, v in body:
        m.append_pair(t, v)
    return m.encode()


@SETTINGS
@given(msg_type, comp_id, comp_id, seq, sending_ns, st.lists(st.tuples(user_tag, value), max_size=20))
def test_fxpipe_encode_simplefix_parse(mt, sender, target, seq_num, ns, body):
    raw = codec.encode(mt, sender, target, seq_num, ns, body)
    ts = codec.format_utc_timestamp(ns).encode()
    expected = [(35, mt.encode()), (49, sender.encode()), (56, target.encode()), (34, b"%d" % seq_num),
                (52, ts), *body]
    pairs = simplefix_parse(raw)
    assert pairs[0] == (8, b"FIX.4.2")
    assert pairs[1] == (9, b"%d" % (len(raw) - raw.index(b"\x0135=") - 1 - 7))
    assert pairs[2:-1] == expected
    assert pairs[-1] == (10, b"%03d" % (sum(raw[:-7]) % 256))


@SETTINGS
@given(msg_type, comp_id, comp_id, seq, sending_ns, st.lists(st.tuples(user_tag, value), max_size=20))
def test_simplefix_encode_fxpipe_parse(mt, sender, target, seq_num, ns, body):
    raw = simplefix_encode(mt, sender, target, seq_num, codec.format_utc_timestamp(ns), body)
    # Random bodies lack most types' required fields; Heartbeat and user types need none.
    m = codec.parse(raw, validate=mt in ("0", "U1"))
    assert m.fields() == simplefix_parse(raw)
    assert (m.msg_type, m.seq_num, m.get_str(49), m.get_str(56)) == (mt, seq_num, sender, target)
    assert m.get_utc_ns(52) == ns - ns % 1_000_000
    assert m.raw == raw


# Valid FX orders and execution reports, checked field by field through the typed accessors.
qty_e2 = st.integers(1, 10**13)
price_e8 = st.integers(1, 10**12)
cl_ord_id = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=32)
symbol = st.sampled_from(["EUR/USD", "USD/JPY", "GBP/USD", "AUD/USD", "USD/CHF", "EUR/GBP"])


def dec(v: int, scale: int) -> str:
    text = str(Decimal(v).scaleb(-scale).normalize())
    return format(Decimal(text), "f")


@SETTINGS
@given(cl_ord_id, symbol, st.sampled_from("12"), qty_e2, price_e8, st.sampled_from("1234"), seq, sending_ns)
def test_new_order_single_both_ways(cid, sym, side, qty, px, tif, seq_num, ns):
    ts = codec.format_utc_timestamp(ns)
    body = [(11, cid), (21, "1"), (55, sym), (54, side), (60, ts), (38, dec(qty, 2)), (40, "2"),
            (44, dec(px, 8)), (59, tif)]
    ours = codec.encode("D", "FXPIPE", "LP1", seq_num, ns, body)
    theirs = simplefix_encode("D", "FXPIPE", "LP1", seq_num, ts, body)
    assert ours == theirs
    m = codec.parse(theirs)
    assert (m.get_str(11), m.get_char(54), m.get_scaled(38, 2), m.get_scaled(44, 8)) == (cid, side, qty, px)
    assert simplefix_parse(ours)[2:-1] == [(t, v.encode()) for t, v in
                                           [(35, "D"), (49, "FXPIPE"), (56, "LP1"), (34, str(seq_num)), (52, ts)]
                                           + body]


@SETTINGS
@given(cl_ord_id, qty_e2, qty_e2, price_e8, st.sampled_from("012"), seq)
def test_execution_report_simplefix_to_fxpipe(cid, last_qty, leaves, px, status, seq_num):
    body = [(37, "LP-1"), (11, cid), (17, f"E{seq_num}"), (20, "0"), (150, status), (39, status),
            (55, "EUR/USD"), (54, "2"), (38, dec(last_qty + leaves, 2)), (32, dec(last_qty, 2)),
            (31, dec(px, 8)), (151, dec(leaves, 2)), (14, dec(last_qty, 2)), (6, dec(px, 8))]
    raw = simplefix_encode("8", "LP1", "FXPIPE", seq_num, "20231114-22:13:20.123", body)
    m = codec.parse(raw)
    assert m.get_scaled(32, 2) == last_qty
    assert m.get_scaled(31, 8) == px
    assert m.get_scaled(151, 2) == leaves
    assert m.get_scaled(38, 2) == last_qty + leaves
    assert m.get_char(39) == status
