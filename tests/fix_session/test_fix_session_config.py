"""TOML settings: the example file loads, and every mistake is a clear error naming the key."""
from pathlib import Path

import pytest

from fxpipe.fix.session.config import ConfigError, load, parse
from fxpipe.fix.session.schedule import AlwaysOpen, WeeklySchedule

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "fix-example.toml"


def base(**over):
    s = {"name": "s1", "role": "initiator", "sender_comp_id": "A", "target_comp_id": "B",
         "host": "127.0.0.1", "port": 5001}
    s.update(over)
    return {"session": [s]}


def test_example_file_loads():
    sessions = load(EXAMPLE)
    by_name = {s.name: s for s in sessions}
    lp1 = by_name["lp1-orders"]
    assert lp1.is_initiator and lp1.port == 9876 and lp1.heartbeat_s == 30
    assert isinstance(lp1.schedule, WeeklySchedule) and lp1.schedule.timezone == "America/New_York"
    assert lp1.store_path == Path("var/fix/store/FXPIPE-LP1")
    venue = by_name["venue-sim"]
    assert not venue.is_initiator and isinstance(venue.schedule, AlwaysOpen)
    assert venue.store_path == Path("var/fix/venue-store/LP1-FXPIPE")


def test_defaults_apply_and_sessions_override():
    doc = base(heartbeat_s=5)
    doc["defaults"] = {"heartbeat_s": 10, "validate": False, "reconnect_min_s": 2}
    (s,) = parse(doc)
    assert s.heartbeat_s == 5 and s.validate is False and s.reconnect_min_s == 2.0


def test_acceptor_host_defaults_to_loopback():
    (s,) = parse({"session": [{"name": "v", "role": "acceptor", "sender_comp_id": "V", "target_comp_id": "C",
                               "port": 7000}]})
    assert s.host == "127.0.0.1"


@pytest.mark.parametrize("doc,msg", [
    (base(prot=1), "unknown key 'prot'"),
    (base(port="5001"), "port must be int"),
    (base(port=0), "port must be 1..65535"),
    (base(heartbeat_s=True), "heartbeat_s must be int"),
    (base(role="client"), "role must be 'initiator' or 'acceptor'"),
    (base(fsync="sometimes"), "fsync must be always, interval or never"),
    (base(heartbeat_s=0), "heartbeat_s must be >= 1"),
    (base(schedule="fx"), "schedule 'fx' is not defined"),
    (base(sender_comp_id=""), "sender_comp_id must be non-empty"),
    (base(begin_string="FIX.4.4"), "begin_string must be one of"),
    (base(reconnect_min_s=5, reconnect_max_s=1), "reconnect_min_s <= reconnect_max_s"),
    ({"session": []}, "no \\[\\[session\\]\\] tables"),
    ({"sessions": []}, "unknown table"),
    ({"session": [{"name": "x", "role": "initiator"}]}, "missing required key"),
    ({"session": [{"name": "x", "role": "initiator", "sender_comp_id": "A", "target_comp_id": "B", "port": 1}]},
     "needs host"),
    (base() | {"schedules": {"fx": {"timezone": "Nowhere/Zone", "start": "Sunday 17:00", "end": "Friday 17:00"}}},
     "\\[schedules.fx\\]: timezone"),
    (base() | {"schedules": {"fx": {"timezone": "UTC"}}}, "needs exactly timezone, start and end"),
])
def test_bad_settings_are_clear_errors(doc, msg):
    with pytest.raises(ConfigError, match=msg):
        parse(doc, "f.toml")


def test_duplicates_refused():
    doc = base()
    doc["session"].append(dict(doc["session"][0]))
    with pytest.raises(ConfigError, match="'s1' is used twice"):
        parse(doc)
    doc["session"][1]["name"] = "s2"
    with pytest.raises(ConfigError, match="comp id pairs must be unique"):
        parse(doc)


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="no such settings file"):
        load(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[session]\nname=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(bad)
