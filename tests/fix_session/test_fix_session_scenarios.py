"""Runs every FIX session scenario in tests/scenarios/fix/*.fix against the state machine.

A scenario is a script of what the counterparty sends and what must come back, with a fake
clock and a fake link, so each runs deterministically in milliseconds. The session under test
is FX talking to CP (an acceptor unless `config role=initiator`). Commands, one a line:

  config KEY=VALUE ...    session settings (before connect); schedule=fx is Sun-Fri New York
  store-next out=N in=M   sequence numbers in the store before connect
  store-created =ISO-UTC  when the store was created (default: an hour before the clock)
  connect                 the transport connects (an initiator sends its Logon)
  recv FIELDS             the counterparty sends a message: 35 and 34 given, 49/56/52 filled in
                          unless given; 52/122 accept now, now-Ns, now+Ns
  recv-garbled KIND FIELDS  the same message with a wrong checksum or bodylength
  recv-bytes TEXT         raw bytes, | for SOH
  recv-frame FIELDS       a frame of exactly these fields in this order (8, 9 and 10 added, 8
                          only unless given first): numbers out of range, empty values, fields
                          out of order; 52/122 accept now, now-Ns, now+Ns
  send FIELDS             the application sends a message
  send-refused FIELDS     the application's send is refused (not logged on), no number used
  app-unsupported TYPES   the application raises UnsupportedMessageType for these MsgTypes
  logout TEXT             the application logs out; drop: the transport loses the link
  clock +Ns | =ISO-UTC    move the clock
  timer / drain           the transport's timer tick / link drained
  expect FIELDS           the next message we sent has these fields (* present, - absent)
  expect-app FIELDS       the next application message delivered has these fields
  expect-nothing          nothing more was sent; expect-no-app: nothing more delivered
  expect-state S          session state (active, disconnected, logon-sent, ...)
  expect-seq out=N in=M   the store's next outgoing / expected incoming numbers
  expect-disconnect       the link was closed; expect-logout: the application was told
Every message sent must be expected: a scenario fails if any is left over at its end.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from session_doubles import RecordingApp

from fxpipe.fix.session import wire
from fxpipe.fix.session.admin import HEADER_TAGS
from fxpipe.fix.session.config import SessionConfig
from fxpipe.fix.session.schedule import WeeklySchedule
from fxpipe.fix.session.session import Session, SessionNotLoggedOn, UnsupportedMessageType
from fxpipe.fix.session.store import FileStore

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios" / "fix"
T0 = int(dt.datetime(2024, 3, 6, 12, 0, tzinfo=dt.UTC).timestamp()) * 1_000_000_000
S = 1_000_000_000
FX_WEEK = WeeklySchedule.parse("America/New_York", "Sunday 17:00", "Friday 17:00")


class FakeClock:
    def __init__(self):
        self.now = T0

    def __call__(self) -> int:
        return self.now


class FakeLink:
    def __init__(self):
        self.sent: list[bytes] = []
        self.closed = False
        self.backlog_bytes = 0
        self.congested = False  # True: writes pile up until the test drains them

    def write(self, data: bytes) -> None:
        assert not self.closed, "write after close"
        self.sent.append(data)
        if self.congested:
            self.backlog_bytes += len(data)

    def backlog(self) -> int:
        return self.backlog_bytes

    def close(self) -> None:
        self.closed = True


def show(msgs: list[bytes]) -> list[str]:
    return [m.replace(b"\x01", b"|").decode() for m in msgs]


def parse_fields(text: str) -> list[tuple[int, str]]:
    out = []
    for part in text.strip().strip("|").split("|"):
        tag, sep, value = part.partition("=")
        assert sep, f"field {part!r} is not TAG=VALUE"
        out.append((int(tag), value))
    return out


def convert(value: str):
    if value in ("true", "false"):
        return value == "true"
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


class ScenarioApp(RecordingApp):
    def __init__(self):
        super().__init__()
        self.unsupported: set[str] = set()

    def on_message(self, session, msg):
        if msg.msg_type in self.unsupported:
            raise UnsupportedMessageType(f"MsgType {msg.msg_type} is not supported here")
        super().on_message(session, msg)


class Runner:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.clock = FakeClock()
        self.settings = dict(name="scn", role="acceptor", sender_comp_id="FX", target_comp_id="CP",
                             host="127.0.0.1", port=1, store_dir=str(tmp / "store"), log_dir=str(tmp / "log"),
                             heartbeat_s=30, fsync="never")
        self.store_next: tuple[int, int] | None = None
        self.store_created = self.clock.now - 3600 * S
        self.session: Session | None = None
        self.link: FakeLink | None = None
        self.app = ScenarioApp()
        self.out_pos = 0
        self.app_pos = 0

    def build(self) -> Session:
        if self.session is None:
            cfg = SessionConfig(**self.settings)
            store = FileStore(cfg.store_path, "never")
            store.open(self.store_created)
            if self.store_next:
                store.set_next_sender(self.store_next[0])
                store.set_next_target(self.store_next[1])
            self.session = Session(cfg, store, self.app, self.clock)
        return self.session

    def close(self):
        if self.session is not None:
            self.session.store.close()

    def time_value(self, value: str) -> int:
        if value == "now":
            return self.clock.now
        if value.startswith("now"):
            return self.clock.now + int(float(value[3:-1]) * S)
        return None

    def message(self, text: str) -> bytes:
        fields = parse_fields(text)
        tags = dict(fields)
        mt, seq = tags.pop(35), int(tags.pop(34))
        sender = tags.pop(49, "CP")
        target = tags.pop(56, "FX")
        sending = self.time_value(tags.pop(52, "now"))
        header, body = [], []
        for tag, value in fields:
            if tag in (35, 34, 49, 56, 52):
                continue
            if tag == 122:
                value = wire.format_utc_timestamp(self.time_value(value)) if value.startswith("now") else value
            (header if tag in HEADER_TAGS else body).append((tag, value))
        return wire.encode(mt, sender, target, seq, sending, body, header=header)

    def frame(self, text: str) -> bytes:
        fields = parse_fields(text)
        begin = fields.pop(0)[1] if fields[0][0] == 8 else "FIX.4.2"
        parts = []
        for tag, value in fields:
            if tag in (52, 122) and value.startswith("now"):
                value = wire.format_utc_timestamp(self.time_value(value))
            parts.append(f"{tag}={value}\x01".encode())
        body = b"".join(parts)
        msg = f"8={begin}\x019={len(body)}\x01".encode() + body
        return msg + b"10=%03d\x01" % (sum(msg) % 256)

    def sent(self) -> list[bytes]:
        return self.link.sent if self.link else []

    def check(self, raw: bytes, expected: str, what: str) -> None:
        msg = wire.parse(raw, validate=False)
        for tag, value in parse_fields(expected):
            got = msg.get(tag)
            shown = raw.replace(b"\x01", b"|").decode()
            if value == "*":
                assert got is not None, f"{what}: tag {tag} missing in {shown}"
            elif value == "-":
                assert got is None, f"{what}: tag {tag} present in {shown}"
            else:
                assert got == value.encode(), f"{what}: tag {tag} is {got!r}, expected {value!r} in {shown}"

    def run(self, path: Path) -> None:
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            op, _, arg = line.partition(" ")
            try:
                self.step(op, arg.strip())
            except AssertionError as exc:
                raise AssertionError(f"{path.name}:{lineno}: {line}\n  {exc}") from None
        left = self.sent()[self.out_pos:]
        assert not left, f"{path.name}: unexpected messages at the end: {show(left)}"

    def step(self, op: str, arg: str) -> None:
        if op == "config":
            for kv in arg.split():
                k, _, v = kv.partition("=")
                self.settings[k] = FX_WEEK if (k, v) == ("schedule", "fx") else convert(v)
        elif op == "store-next":
            kv = dict(p.split("=") for p in arg.split())
            self.store_next = (int(kv["out"]), int(kv["in"]))
        elif op == "store-created":
            self.store_created = int(dt.datetime.fromisoformat(arg[1:]).timestamp() * S)
        elif op == "logout":
            self.session.logout(arg)
        elif op == "drop":
            self.session.disconnected("link lost")
        elif op == "connect":
            self.link = FakeLink()
            self.out_pos = 0
            self.build().connected(self.link)
        elif op == "recv":
            self.session.data_received(self.message(arg))
        elif op == "recv-garbled":
            kind, _, fields = arg.partition(" ")
            raw = self.message(fields)
            if kind == "checksum":
                raw = raw[:-4] + (b"%03d" % ((int(raw[-4:-1]) + 1) % 256)) + b"\x01"
            else:  # BodyLength one short: CheckSum is then not where it says
                at = raw.index(b"\x019=") + 3
                end = raw.index(b"\x01", at)
                raw = raw[:at] + b"%d" % (int(raw[at:end]) - 1) + raw[end:]
            self.session.data_received(raw)
        elif op == "recv-bytes":
            self.session.data_received(arg.replace("|", "\x01").encode())
        elif op == "recv-frame":
            self.session.data_received(self.frame(arg))
        elif op == "send":
            fields = parse_fields(arg)
            self.build().send(fields[0][1], fields[1:])
        elif op == "send-refused":
            fields = parse_fields(arg)
            before = self.build().store.next_sender
            with pytest.raises(SessionNotLoggedOn):
                self.session.send(fields[0][1], fields[1:])
            assert self.session.store.next_sender == before, "a refused send used a number"
        elif op == "app-unsupported":
            self.app.unsupported.update(arg.split(","))
        elif op == "clock":
            if arg.startswith("+"):
                self.clock.now += int(float(arg[1:-1]) * S)
            else:
                self.clock.now = int(dt.datetime.fromisoformat(arg[1:]).timestamp() * S)
        elif op == "timer":
            self.build().on_timer()
        elif op == "drain":
            self.session.on_drain()
        elif op == "expect":
            assert self.out_pos < len(self.sent()), f"nothing (more) was sent; expected {arg}"
            self.check(self.sent()[self.out_pos], arg, "sent")
            self.out_pos += 1
        elif op == "expect-app":
            assert self.app_pos < len(self.app.messages), f"no (more) application messages; expected {arg}"
            self.check(self.app.messages[self.app_pos].raw, arg, "delivered")
            self.app_pos += 1
        elif op == "expect-nothing":
            left = self.sent()[self.out_pos:]
            assert not left, f"sent {show(left)}"
        elif op == "expect-no-app":
            assert self.app_pos == len(self.app.messages), "an application message was delivered"
        elif op == "expect-state":
            assert self.session.state.value == arg, f"state is {self.session.state.value}"
        elif op == "expect-seq":
            kv = dict(p.split("=") for p in arg.split())
            got = (self.session.store.next_sender, self.session.store.next_target)
            assert got == (int(kv["out"]), int(kv["in"])), f"store numbers (out, in) are {got}"
        elif op == "expect-disconnect":
            assert self.link.closed and self.session.link is None, "link still open"
        elif op == "expect-logout":
            assert self.app.logouts, "application was not told of a logout"
        else:
            raise AssertionError(f"unknown scenario command {op!r}")


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.fix")), ids=lambda p: p.stem)
def test_fix_session_scenario(path, tmp_path):
    runner = Runner(tmp_path)
    try:
        runner.run(path)
    finally:
        runner.close()


# The numbered FIX 4.2 session-level test cases (FIX Trading Community), each form its own letter.
FIX42_SESSION_CASES = [
    "1a", "1b", "1c", "1d", "1e", *(f"2{c}" for c in "abcdefghijklmnopqrst"), "3a", "3b", "3c", "4a", "4b",
    "5", "6", "7", "8", "9", "10a", "10b", "10c", "10d", "10e", "11a", "11b", "11c", "12", "13a", "13b",
    *(f"14{c}" for c in "abcdefghi"), "15", "16", "17", "18", "19a", "19b", "20",
]
DOC = Path(__file__).resolve().parents[2] / "docs" / "fix-session.md"


def case_table() -> dict[str, list[str]]:
    """docs/fix-session.md's table of session test cases: scenario names per case form."""
    text = DOC.read_text()
    rows = text[text.index("| case | condition"):text.index("### Choices")].splitlines()[2:]
    table: dict[str, list[str]] = {}
    for row in rows:
        cells = [c.strip() for c in row.split("|")]
        if len(cells) < 6:
            continue
        names = re.findall(r"`([a-z0-9_]+)`", cells[4])
        for case in _case_forms(cells[1]):
            table[case] = names
    return table


def _case_forms(cell: str) -> list[str]:
    """'2h / 2i' -> [2h, 2i]; '10a–e' -> [10a .. 10e]; '5' -> [5]."""
    forms = []
    for part in cell.split("/"):
        m = re.fullmatch(r"(\d+)([a-z])(?:[–-]([a-z]))?", part.strip())
        if m is None:
            forms.append(part.strip())
            continue
        num, first, last = m.groups()
        forms += [f"{num}{chr(c)}" for c in range(ord(first), ord(last or first) + 1)]
    return forms


def test_every_numbered_session_test_case_has_a_scenario_that_runs():
    table = case_table()
    assert sorted(table) == sorted(FIX42_SESSION_CASES), "the table lists other cases than the FIX list"
    for case in FIX42_SESSION_CASES:
        files = [SCENARIOS / f"{name}.fix" for name in table[case]]
        named = [f for f in files if f.stem.startswith(f"case_{case}_")]
        assert named, f"case {case}: no scenario case_{case}_*.fix in the table"
        for f in files:
            assert f.exists(), f"case {case}: {f.name} is in the table but not in {SCENARIOS}"
            commands = [line.split()[0] for line in f.read_text().splitlines() if line and line[0] != "#"]
            assert any(c.startswith("expect") for c in commands), f"{f.name} checks nothing"
    on_disk = {p.stem for p in SCENARIOS.glob("case_*.fix")}
    listed = {name for names in table.values() for name in names}
    assert on_disk <= listed, f"scenarios named after a case but not in the table: {sorted(on_disk - listed)}"
