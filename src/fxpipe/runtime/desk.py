"""What a trading run is made of, independent of how it is laid out on cores: reference data
and risk limits, the strategies the decision stage hosts, the venues' order sessions, the feed
sources, and where the run keeps its files.

    run_dir/journal        the system of record: every event of every ring (the journal worker)
    run_dir/oms            the oms's write-ahead journal: every input before the stage sees it,
                           every request before it is sent (its recovery replays it)
    run_dir/oms-state      the order sessions' FIX stores and message logs
    run_dir/decision.json  nothing: the decision stage recovers from the journal

`DeskSpec.from_venues(path)` derives the order sessions and the binary feeds from a venue
simulator configuration (config/venues.toml), so `fxpipe run` and `fxpipe venue` talk out of the
box; each field can also be given directly.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fxpipe.configdir import config_file
from fxpipe.oms.gateway import VenueLink

DEFAULT_REFDATA = config_file("refdata.toml")
DEFAULT_LIMITS = config_file("risk.toml")


class DeskError(ValueError):
    """A desk that cannot run: what is wrong, where."""


@dataclass(frozen=True)
class BinaryFeedSpec:
    """One channel of a venue's binary UDP feed: where we listen, where its snapshots are."""
    channel_id: int
    venue_id: int
    listen_port: int
    snapshot_host: str
    snapshot_port: int


@dataclass(frozen=True)
class FixFeedSpec:
    """A venue's FIX market-data session (MarketDataRequest, snapshots and incrementals)."""
    venue_id: int
    port: int
    target_comp_id: str
    sender_comp_id: str = "FXPIPE-MD"
    host: str = "127.0.0.1"
    symbols: tuple[str, ...] = ()


@dataclass
class DeskSpec:
    run_dir: Path
    strategies: list[dict]
    venues: list[VenueLink] = field(default_factory=list)
    binary_feeds: list[BinaryFeedSpec] = field(default_factory=list)
    fix_feeds: list[FixFeedSpec] = field(default_factory=list)
    refdata_text: str = ""
    limits_text: str = ""
    oms_prefix: int = 1
    request_timeout_ms: int = 3000
    journal_fsync: str = "every:/100ms"
    # the oms's write-ahead journal: no sync inside an append (an order would wait for the disk);
    # the journal process makes it durable every `oms_sync_ms` instead, from its own core
    # (fxpipe.journal.background, run by runtime.workers.journal_body)
    oms_fsync: str = "never"
    oms_sync_ms: int = 10
    session_fsync: str = "never"
    timer_period_ms: int = 100
    # an idle trading worker hands the oms the marks it has not had yet at most this often (0:
    # only before an intent and on the timer): fresher marks for risk while no strategy trades,
    # and a warm mark path for the next intent, for up to one journaled mark per instrument and
    # venue per period in the oms's write-ahead journal
    oms_idle_marks_ms: float = 1.0
    reset_on_logon: bool = False
    oms_config: dict | None = None     # the oms stage's whole configuration (config/oms.toml), routing included
    # the oms's mark PositionUpdates on its timer, not on each mark: a mark is on the order path
    oms_mark_updates: str = "timer"

    def __post_init__(self) -> None:
        self.run_dir = Path(self.run_dir)
        if not self.refdata_text:
            self.refdata_text = DEFAULT_REFDATA.read_text()
        if not self.strategies:
            raise DeskError("a desk needs at least one strategy (module:Class)")
        ids = [int(s.get("strategy_id", 0)) for s in self.strategies]
        if len(set(ids)) != len(ids) or not all(1 <= i <= 0xFFFF for i in ids):
            raise DeskError(f"strategy ids must be unique within 1..65535, got {ids}")
        if not self.venues:
            raise DeskError("a desk needs at least one venue order session")
        if not self.binary_feeds and not self.fix_feeds:
            raise DeskError("a desk needs at least one market-data feed (binary or FIX)")
        if isinstance(self.oms_idle_marks_ms, bool) or not isinstance(self.oms_idle_marks_ms, int | float) \
                or not 0 <= self.oms_idle_marks_ms <= 60_000:
            raise DeskError(f"oms_idle_marks_ms must be milliseconds from 0 (off) to 60000, "
                            f"got {self.oms_idle_marks_ms!r}")

    @property
    def journal_dir(self) -> Path:
        return self.run_dir / "journal"

    @property
    def oms_dir(self) -> Path:
        return self.run_dir / "oms"

    @property
    def oms_state_dir(self) -> Path:
        return self.run_dir / "oms-state"

    def oms_stage_config(self) -> dict:
        if self.oms_config is not None:
            return {**self.oms_config, "mark_updates": self.oms_mark_updates}
        return {"refdata_text": self.refdata_text, "limits_text": self.limits_text, "prefix": self.oms_prefix,
                "request_timeout_ms": self.request_timeout_ms, "mark_updates": self.oms_mark_updates}

    def with_oms(self, path: str | Path) -> DeskSpec:
        """Order sessions, routing, risk limits and the request timeout from an OMS
        configuration (config/oms.toml); the feeds stay as they are."""
        from fxpipe.oms.config import OmsConfigError, load_oms_config

        try:
            cfg = load_oms_config(path)
        except OmsConfigError as exc:
            raise DeskError(str(exc)) from None
        self.venues = list(cfg.venues)
        self.oms_config = dict(cfg.stage_config)
        self.request_timeout_ms = cfg.request_timeout_ms
        return self

    def describe(self) -> str:
        return json.dumps({"run_dir": str(self.run_dir), "strategies": self.strategies,
                           "venues": [{"venue_id": v.venue_id, "port": v.port, "target": v.target_comp_id,
                                       "kind": v.kind} for v in self.venues],
                           "binary_feeds": [asdict(f) for f in self.binary_feeds],
                           "fix_feeds": [asdict(f) for f in self.fix_feeds]}, indent=2)

    @classmethod
    def from_venues(cls, venues_toml: str | Path, run_dir: str | Path, strategies: list[dict], *,
                    profile: str | None = None, **kw) -> DeskSpec:
        """Order sessions and feeds from a venue simulator configuration file."""
        from fxpipe.venue.config import load

        try:
            sim = load(venues_toml, profile)
        except Exception as exc:
            raise DeskError(f"{venues_toml}: {exc}") from None
        return cls.from_sim(sim, run_dir, strategies, **kw)

    @classmethod
    def from_sim(cls, sim, run_dir: str | Path, strategies: list[dict], *, sender_comp_id: str = "FXPIPE",
                 fix_market_data: bool = False, **kw) -> DeskSpec:
        """Order sessions (a venue with last look: adapter `lp`, else `ecn`) and binary feeds from
        a parsed venue configuration; venue ids by comp id in its reference data."""
        links: list[VenueLink] = []
        feeds: list[BinaryFeedSpec] = []
        fix_feeds: list[FixFeedSpec] = []
        for vc in sim.venues:
            p = vc.profile
            try:
                venue_id = sim.refdata.venues[p.comp_id].id
            except KeyError:
                raise DeskError(f"{sim.path}: venue {p.comp_id!r} is not in the reference data "
                                f"(venues: {', '.join(sorted(sim.refdata.venues))})") from None
            if sender_comp_id not in p.clients:
                raise DeskError(f"{sim.path}: venue {p.comp_id} does not accept {sender_comp_id!r} "
                                f"(clients: {', '.join(p.clients)})")
            links.append(VenueLink(venue_id, p.port, p.comp_id, sender_comp_id=sender_comp_id,
                                   kind="lp" if p.last_look is not None else "ecn"))
            if vc.feed is not None:
                _, port = vc.feed.destinations[0]
                feeds.append(BinaryFeedSpec(vc.feed.channel_id, venue_id, port, "127.0.0.1", vc.feed.snapshot_port))
            # FIX market data where the venue has no binary feed (one source of prices per venue)
            if fix_market_data and vc.feed is None and f"{sender_comp_id}-MD" in p.clients:
                fix_feeds.append(FixFeedSpec(venue_id, p.port, p.comp_id, f"{sender_comp_id}-MD",
                                             symbols=tuple(p.pairs or ())))
        refdata = Path(sim.market.refdata).read_text() if sim.market.refdata else ""
        return cls(run_dir=Path(run_dir), strategies=strategies, venues=links, binary_feeds=feeds,
                   fix_feeds=fix_feeds, refdata_text=refdata, **kw)
