"""The OMS as a process for the kill -9 test: recovers from its journal, logs on to the
venue's ECN, then either sends an order storm until it is killed (`storm`) or waits until
every order is settled with the venue and prints its book and positions as JSON (`settle`)."""
from __future__ import annotations

import json
import random
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1] / "venue"),
                str(Path(__file__).resolve().parents[1])]

from oms_live_harness import ECN, Oms  # noqa: E402

from fxpipe.model import events as ev  # noqa: E402


class Ports:
    def __init__(self, ecn_port: int, lp_port: int):
        self.ecn_port, self.lp_port = ecn_port, lp_port


def main() -> int:
    tmp, ecn_port, lp_port, mode, seed = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    oms = Oms(tmp, Ports(ecn_port, lp_port), limits="", timeout_ms=2000, reset_on_logon=False)
    oms.wait(lambda: oms.gw.logged_on(ECN), "logon", timeout=60)
    print("ready", flush=True)
    rng = random.Random(seed)
    if mode == "storm":
        while True:
            oms.order(ECN, f"{rng.randint(1, 5)}000000", side=rng.choice("12"))
            oms.gw.poll(rng.choice((0.0, 0.002, 0.01)))
    book = oms.stage.book
    oms.wait(lambda: not book.open_orders(), "every order settled", timeout=60)
    oms.gw.poll(0.5)            # the last resent reports, if any
    oms.wait(lambda: not book.open_orders(), "every order settled", timeout=60)
    orders = {str(o.root_cl_ord_id): [o.cum_qty_e2, o.side, int(o.status)] for o in book.orders()}
    print(json.dumps({"orders": orders, "net_e2": oms.stage.positions.net_qty(7, "EUR/USD"),
                      "unknown": len(book.unknown_orders()),
                      "filled": sum(1 for o in book.orders() if o.status == ev.OrdStatus.FILLED)}), flush=True)
    oms.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
