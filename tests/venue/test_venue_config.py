"""The simulator's settings file, profiles, latency distributions and the command line: every
mistake a user can make gets a message naming the key and the fix."""
import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from venue_harness import ROOT, FixClient, free_port, new_order

from fxpipe.venue.config import load, parse
from fxpipe.venue.profiles import ConfigError, LatencyDist

EXAMPLE = ROOT / "config" / "venues.toml"
ENV = dict(os.environ, PYTHONPATH=f"{ROOT / 'src'}:{ROOT}")


def base(**venue):
    return {"venues": {"v": {"port": 9000, "clients": ["C"], **venue}}}


def test_the_example_config_loads():
    cfg = load(EXAMPLE)
    ecn, lp = cfg.venues
    assert (ecn.profile.name, lp.profile.name) == ("ecn", "lp")
    assert ecn.feed is not None and ecn.feed.destinations == (("127.0.0.1", 31001),)
    assert lp.profile.last_look is not None and lp.profile.symbol_format.value == "concat"
    assert lp.profile.settlement_tags and not ecn.profile.settlement_tags
    assert [s.target_comp_id for s in ecn.sessions] == ["FXPIPE", "FXPIPE-MD"]
    assert cfg.control_port == 9899


@pytest.mark.parametrize("doc,msg", [
    ({"venues": {}}, "no venues"),
    ({"markets": {}, **base()}, "unknown tables"),
    ({"market": {"pace": "fast"}, **base()}, 'market.pace: "wall"'),
    ({"market": {"seed": -1}, **base()}, "market.seed must be an integer >= 0"),
    ({"market": {"pairs": ["EUR/XYZ"]}, **base()}, "unknown pair 'EUR/XYZ'"),
    ({"market": {"process": {"jump_prob": 3}}, **base()}, "jump_prob must be within"),
    ({"market": {"process": {"drift": 1}}, **base()}, "market.process: unknown keys"),
    ({"market": {"pairs": ["EUR/USD"]}, **base(pairs=["USD/JPY"])}, "'USD/JPY' is not in the market"),
    ({"market": {"pairs": ["NZD/USD"]}, **base()}, "unknown pair 'NZD/USD'"),
    ({"market": {"refdata": "/nonexistent/refdata.toml"}, **base()}, "no such reference-data file"),
    (base(port=70000), "is not a TCP port"),
    ({"venues": {"v": {"port": 9000}}}, "missing clients"),
    (base(symbol_format="dashed"), '"slash" (EUR/USD) or "concat"'),
    (base(depth=11, level_sizes=[1] * 11), "depth: 11 must be between 1 and 10"),
    (base(level_sizes=[1, -2]), "sizes are whole units"),
    (base(required_tags={"Z": [1]}), "required_tags.Z"),
    (base(order_types=["stop"]), "order_types: ['stop']"),
    (base(time_in_force=[]), "time_in_force: empty"),
    (base(ioc_remainder="never"), "ioc_remainder"),
    (base(last_look={"hold": 5}), "last_look: unknown keys"),
    (base(ack_latency_us={"dist": "gamma"}), "ack_latency_us.dist: 'gamma'"),
    (base(ack_latency_us={"dist": "uniform", "min_us": 5, "max_us": 1}), "max_us 1.0 is below min_us"),
    (base(fill_latency_us={"dist": "lognormal", "median_us": 100}), "needs sigma"),
    (base(fill_latency_us=-3), "expected a number >= 0"),
    (base(colour="red"), "unknown keys ['colour']"),
    (base(faults=["explode"]), "unknown fault 'explode'"),
    (base(feed={"channel_id": 1, "destinations": ["10.1.1.1:5000"], "snapshot_port": 0}), "loopback only"),
    (base(feed={"channel_id": 1, "destinations": []}), "missing snapshot_port"),
    (base(session={"heartbeat_s": 0}), "heartbeat_s must be >= 1"),
    ({"control": {"port": "x"}, **base()}, "[control] takes one key"),
    ({"venues": {"a": {"port": 9000, "clients": ["C"]}, "b": {"port": 9000, "clients": ["C"]}}}, "also venue a's port"),
    (base(terms_currency="sometimes"), "terms_currency: 'sometimes'; choose one of 'reject', 'deal'"),
    (base(stale_orig_cl_ord_id="maybe"), "stale_orig_cl_ord_id: 'maybe'"),
    (base(refill_ms=-1), "refill_ms: expected a number >= 0"),
    (base(last_look={"hold_ms": {"dist": "lognormal", "median_us": 5, "sigma": 1}}), "unknown keys ['median_us']"),
    (base(last_look={"hold_ms": 5, "price_improvement": "all"}), "price_improvement: 'all'"),
    ({"market": {"run_id": "has space"}, **base()}, "market.run_id: 1 to 16 letters or digits"),
    ({"market": {"start_time": "monday"}, **base()}, "market.start_time: an ISO-8601 UTC time"),
    ({"market": {"process": {"volatility": -1}}, **base()}, "volatility and jumps_per_hour must be >= 0"),
])
def test_config_mistakes_are_named(doc, msg):
    with pytest.raises(ConfigError) as exc:
        parse(doc)
    assert msg in str(exc.value)


def test_named_profiles_lay_their_keys_over_the_file():
    doc = {**base(refill_ms=100), "profiles": {"slow": {"venues": {"v": {"refill_ms": 900}},
                                                        "market": {"process": {"volatility": 3.0}}}}}
    assert parse(doc).venues[0].profile.refill_ns == 100_000_000
    slow = parse(doc, profile_name="slow")
    assert slow.venues[0].profile.refill_ns == 900_000_000 and slow.market.process.volatility == 3.0
    with pytest.raises(ConfigError, match="no profile 'fast'; profiles in this file: slow"):
        parse(doc, profile_name="fast")
    doc["profiles"]["typo"] = {"venues": {"w": {"refill_ms": 1}}}
    with pytest.raises(ConfigError, match="no venue 'w'"):
        parse(doc, profile_name="typo")


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[market\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(bad)


def test_latency_draws_are_seeded_and_within_their_distribution():
    dists = [LatencyDist.parse("x", 250), LatencyDist.parse("x", {"dist": "uniform", "min_us": 50, "max_us": 60}),
             LatencyDist.parse("x", {"dist": "exponential", "mean_us": 100, "cap_us": 300}),
             LatencyDist.parse("x", {"dist": "lognormal", "median_us": 200, "sigma": 0.5})]
    a = [[d.sample_ns(r) for _ in range(200)] for d, r in zip(dists, [random.Random(1)] * 4, strict=True)]
    b = [[d.sample_ns(r) for _ in range(200)] for d, r in zip(dists, [random.Random(1)] * 4, strict=True)]
    assert a == b
    assert set(a[0]) == {250_000}
    assert all(50_000 <= x <= 60_000 for x in a[1])
    assert max(a[2]) <= 300_000 and min(a[2]) >= 0
    med = sorted(a[3])[100]
    assert 120_000 < med < 330_000


def run_cli(*args, timeout=30):
    return subprocess.run([sys.executable, "-m", "fxpipe", *args], capture_output=True, text=True, env=ENV,
                          timeout=timeout)


def test_cli_help_and_fault_list():
    r = run_cli("venue", "--help")
    assert r.returncode == 0 and "--config" in r.stdout
    r = run_cli("venue-fault", "--list")
    assert r.returncode == 0 and "duplicate_exec" in r.stdout and "stop_reading" in r.stdout


def test_cli_user_errors_exit_2_with_one_line(tmp_path):
    r = run_cli("venue", "--config", str(tmp_path / "missing.toml"))
    assert r.returncode == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("venue", "--config", str(EXAMPLE), "--fault", "drop at_s=x")
    assert r.returncode == 2 and "at_s='x'" in r.stderr
    r = run_cli("venue-fault", "drop")
    assert r.returncode == 2 and "--control-port" in r.stderr
    r = run_cli("venue-fault", "--control-port", str(free_port()), "drop")
    assert r.returncode == 2 and "control port" in r.stderr


def test_cli_runs_the_example_with_faults_from_the_command_line(tmp_path):
    text = EXAMPLE.read_text()
    ports = {"9878": free_port(), "9879": free_port(), "9899": 0, "31001": free_port(), "31002": free_port()}
    for old, new in ports.items():
        text = text.replace(f"= {old}", f"= {new}").replace(f":{old}", f":{new}")
    text = text.replace('"var/venue/store"', f'"{tmp_path / "store"}"').replace('"var/venue/log"', f'"{tmp_path / "log"}"')
    cfg = tmp_path / "v.toml"
    cfg.write_text(text)
    p = subprocess.Popen([sys.executable, "-m", "fxpipe", "venue", "--config", str(cfg), "--pace", "step",
                          "--fault", "overfill qty=1 venue=ecn session=FXPIPE"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        ready = json.loads(p.stdout.readline())
        assert ready["event"] == "ready" and ready["venues"]["ecn"]["port"] == ports["9878"]
        c = FixClient(tmp_path, ports["9878"], "FXPIPE", "ECN1")
        try:
            c.send("D", new_order("CLI1", qty="1000000", ord_type="1"))
            ack, fill, extra = c.wait_for("8", 3, t11="CLI1")
            assert extra.get_str(32) == "1" and extra.get_str(14) == "1000001"
            r = run_cli("venue-fault", "--control-port", str(ready["control_port"]), "unknown_order venue=ecn session=FXPIPE")
            assert r.returncode == 0 and r.stdout.startswith("ok armed 1")
            c.wait(lambda: any(m.get_str(11).startswith("UNKNOWN-") for m in c.of_type("8")), "phantom report")
            r = run_cli("venue-fault", "--control-port", str(ready["control_port"]), "--status")
            assert json.loads(r.stdout)["venues"]["ecn"]["orders"] == 1
        finally:
            c.close()
    finally:
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["event"] == "stopped"
    assert Path(tmp_path / "log").exists()
