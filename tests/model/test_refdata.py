"""Reference data from TOML (fxpipe.model.refdata): the shipped file, lookups, and one test per
kind of bad input, each checking that the error names the file, the key and the problem."""
import pytest

from fxpipe.model import numbers
from fxpipe.model.refdata import DEFAULT_PATH, RefDataError, load_refdata, parse_refdata

GOOD = """
reporting_currency = "USD"

[instruments."EUR/USD"]
id = 1
base = "EUR"
quote = "USD"
price_decimals = 5
tick_size = "0.00001"
pip_size = "0.0001"
lot_size = "100000"
min_qty = "1000"
qty_increment = "1"
value_date = "T+2"

[instruments."USD/JPY"]
id = 3
base = "USD"
quote = "JPY"
price_decimals = 3
tick_size = 0.001
pip_size = "0.01"
lot_size = 100000
min_qty = "1000"
qty_increment = "1"
value_date = "T+2"

[venues.ECN1]
id = 1
kind = "ecn"

[venues.LP2]
id = 2
kind = "lp"
instruments = ["USD/JPY"]
"""


def test_shipped_refdata_is_valid_and_realistic():
    ref = load_refdata(DEFAULT_PATH)
    assert {"EUR/USD", "GBP/USD", "USD/JPY", "USD/CHF", "AUD/USD", "USD/CAD", "EUR/JPY", "EUR/GBP"} <= set(ref.instruments)
    eurusd, usdjpy, usdcad = ref.instrument("EUR/USD"), ref.instrument("USD/JPY"), ref.instrument("USD/CAD")
    assert (eurusd.tick_size_e8, eurusd.pip_size_e8) == (numbers.parse_price("0.00001"), numbers.parse_price("0.0001"))
    assert (usdjpy.tick_size_e8, usdjpy.pip_size_e8, usdjpy.price_decimals) == (100000, 1000000, 3)
    assert ref.instrument("EUR/JPY").quote == "JPY"
    assert eurusd.spot_days == 2 and usdcad.spot_days == 1
    assert eurusd.lot_size_e2 == numbers.parse_qty("100000")
    assert 2 <= len(ref.venues) <= 3 and ref.reporting_currency == "USD"
    ids = [i.id for i in ref.instruments.values()]
    assert len(set(ids)) == len(ids) and all(1 <= i <= 65535 for i in ids)


def test_lookups_and_helpers():
    ref = parse_refdata(GOOD, "good.toml")
    jpy = ref.instrument("USD/JPY")
    assert ref.instrument(3) is jpy and ref.venue("LP2") is ref.venue(2)
    assert ref.venue("ECN1").instrument_ids == (1, 3)  # no list: every instrument
    assert ref.venue("LP2").instrument_ids == (3,)
    assert jpy.tick_size_e8 == 100000  # TOML float literal 0.001, read exactly
    assert jpy.lot_size_e2 == 10000000  # TOML integer
    assert jpy.format_price(numbers.parse_price("151.25")) == "151.250"
    assert jpy.is_on_tick(numbers.parse_price("151.253")) and not jpy.is_on_tick(numbers.parse_price("151.2535"))
    assert jpy.round_to_tick(numbers.parse_price("151.2535"), numbers.Rounding.FLOOR) == numbers.parse_price("151.253")
    jpy.check_qty(numbers.parse_qty("1000"))
    with pytest.raises(ValueError, match="below the minimum 1000"):
        jpy.check_qty(numbers.parse_qty("999"))
    with pytest.raises(ValueError, match="not a multiple of 1"):
        jpy.check_qty(numbers.parse_qty("1000.5"))
    table = ref.instrument_table()
    assert table[3]["tick_size_e8"] == 100000 and table[1]["price_decimals"] == 5 and table[0]["tick_size_e8"] == 0
    assert ref.currencies() == {"EUR", "USD", "JPY"}
    with pytest.raises(KeyError, match="unknown instrument 'EURUSD' in good.toml; known: EUR/USD"):
        ref.instrument("EURUSD")
    with pytest.raises(KeyError, match="unknown venue 9"):
        ref.venue(9)


def edit(old: str, new: str) -> str:
    assert old in GOOD, old
    return GOOD.replace(old, new, 1)


BAD = [
    ("a = [", "", "not valid TOML"),
    (edit('reporting_currency = "USD"', 'reporting_currency = "USD"\nfoo = 1'), "foo", "unknown key"),
    (edit('reporting_currency = "USD"', ""), "reporting_currency", "missing"),
    (edit('reporting_currency = "USD"', 'reporting_currency = "usd"'), "reporting_currency", "three-letter ISO 4217"),
    (edit('reporting_currency = "USD"', 'reporting_currency = "GBP"'), "reporting_currency", "not the base or quote"),
    (edit("id = 1\nbase", "id = 0\nbase"), 'instruments."EUR/USD".id', "must be an integer 1..65535"),
    (edit("id = 1\nbase", "id = 70000\nbase"), 'instruments."EUR/USD".id', "must be an integer 1..65535"),
    (edit("id = 1\nbase", 'id = "1"\nbase'), 'instruments."EUR/USD".id', "must be an integer"),
    (edit("id = 3\nbase", "id = 1\nbase"), 'instruments."USD/JPY".id', "instrument id 1 is already used"),
    (edit('base = "EUR"\n', ""), 'instruments."EUR/USD".base', "missing"),
    (edit('value_date = "T+2"\n', 'value_date = "T+2"\ntick = 1\n'), 'instruments."EUR/USD".tick', "unknown key"),
    (edit('quote = "USD"\nprice', 'quote = "EUR"\nprice'), 'instruments."EUR/USD".quote', "base and quote are both EUR"),
    (edit('[instruments."EUR/USD"]', '[instruments."EURUSD"]'), 'instruments."EURUSD"', 'must be "EUR/USD"'),
    (edit('base = "EUR"', 'base = "EURO"'), 'instruments."EUR/USD".base', "three-letter"),
    (edit("price_decimals = 5", "price_decimals = 9"), 'instruments."EUR/USD".price_decimals', "integer 0..8"),
    (edit('tick_size = "0.00001"', "tick_size = 1e-5"), 'instruments."EUR/USD".tick_size', "exponent notation"),
    (edit('tick_size = "0.00001"', 'tick_size = "0.000001"'), 'instruments."EUR/USD".tick_size', "more decimals than price_decimals = 5"),
    (edit('tick_size = "0.00001"', 'tick_size = "0.000000001"'), 'instruments."EUR/USD".tick_size', "more than 8 decimal places"),
    (edit('tick_size = "0.00001"', 'tick_size = "0"'), 'instruments."EUR/USD".tick_size', "greater than zero"),
    (edit('tick_size = "0.00001"', 'tick_size = "-0.00001"'), 'instruments."EUR/USD".tick_size', "is negative"),
    (edit('tick_size = "0.00001"', "tick_size = nan"), 'instruments."EUR/USD".tick_size', "not a finite number"),
    (edit('tick_size = "0.00001"', "tick_size = true"), 'instruments."EUR/USD".tick_size', "must be a decimal"),
    (edit('tick_size = "0.00001"', 'tick_size = "1,5"'), 'instruments."EUR/USD".tick_size', "unexpected ','"),
    (edit('pip_size = "0.01"', 'pip_size = "0.0105"'), 'instruments."USD/JPY".pip_size', "not a whole number of ticks"),
    (edit('lot_size = "100000"', 'lot_size = "100000.001"'), 'instruments."EUR/USD".lot_size', "more than 2 decimal places"),
    (edit('min_qty = "1000"\nqty_increment = "1"', 'min_qty = "1500"\nqty_increment = "1000"'),
     'instruments."EUR/USD".min_qty', "not a multiple of qty_increment 1000"),
    (edit('value_date = "T+2"', 'value_date = "spot"'), 'instruments."EUR/USD".value_date', '"T+0", "T+1" or "T+2"'),
    (edit('value_date = "T+2"', 'value_date = "T+3"'), 'instruments."EUR/USD".value_date', '"T+0", "T+1" or "T+2"'),
    (edit('[venues.ECN1]\nid = 1\nkind = "ecn"\n', "[venues]\nECN1 = 5\n"), "venues.ECN1", "must be a table"),
    (edit('kind = "ecn"', 'kind = "dark pool"'), "venues.ECN1.kind", "must be one of 'ecn', 'lp'"),
    (edit('kind = "ecn"', ""), "venues.ECN1.kind", "missing"),
    (edit('[venues.LP2]\nid = 2', '[venues.LP2]\nid = 1'), "venues.LP2.id", "venue id 1 is already used by venues.ECN1.id"),
    (edit('instruments = ["USD/JPY"]', 'instruments = ["GBP/USD"]'), "venues.LP2.instruments", "unknown instrument 'GBP/USD'"),
    (edit('instruments = ["USD/JPY"]', 'instruments = []'), "venues.LP2.instruments", "non-empty list"),
    (edit('instruments = ["USD/JPY"]', 'instruments = ["USD/JPY", "USD/JPY"]'), "venues.LP2.instruments", "twice"),
    (edit("[venues.LP2]", '[venues."LP 2"]'), 'venues.LP 2', "a venue name is"),
]


@pytest.mark.parametrize("text, key, fragment", BAD, ids=[f"{k or 'toml'}: {f}" for _, k, f in BAD])
def test_bad_refdata_is_refused_naming_file_and_key(text, key, fragment, tmp_path):
    path = tmp_path / "refdata.toml"
    path.write_text(text)
    with pytest.raises(RefDataError) as err:
        load_refdata(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ")
    assert f": {key}: " in message or not key
    assert fragment in message


def test_venues_table_missing_entirely():
    text = GOOD[:GOOD.index("[venues.ECN1]")]
    with pytest.raises(RefDataError, match="<string>: venues: missing"):
        parse_refdata(text)


def test_missing_and_unreadable_files(tmp_path, monkeypatch):
    with pytest.raises(RefDataError, match="no such reference-data file"):
        load_refdata(tmp_path / "nope.toml")
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b"reporting_currency = \"\xff\"\n")
    with pytest.raises(RefDataError, match="cannot read it"):
        load_refdata(bad)
    good = tmp_path / "good.toml"
    good.write_text(GOOD)
    monkeypatch.setenv("FXPIPE_REFDATA", str(good))
    assert load_refdata().source == str(good)
