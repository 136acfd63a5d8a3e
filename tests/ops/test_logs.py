"""JSON-lines logs and alarms: one object per line with ts, level, logger, msg, fields; an alarm
logs and calls every hook, and a broken hook silences nothing."""
from __future__ import annotations

import json
import logging

import pytest

from fxpipe.ops import logs


@pytest.fixture
def log_path(tmp_path):
    path = tmp_path / "fxpipe.jsonl"
    handler = logs.configure_logging(str(path), level="debug")
    yield path
    logging.getLogger(logs.ROOT).removeHandler(handler)
    handler.close()


def lines(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_each_record_is_one_json_object_with_its_fields(log_path):
    log = logs.get_logger("journal")
    logs.log(log, logging.INFO, "segment rolled", segment=12, bytes_=1 << 20, path=b"seg-12\0\0")
    log.warning("plain %s", "message", extra={"venue": "LP1"})
    (a, b) = lines(log_path)
    assert set(a) == {"ts", "level", "logger", "msg", "fields"}
    assert a["level"] == "INFO" and a["logger"] == "fxpipe.journal" and a["msg"] == "segment rolled"
    assert a["fields"] == {"segment": 12, "bytes_": 1048576, "path": "seg-12"}
    assert a["ts"].endswith("Z") and "T" in a["ts"]
    assert b["msg"] == "plain message" and b["fields"] == {"venue": "LP1"} and b["level"] == "WARNING"


def test_exception_goes_in_the_line(log_path):
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logs.get_logger("x").exception("failed")
    (a,) = lines(log_path)
    assert "RuntimeError: boom" in a["exc"] and a["level"] == "ERROR"


def test_alarm_logs_and_calls_every_hook_even_after_a_broken_one(log_path):
    got = []

    def broken(kind, text, fields):
        raise ValueError("hook bug")

    def good(kind, text, fields):
        got.append((kind, text, fields))

    logs.add_alarm_hook(broken)
    logs.add_alarm_hook(good)
    try:
        errors = logs.alarm("consumer_lag", "journal lags md by 5000", ring="live.md", lag=5000)
    finally:
        logs.remove_alarm_hook(broken)
        logs.remove_alarm_hook(good)
    assert [str(e) for e in errors] == ["hook bug"]
    assert got == [(logs.AlarmKind.CONSUMER_LAG, "journal lags md by 5000", {"ring": "live.md", "lag": 5000})]
    recs = lines(log_path)
    assert recs[0]["logger"] == "fxpipe.alarm" and recs[0]["level"] == "ERROR"
    assert recs[0]["fields"] == {"alarm": "consumer_lag", "ring": "live.md", "lag": 5000}
    assert recs[1]["msg"] == "alarm hook failed" and "hook bug" in recs[1]["exc"]


@pytest.mark.parametrize("kind", ["consumer_lag", "session_down", "questdb_down", "worker_dead"])
def test_the_runtime_and_sink_alarm_kinds_exist(kind):
    assert logs.AlarmKind.parse(kind).value == kind


def test_unknown_alarm_kind_and_level_are_refused():
    with pytest.raises(ValueError, match="unknown alarm kind 'disk_full'"):
        logs.alarm("disk_full", "x")
    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        logs.configure_logging(level="loud")


def test_configuring_again_replaces_the_handler(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    logs.configure_logging(str(a))
    h = logs.configure_logging(str(b))
    try:
        logs.get_logger("t").info("once")
    finally:
        logging.getLogger(logs.ROOT).removeHandler(h)
        h.close()
    assert a.read_text() == "" and len(b.read_text().splitlines()) == 1
