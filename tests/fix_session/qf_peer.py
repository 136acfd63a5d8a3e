"""A QuickFIX counterparty in its own process, driven over stdin/stdout with JSON lines.

Run as `python qf_peer.py CONFIG_FILE ROLE [--auto-fill]` (ROLE: acceptor or initiator). It prints
one JSON event per line: ready, logon, logout, app (an application message received),
admin_in / admin_out (session messages, as QuickFIX saw them), seqnums, error. It reads
commands: send, set_next_sender, set_next_target, test_request, logout, seqnums, stop. With
--auto-fill, every NewOrderSingle received is answered with a filled ExecutionReport, which
makes it a venue; its OrderID and ExecID derive from the ClOrdID, so an order seen again (a
PossDup resend, after either side restarted) is filled again under the same ExecID and the
OMS applies it once. The message store is QuickFIX's FileStore, so a restart keeps the numbers.
"""
import json
import sys
import threading

import quickfix as fix

_out_lock = threading.Lock()


def emit(event: str, **kw) -> None:
    with _out_lock:
        sys.stdout.write(json.dumps({"event": event, **kw}) + "\n")
        sys.stdout.flush()


def raw(message) -> str:
    return message.toString().replace("\x01", "|")


class Peer(fix.Application):
    def __init__(self, auto_fill: bool):
        super().__init__()
        self.auto_fill = auto_fill
        self.session_id = None

    def onCreate(self, session_id):
        self.session_id = session_id

    def onLogon(self, session_id):
        emit("logon")

    def onLogout(self, session_id):
        emit("logout")

    def toAdmin(self, message, session_id):
        emit("admin_out", raw=raw(message))

    def fromAdmin(self, message, session_id):
        emit("admin_in", raw=raw(message))

    def toApp(self, message, session_id):
        pass

    def fromApp(self, message, session_id):
        emit("app", raw=raw(message))
        msg_type = fix.MsgType()
        message.getHeader().getField(msg_type)
        if self.auto_fill and msg_type.getValue() == "D":
            self.fill(message)

    def fill(self, order) -> None:
        cl_ord_id = order.getField(11)
        er = fix.Message()
        er.getHeader().setField(fix.MsgType("8"))
        for tag in (11, 55, 54, 38):
            er.setField(tag, order.getField(tag))
        qty = order.getField(38)
        px = order.getField(44) if order.isSetField(44) else "1"
        er.setField(37, f"QF-{cl_ord_id}")
        er.setField(17, f"QFX-{cl_ord_id}")
        er.setField(20, "0")
        er.setField(150, "2")
        er.setField(39, "2")
        er.setField(32, qty)
        er.setField(31, px)
        er.setField(151, "0")
        er.setField(14, qty)
        er.setField(6, px)
        fix.Session.sendToTarget(er, self.session_id)


def send(app: Peer, cmd: dict) -> None:
    m = fix.Message()
    m.getHeader().setField(fix.MsgType(cmd["msg_type"]))
    for tag, value in cmd["fields"]:
        m.setField(int(tag), str(value))
    fix.Session.sendToTarget(m, app.session_id)


def main() -> int:
    config, role = sys.argv[1], sys.argv[2]
    app = Peer("--auto-fill" in sys.argv)
    settings = fix.SessionSettings(config)
    store = fix.FileStoreFactory(settings)
    logs = fix.FileLogFactory(settings)
    engine = (fix.SocketAcceptor if role == "acceptor" else fix.SocketInitiator)(app, store, settings, logs)
    engine.start()
    emit("ready")
    for line in sys.stdin:
        cmd = json.loads(line)
        session = fix.Session.lookupSession(app.session_id)
        try:
            op = cmd["cmd"]
            if op == "send":
                send(app, cmd)
            elif op == "set_next_sender":
                session.setNextSenderMsgSeqNum(cmd["n"])
            elif op == "set_next_target":
                session.setNextTargetMsgSeqNum(cmd["n"])
            elif op == "test_request":
                m = fix.Message()
                m.getHeader().setField(fix.MsgType("1"))
                m.setField(112, cmd["id"])
                fix.Session.sendToTarget(m, app.session_id)
            elif op == "logout":
                session.logout(cmd.get("text", ""))
            elif op == "seqnums":
                emit("seqnums", sender=session.getExpectedSenderNum(), target=session.getExpectedTargetNum())
            elif op == "stop":
                break
        except Exception as exc:  # report, keep serving: the test decides what an error means
            emit("error", text=f"{type(exc).__name__}: {exc}")
    engine.stop()
    emit("stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
