"""Ids and dates on the wire. OrderIDs and ExecIDs are unique across runs of the simulator
(they carry the run id: given, or taken from the start time), so an OMS that de-duplicates by
ExecID never drops a real fill after a restart. A report's TradeDate and value date come from
the fill's own time and the 17:00 New York roll, not from when the order was entered."""
import datetime as dt

from venue_harness import FixClient, VenueProcess, new_order
from wire import fields, pick, reports


def one_fill(tmp, **kw) -> dict[int, str]:
    v = VenueProcess(tmp, market_extra="step_updates = 0", with_lp=False, **kw)
    c = FixClient(tmp / "c", v.ecn_port, "C1", "ECN1")
    try:
        c.send("D", new_order("A1", ord_type="1"))
        return reports(c, "A1", 2)[1]
    finally:
        c.close()
        v.stop()


def test_ids_differ_between_two_runs_of_the_same_flow(tmp_path):
    first = one_fill(tmp_path / "run1")
    second = one_fill(tmp_path / "run2")
    assert first[37].startswith("ECN1-") and first[17].startswith("ECN1-")
    assert first[37] != second[37] and first[17] != second[17]


def test_a_given_run_id_makes_the_ids_reproducible(tmp_path):
    fill = one_fill(tmp_path, args=("--run-id", "R42"))
    assert (fill[37], fill[17]) == ("ECN1-R42-O1", "ECN1-R42-E2")


def test_value_date_and_trade_date_follow_the_fill_across_the_new_york_roll(tmp_path):
    # Monday 4 March 2024, 16:59:55 in New York (EST): the venue's clock starts there, leaving
    # a loaded machine seconds to start the venue and enter the order before the roll
    start = "2024-03-04T21:59:55Z"
    v = VenueProcess(tmp_path, market_extra="step_updates = 0", with_lp=False, ecn_extra="settlement_date = true",
                     args=("--start-time", start))
    c = FixClient(tmp_path / "c", v.ecn_port, "C1", "ECN1")
    try:
        c.send("D", new_order("G1", price="1.08490", tif="1"))
        (ack,) = reports(c, "G1", 1)
        assert ack[60] < "20240304-22:00:00"  # entered before the roll
        assert pick(ack, 75, 64) == ("20240304", "20240306")

        def venue_time() -> str:
            c.send("H", [(11, "G1"), (55, "EUR/USD"), (54, "1")])
            c.poll(0.2)
            return [fields(m) for m in c.of_type("8", t11="G1")][-1][60]

        c.wait(lambda: venue_time() >= "20240304-22:00:00", "the venue clock past 17:00 New York", timeout=15)
        v.fault("price_jump symbol=EUR/USD pips=-2")
        fill = c.wait(lambda: [r for r in map(fields, c.of_type("8", t11="G1")) if r.get(150) == "2"], "the fill")[0]
        # filled on Tuesday's trade date: spot is Thursday, not the Wednesday of the entry
        assert pick(fill, 39, 75, 64) == ("2", "20240305", "20240307")
        assert dt.datetime.strptime(fill[64], "%Y%m%d").weekday() == 3
    finally:
        c.close()
        v.stop()
