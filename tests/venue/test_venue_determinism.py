"""Same seed and same order flow -> byte-identical message logs, timestamps aside.

Two simulator runs in step pace (the market moves 3 updates per inbound message) with drawn
ack/fill latencies, last look, pending acks for cancels and replaces, a terms-currency order, a
fault armed by order count, market data and every order type (the run id is given, so the
OrderIDs and ExecIDs are the same too);
the client's session logs of both runs are compared line by line with the time prefix and the
timestamp fields (SendingTime, OrigSendingTime, TransactTime) and CheckSum taken out. A third
run with another seed must differ.
"""
import re

from venue_harness import FixClient, VenueProcess, cancel, md_request, new_order, replace

LAT = ('ack_latency_us = { dist = "lognormal", median_us = 300, sigma = 0.5 }\n'
       'fill_latency_us = { dist = "exponential", mean_us = 200 }\n')
STAMPED = re.compile(rb"\|(52|60|122|10)=[^|]*")


def flow(tmp, seed: int) -> tuple[list[bytes], list[bytes]]:
    ecn_extra = LAT + 'ack_requests = true\nterms_currency = "deal"\n'
    v = VenueProcess(tmp, seed=seed, market_extra="step_updates = 3\nrun_id = \"DET1\"", ecn_extra=ecn_extra, lp_extra=LAT,
                     args=["--fault", "duplicate_exec mode=possresend after_orders=3 venue=ecn session=C1"])
    ecn = FixClient(tmp / "ecn", v.ecn_port, "C1", "ECN1")
    lp = FixClient(tmp / "lp", v.lp_port, "C1", "LP1")
    try:
        ecn.send("V", md_request("MD", ["EUR/USD", "USD/JPY", "EUR/JPY"], depth=3))
        ecn.wait_for("W", 3)
        done = {"2", "4", "8", "C"}
        steps = [
            ("D", new_order("A1", qty="2500000", ord_type="1"), "A1", done),
            ("D", new_order("A2", qty="4000000", price="1.08505", tif="3"), "A2", done),
            ("D", new_order("A3", symbol="USD/JPY", side="2", qty="3000000", price="149.400", tif="1"), "A3", done),
            ("D", new_order("A4", qty="1000000", price="1.07000", tif="0"), "A4", {"0"}),
            ("G", replace("A5", "A4", qty="2000000", price="1.07100"), "A5", {"0"}),
            ("F", cancel("A6", "A5"), "A6", done),
            ("D", new_order("A7", symbol="EUR/JPY", qty="50000000", price="162.300", tif="4"), "A7", done),
            ("D", new_order("A8", qty="2000000", ord_type="1", extra=[(15, "USD")]), "A8", done),
        ]
        for mt, body, cl, until in steps:
            ecn.send(mt, body)
            settled(ecn, cl, until)
        ecn.send("H", [(11, "A3"), (55, "USD/JPY"), (54, "2")])
        ecn.wait(lambda: any(m.get_str(20) == "3" for m in ecn.of_type("8", t11="A3")), "status")
        acct = [(1, "ACC"), (15, "EUR")]
        for k, (sym, side, qty, px) in enumerate([("EURUSD", "1", "4000000", "1.08600"),
                                                  ("GBPUSD", "2", "1000000", "1.20000"),
                                                  ("USDJPY", "1", "12000000", "150.000")]):
            lp.send("D", new_order(f"L{k}", symbol=sym, side=side, qty=qty, price=px, tif="3", extra=acct))
            settled(lp, f"L{k}", done)
        ecn.poll(0.1)
        return log(ecn), log(lp)
    finally:
        ecn.close()
        lp.close()
        v.stop()


def settled(c, cl_ord_id: str, statuses: set) -> None:
    """Waits for the report that ends this step (OrdStatus in statuses), so the next request
    never races the venue's answers to this one."""
    c.wait(lambda: any(m.get_str(39) in statuses for m in c.of_type("8", t11=cl_ord_id)), f"{cl_ord_id} settled")


def log(c) -> list[bytes]:
    c.session.log.flush()
    lines = c.log_path.read_bytes().splitlines()
    return [STAMPED.sub(rb"|\1=T", line.split(b" ", 1)[1]) for line in lines]


def test_same_seed_same_flow_same_bytes(tmp_path):
    ecn1, lp1 = flow(tmp_path / "run1", seed=4242)
    ecn2, lp2 = flow(tmp_path / "run2", seed=4242)
    assert len(ecn1) > 40 and len(lp1) > 6
    assert any(b"|35=X|" in line for line in ecn1) and any(b"|97=Y|" in line for line in ecn1)
    assert any(b"|17=ECN1-DET1-E1|" in line for line in ecn1)
    assert ecn1 == ecn2
    assert lp1 == lp2
    ecn3, lp3 = flow(tmp_path / "run3", seed=4243)
    assert ecn3 != ecn1
