"""What a desk is made of, derived from the shipped configurations, and refused with a clear
error when it cannot run."""
from __future__ import annotations

from pathlib import Path

import pytest

from fxpipe.runtime.desk import DeskError, DeskSpec

ROOT = Path(__file__).resolve().parents[2]
MM = [{"strategy": "examples.market_maker:MarketMaker", "strategy_id": 1, "venue_id": 1, "params": {}}]


def test_venue_configuration_gives_order_sessions_binary_feed_and_fix_market_data_where_no_feed(tmp_path):
    d = DeskSpec.from_venues(ROOT / "config" / "venues.toml", tmp_path, MM, fix_market_data=True)
    assert [(v.venue_id, v.target_comp_id, v.kind) for v in d.venues] == [(1, "ECN1", "ecn"), (2, "LP1", "lp")]
    assert [(f.venue_id, f.listen_port) for f in d.binary_feeds] == [(1, 31001)]
    assert [f.venue_id for f in d.fix_feeds] == [2]          # the LP has no binary feed


def test_oms_configuration_brings_routing_and_its_venues(tmp_path):
    d = DeskSpec.from_venues(ROOT / "config" / "venues.toml", tmp_path, MM).with_oms(ROOT / "config" / "oms.toml")
    cfg = d.oms_stage_config()
    assert cfg.get("routing") and {v.target_comp_id for v in d.venues} == {"ECN1", "LP1"}
    with pytest.raises(DeskError, match="no such OMS configuration"):
        d.with_oms(tmp_path / "missing.toml")


@pytest.mark.parametrize("change, message", [
    (dict(strategies=[]), "at least one strategy"),
    (dict(strategies=MM + MM), "unique"),
    (dict(venues=[]), "order session"),
    (dict(binary_feeds=[], fix_feeds=[]), "market-data feed"),
    (dict(oms_idle_marks_ms=-1), "oms_idle_marks_ms must be milliseconds from 0"),
    (dict(oms_idle_marks_ms="1"), "oms_idle_marks_ms must be milliseconds from 0"),
    (dict(oms_idle_marks_ms=True), "oms_idle_marks_ms must be milliseconds from 0"),
    (dict(oms_idle_marks_ms=120_000), "oms_idle_marks_ms must be milliseconds from 0"),
])
def test_a_desk_that_cannot_run_is_refused_before_anything_starts(tmp_path, change, message):
    base = DeskSpec.from_venues(ROOT / "config" / "venues.toml", tmp_path, MM)
    kw = dict(run_dir=tmp_path, strategies=base.strategies, venues=base.venues, binary_feeds=base.binary_feeds)
    kw.update(change)
    with pytest.raises(DeskError, match=message):
        DeskSpec(**kw)


def test_venue_configuration_that_does_not_accept_us_is_refused(tmp_path):
    with pytest.raises(DeskError, match="does not accept 'SOMEONE'"):
        DeskSpec.from_venues(ROOT / "config" / "venues.toml", tmp_path, MM, sender_comp_id="SOMEONE")
