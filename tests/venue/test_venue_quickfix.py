"""A QuickFIX initiator (the `quickfix` package, FIX 4.2 data dictionary switched on, so every
message the simulator sends is validated by another engine) logs on, subscribes to market
data, trades, cancels, and logs out."""
import queue
import sys
import time
from pathlib import Path

import pytest
from venue_harness import VenueProcess

quickfix = pytest.importorskip("quickfix")
import quickfix42  # noqa: E402  (installed with quickfix)

DICT = Path(sys.prefix) / "share" / "quickfix" / "FIX42.xml"


class App(quickfix.Application):
    def __init__(self):
        super().__init__()
        self.events: queue.Queue = queue.Queue()
        self.sessions = {}
        self.logged_on: set[str] = set()

    def onCreate(self, session_id):
        self.sessions[session_id.getTargetCompID().getValue()] = session_id

    @property
    def session_id(self):
        return self.sessions["ECN1"]

    def onLogon(self, session_id):
        self.logged_on.add(session_id.getTargetCompID().getValue())
        self.events.put(("logon", session_id.getTargetCompID().getValue()))

    def onLogout(self, session_id):
        self.events.put(("logout", None))

    def toAdmin(self, message, session_id):
        if message.getHeader().getField(35) == "3":  # QuickFIX refusing a message the venue sent
            self.events.put(("reject", message.toString().replace("\x01", "|")))

    def fromAdmin(self, message, session_id):
        pass

    def toApp(self, message, session_id):
        pass

    def fromApp(self, message, session_id):
        self.events.put(("app", message.toString().replace("\x01", "|")))


def fields(raw: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for part in raw.strip("|").split("|"):
        tag, _, value = part.partition("=")
        out.setdefault(int(tag), value)
    return out


def wait(app, pred, timeout=20.0):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            ev = app.events.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(ev)
        if ev[0] == "reject":
            raise AssertionError(f"QuickFIX rejected a venue message: {ev[1]}")
        if pred(ev):
            return ev
    raise AssertionError(f"QuickFIX side: nothing matching within {timeout} s; saw {seen[-8:]}")


def build(cls, *values):
    m = cls()
    for v in values:
        m.setField(v)
    return m


def settings(tmp: Path, ecn_port: int, lp_port: int) -> quickfix.SessionSettings:
    text = "\n".join([
        "[DEFAULT]", "ConnectionType=initiator", f"FileStorePath={tmp / 'qf-store'}", f"FileLogPath={tmp / 'qf-log'}",
        "StartTime=00:00:00", "EndTime=00:00:00", "HeartBtInt=30", "ReconnectInterval=1", "UseDataDictionary=Y",
        f"DataDictionary={DICT}", "ResetOnLogon=Y", "ValidateUserDefinedFields=Y", "",
        "[SESSION]", "BeginString=FIX.4.2", "SenderCompID=QF", "TargetCompID=ECN1",
        "SocketConnectHost=127.0.0.1", f"SocketConnectPort={ecn_port}", "",
        "[SESSION]", "BeginString=FIX.4.2", "SenderCompID=QF", "TargetCompID=LP1",
        "SocketConnectHost=127.0.0.1", f"SocketConnectPort={lp_port}", ""])
    path = tmp / "qf.cfg"
    path.write_text(text)
    return quickfix.SessionSettings(str(path))


def test_quickfix_initiator_logs_on_subscribes_and_trades(tmp_path):
    v = VenueProcess(tmp_path, clients=("QF",), pace="wall", rate=200)
    app = App()
    s = settings(tmp_path, v.ecn_port, v.lp_port)
    initiator = quickfix.SocketInitiator(app, quickfix.FileStoreFactory(s), s, quickfix.FileLogFactory(s))
    initiator.start()
    try:
        wait(app, lambda e: "ECN1" in app.logged_on)
        md = build(quickfix42.MarketDataRequest, quickfix.MDReqID("QFMD"), quickfix.SubscriptionRequestType("1"),
                   quickfix.MarketDepth(0), quickfix.MDUpdateType(1))
        for t in ("0", "1"):
            g = quickfix42.MarketDataRequest.NoMDEntryTypes()
            g.setField(quickfix.MDEntryType(t))
            md.addGroup(g)
        g = quickfix42.MarketDataRequest.NoRelatedSym()
        g.setField(quickfix.Symbol("EUR/USD"))
        md.addGroup(g)
        quickfix.Session.sendToTarget(md, app.session_id)
        snap = fields(wait(app, lambda e: e[0] == "app" and "|35=W|" in e[1])[1])
        assert snap[55] == "EUR/USD" and snap[268] == "10"
        wait(app, lambda e: e[0] == "app" and "|35=X|" in e[1])

        order = build(quickfix42.NewOrderSingle, quickfix.ClOrdID("QF-1"), quickfix.HandlInst("1"),
                      quickfix.Symbol("EUR/USD"), quickfix.Side("1"), quickfix.TransactTime(), quickfix.OrdType("1"),
                      quickfix.OrderQty(3000000))
        quickfix.Session.sendToTarget(order, app.session_id)
        reps = []
        while not reps or fields(reps[-1])[39] not in ("2", "4"):
            reps.append(wait(app, lambda e: e[0] == "app" and "|35=8|" in e[1] and "|11=QF-1|" in e[1])[1])
        last = fields(reps[-1])
        assert fields(reps[0])[150] == "0" and last[39] == "2" and last[14] == "3000000"

        rest = build(quickfix42.NewOrderSingle, quickfix.ClOrdID("QF-2"), quickfix.HandlInst("1"),
                     quickfix.Symbol("EUR/USD"), quickfix.Side("1"), quickfix.TransactTime(), quickfix.OrdType("2"),
                     quickfix.OrderQty(1000000), quickfix.Price(1.0), quickfix.TimeInForce("1"))
        quickfix.Session.sendToTarget(rest, app.session_id)
        wait(app, lambda e: e[0] == "app" and "|11=QF-2|" in e[1] and "|150=0|" in e[1])
        cxl = build(quickfix42.OrderCancelRequest, quickfix.OrigClOrdID("QF-2"), quickfix.ClOrdID("QF-3"),
                    quickfix.Symbol("EUR/USD"), quickfix.Side("1"), quickfix.TransactTime())
        quickfix.Session.sendToTarget(cxl, app.session_id)
        done = fields(wait(app, lambda e: e[0] == "app" and "|11=QF-3|" in e[1])[1])
        assert (done[150], done[41]) == ("4", "QF-2")
        unknown = build(quickfix42.OrderCancelRequest, quickfix.OrigClOrdID("NOPE"), quickfix.ClOrdID("QF-4"),
                        quickfix.Symbol("EUR/USD"), quickfix.Side("1"), quickfix.TransactTime())
        quickfix.Session.sendToTarget(unknown, app.session_id)
        rej = fields(wait(app, lambda e: e[0] == "app" and "|35=9|" in e[1])[1])
        assert rej[102] == "1"
        bad = build(quickfix42.MarketDataRequest, quickfix.MDReqID("QFBAD"), quickfix.SubscriptionRequestType("0"),
                    quickfix.MarketDepth(1))
        g = quickfix42.MarketDataRequest.NoMDEntryTypes()
        g.setField(quickfix.MDEntryType("0"))
        bad.addGroup(g)
        g = quickfix42.MarketDataRequest.NoRelatedSym()
        g.setField(quickfix.Symbol("XAU/USD"))
        bad.addGroup(g)
        quickfix.Session.sendToTarget(bad, app.session_id)
        y = fields(wait(app, lambda e: e[0] == "app" and "|35=Y|" in e[1])[1])
        assert (y[262], y[281]) == ("QFBAD", "0")

        # the LP: last look, EURUSD symbols, Account and Currency required, value dates on the fill
        deadline = time.monotonic() + 20
        while "LP1" not in app.logged_on and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "LP1" in app.logged_on
        lp = build(quickfix42.NewOrderSingle, quickfix.ClOrdID("QF-LP"), quickfix.HandlInst("1"),
                   quickfix.Symbol("EURUSD"), quickfix.Side("2"), quickfix.TransactTime(), quickfix.OrdType("1"),
                   quickfix.OrderQty(1000000), quickfix.TimeInForce("3"), quickfix.Account("ACC"),
                   quickfix.Currency("EUR"))
        quickfix.Session.sendToTarget(lp, app.sessions["LP1"])
        lpfill = fields(wait(app, lambda e: e[0] == "app" and "|11=QF-LP|" in e[1])[1])
        assert lpfill[150] in ("2", "8") and lpfill[55] == "EURUSD"
        if lpfill[150] == "2":
            assert lpfill[63] == "0" and len(lpfill[64]) == 8 and len(lpfill[75]) == 8
    finally:
        initiator.stop()
        v.stop()
    assert v.proc.returncode == 0
