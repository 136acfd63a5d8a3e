"""Data fields: every FIX 4.2 DATA field is read by the length field before it, so its value may
contain SOH, on parse and on encode. EncodedListStatusText (446, after 445) is the one the
number ranges of a hand-written table missed."""
import pytest
from fix_codec_msgs import T0_NS, header, wire

from fxpipe.fix import codec, spec42
from fxpipe.fix.errors import FixParseError
from fxpipe.fix.tags import DATA_LENGTH_TAG, Tag

LIST_STATUS_HEAD = "66=L1|429=1|82=1|431=1|83=1|"
LIST_STATUS_TAIL = "68=1|73=1|11=c1|14=0|39=0|151=0|84=0|6=0|"


def test_encoded_list_status_text_may_contain_soh():
    raw = wire(header("N") + LIST_STATUS_HEAD + "445=3|446=a|b|" + LIST_STATUS_TAIL)
    m = codec.parse(raw)
    assert m.get(Tag.EncodedListStatusText) == b"a\x01b"
    assert m.get_int(Tag.EncodedListStatusTextLen) == 3
    assert m.groups(Tag.NoOrders)[0].get_str(Tag.ClOrdID) == "c1"


def test_encoded_list_status_text_shorter_than_its_length_is_a_format_error():
    raw = wire(header("N") + LIST_STATUS_HEAD + "445=9|446=a|b|" + LIST_STATUS_TAIL)
    with pytest.raises(FixParseError) as info:
        codec.parse(raw)
    assert info.value.ref_tag == Tag.EncodedListStatusText


def test_encode_writes_soh_in_encoded_list_status_text():
    body = [(66, "L1"), (429, "1"), (82, 1), (431, "1"), (83, 1), (445, 3), (446, b"a\x01b"),
            (68, 1), (73, 1), (11, "c1"), (14, "0"), (39, "0"), (151, "0"), (84, "0"), (6, "0")]
    raw = codec.encode("N", "LP1", "FXPIPE", 7, T0_NS, body)
    assert codec.parse(raw).get(446) == b"a\x01b"


@pytest.mark.parametrize("data_tag", sorted(DATA_LENGTH_TAG))
def test_every_data_field_round_trips_soh(data_tag):
    value = b"x\x01y=\x01z"
    raw = codec.encode("B", "A", "B", 1, T0_NS, [(148, "h"), (DATA_LENGTH_TAG[data_tag], len(value)),
                                                 (data_tag, value)])
    m = codec.parse(raw, validate=False)
    assert m.get(data_tag) == value, spec42.FIELDS[data_tag][0]


def test_soh_outside_a_data_field_is_still_refused():
    with pytest.raises(ValueError, match="SOH"):
        codec.encode("B", "A", "B", 1, T0_NS, [(148, "h"), (445, 3), (444, b"a\x01b")])
