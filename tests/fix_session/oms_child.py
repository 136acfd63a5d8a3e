"""An OMS in miniature, in its own process, for the crash tests: an fxpipe initiator that sends
NewOrderSingles to a venue and journals every order and fill, to be SIGKILLed at any moment.

Run as `python oms_child.py SETTINGS_JSON`. The journal (one line per record, appended with a
single write, so a kill leaves whole lines or a torn last one) is what a real OMS keeps:
  NEW cl_ord_id          before the order goes to the session (intent)
  SENT cl_ord_id seq     after session.send returned its MsgSeqNum
  FILL exec_id cl_ord_id possdup   before on_message returns (the fill is then the OMS's)
On start it rebuilds its state from the journal. An order journaled NEW but not SENT is in
doubt: the session's store (Session.sent_messages) says whether it went out; if it did, it is
SENT (the venue has it, or gets it as a PossDup resend), if not it goes out now, under the same
ClOrdID, for the first time. Fills are de-duplicated by ExecID: a fill seen again after a
restart (PossDupFlag=Y) is acknowledged and not applied twice.

Settings: port, store_dir, log_dir, fsync, journal, orders (how many to send in all),
in_flight (orders outstanding at once), die_on_exec_id + marker (kill ourselves inside
on_message for that fill, once), finish (run until every order has its fill, then log out).
"""
import json
import os
import signal
import sys
import time

from fxpipe.fix.enums import MsgType
from fxpipe.fix.session.config import SessionConfig
from fxpipe.fix.session.session import Application
from fxpipe.fix.session.transport import Engine
from fxpipe.fix.tags import Tag


class Journal:
    def __init__(self, path: str):
        self.path = path
        self.new: list[str] = []
        self.sent: dict[str, int] = {}
        self.fills: dict[str, str] = {}  # exec_id -> cl_ord_id
        if os.path.exists(path):
            with open(path) as f:
                for line in f:
                    if not line.endswith("\n"):
                        break  # torn by a kill: the record never happened
                    self._apply(line.split())
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def _apply(self, rec: list[str]) -> None:
        if rec[0] == "NEW":
            self.new.append(rec[1])
        elif rec[0] == "SENT":
            self.sent[rec[1]] = int(rec[2])
        elif rec[0] == "FILL":
            self.fills[rec[1]] = rec[2]

    def write(self, *rec) -> None:
        os.write(self.fd, (" ".join(str(r) for r in rec) + "\n").encode())
        self._apply([str(r) for r in rec])


class Oms(Application):
    def __init__(self, cfg: dict, journal: Journal):
        self.cfg = cfg
        self.journal = journal

    def on_message(self, session, msg):
        if msg.msg_type != MsgType.EXECUTION_REPORT:
            return
        exec_id = msg.get_str(Tag.ExecID)
        if exec_id == self.cfg.get("die_on_exec_id") and not os.path.exists(self.cfg["marker"]):
            with open(self.cfg["marker"], "w") as f:
                f.write(f"{msg.seq_num}\n")
            os.kill(os.getpid(), signal.SIGKILL)  # inside the callback, before journaling
        if exec_id in self.journal.fills:
            return  # seen before the restart: applied once already
        possdup = msg.get(Tag.PossDupFlag) == b"Y"
        self.journal.write("FILL", exec_id, msg.get_str(Tag.ClOrdID), "Y" if possdup else "N")


def new_order(cl_ord_id: str) -> list:
    return [(Tag.ClOrdID, cl_ord_id), (Tag.HandlInst, "1"), (Tag.Symbol, "EUR/USD"), (Tag.Side, "1"),
            (Tag.TransactTime, "20240306-12:00:00"), (Tag.OrderQty, "1000000"), (Tag.OrdType, "2"),
            (Tag.Price, "1.08512")]


def reconcile(session, journal: Journal) -> list[str]:
    """Orders journaled NEW but not SENT: those the store holds went out; the rest did not."""
    doubt = [cl for cl in journal.new if cl not in journal.sent]
    if not doubt:
        return []
    first = max(journal.sent.values(), default=0) + 1
    for seq, msg in session.sent_messages(first):
        cl = msg.get_str(Tag.ClOrdID)
        if cl in doubt:
            journal.write("SENT", cl, seq)
    return [cl for cl in doubt if cl not in journal.sent]


def main() -> int:
    cfg = json.loads(sys.argv[1])
    journal = Journal(cfg["journal"])
    scfg = SessionConfig(name="OMS", role="initiator", sender_comp_id="FXPIPE", target_comp_id="QFVENUE",
                         host="127.0.0.1", port=cfg["port"], store_dir=cfg["store_dir"], log_dir=cfg["log_dir"],
                         heartbeat_s=30, fsync=cfg["fsync"], reconnect_min_s=0.1, reconnect_max_s=0.5)
    engine = Engine(tick_s=0.01)
    session = engine.add_session(scfg, Oms(cfg, journal))
    engine.start()
    unsent = reconcile(session, journal)
    total, in_flight = cfg["orders"], cfg.get("in_flight", 2)
    deadline = time.monotonic() + cfg.get("finish_s", 60)
    while True:
        engine.poll()
        filled = set(journal.fills.values())
        if session.is_logged_on and not session.resending:
            open_orders = [cl for cl in journal.sent if cl not in filled]
            while len(open_orders) < in_flight and (unsent or len(journal.new) < total):
                cl = unsent.pop(0) if unsent else f"ORD-{len(journal.new) + 1}"
                if cl not in journal.new:
                    journal.write("NEW", cl)
                seq = session.send(MsgType.NEW_ORDER_SINGLE, new_order(cl))
                journal.write("SENT", cl, seq)
                open_orders.append(cl)
        if cfg.get("finish") and len(journal.new) >= total and all(cl in filled for cl in journal.new):
            # every order answered; and the venue has counted our last message
            engine.stop(2.0)
            print(json.dumps({"done": True, "orders": len(journal.new), "fills": len(journal.fills)}), flush=True)
            return 0
        if time.monotonic() > deadline:
            engine.close()
            print(json.dumps({"done": False, "orders": len(journal.new), "fills": len(journal.fills)}), flush=True)
            return 1


if __name__ == "__main__":
    raise SystemExit(main())
