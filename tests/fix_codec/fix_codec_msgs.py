"""Builders of FIX 4.2 test messages shared by the codec tests: raw wire text from readable
"tag=value|" strings with BodyLength and CheckSum computed, and typical FX messages."""
from __future__ import annotations

SOH = b"\x01"
T0_NS = 1_700_000_000_123_000_000   # 20231114-22:13:20.123
T0 = "20231114-22:13:20.123"


def checksum(data: bytes) -> bytes:
    return b"%03d" % (sum(data) % 256)


def wire(body: str, begin: str = "FIX.4.2") -> bytes:
    """'35=D|49=A|...|' (| for SOH, everything after BodyLength) -> a framed message."""
    b = body.replace("|", "\x01").encode("latin-1")
    head = f"8={begin}\x019={len(b)}\x01".encode("ascii")
    return head + b + b"10=" + checksum(head + b) + SOH


def header(msg_type: str, seq: int = 7, sender: str = "LP1", target: str = "FXPIPE") -> str:
    return f"35={msg_type}|49={sender}|56={target}|34={seq}|52={T0}|"


EXEC_REPORT_BODY = (
    "37=LP-ORD-991|11=ord-20231114-000042|17=LP-EXEC-5531|20=0|150=1|39=1|55=EUR/USD|54=1|"
    "38=5000000|40=2|44=1.08345|59=3|32=1000000|31=1.08341|151=4000000|14=1000000|6=1.08341|"
    "60=20231114-22:13:20.120|15=EUR|"
)
NEW_ORDER_BODY = (
    "11=ord-20231114-000042|21=1|55=EUR/USD|54=1|60=20231114-22:13:20.123|38=5000000|40=2|"
    "44=1.08345|59=3|15=EUR|"
)
SNAPSHOT_BODY = (
    "262=md-1|55=EUR/USD|268=4|269=0|270=1.08341|271=1000000|269=0|270=1.0834|271=3000000|"
    "269=1|270=1.08347|271=1000000|269=1|270=1.08349|271=5000000|"
)


def execution_report(seq: int = 7) -> bytes:
    return wire(header("8", seq) + EXEC_REPORT_BODY)


def new_order_single(seq: int = 7) -> bytes:
    return wire(header("D", seq, "FXPIPE", "LP1") + NEW_ORDER_BODY)


def snapshot(seq: int = 7) -> bytes:
    return wire(header("W", seq) + SNAPSHOT_BODY)
