"""`fxpipe metrics`: Prometheus exposition of the desk, built on each scrape from the status
sections and the ring headers (shared memory only; nothing runs between scrapes).

Values are floats in the exposition (Prometheus has no other kind); the exact integers stay in
the status sections and the journal. Quantities are in units of the base currency, money in
units of its currency, latencies in seconds.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from fxpipe.ops.status import collect

NS = 1e-9


class OpsCollector(Collector):
    def __init__(self, prefix: str, stale_after_s: float = 5.0):
        self.prefix = prefix
        self.stale_after_s = stale_after_s

    def collect(self) -> Iterator[Metric]:
        doc = collect(self.prefix, self.stale_after_s)
        yield from self._sections(doc)
        yield from self._rings(doc)
        ops = (doc["sections"].get("ops") or {}).get("snapshot")
        if ops:
            yield from self._ops(ops)
        sup = (doc["sections"].get("supervisor") or {}).get("snapshot")
        if sup:
            yield from self._supervisor(sup)

    def _sections(self, doc: dict[str, Any]) -> Iterator[Metric]:
        up = GaugeMetricFamily("fxpipe_status_section_up", "1 when the section was read fresh, else 0",
                               labels=["section", "state"])
        age = GaugeMetricFamily("fxpipe_status_section_age_seconds", "seconds since the section was written",
                                labels=["section"])
        for name, s in doc["sections"].items():
            up.add_metric([name, s["state"]], 1.0 if s["state"] == "ok" else 0.0)
            if s["age_s"] is not None:
                age.add_metric([name], float(s["age_s"]))
        yield up
        yield age

    def _rings(self, doc: dict[str, Any]) -> Iterator[Metric]:
        present = GaugeMetricFamily("fxpipe_ring_present", "1 when the ring exists and is readable", labels=["ring"])
        cursor = GaugeMetricFamily("fxpipe_ring_cursor", "last published sequence", labels=["ring"])
        full = CounterMetricFamily("fxpipe_ring_full_waits", "times the producer waited for a full ring",
                                   labels=["ring"])
        lag = GaugeMetricFamily("fxpipe_ring_consumer_lag", "events published and not yet released",
                                labels=["ring", "consumer"])
        alive = GaugeMetricFamily("fxpipe_ring_consumer_alive", "1 when the consumer's process lives",
                                  labels=["ring", "consumer"])
        for r in doc["rings"]:
            present.add_metric([r["name"]], 1.0 if r["state"] == "ok" else 0.0)
            if r["state"] != "ok":
                continue
            cursor.add_metric([r["name"]], float(r["cursor"]))
            full.add_metric([r["name"]], float(r["producer"]["full_waits"]))
            for c in r["consumers"]:
                lag.add_metric([r["name"], c["name"]], float(c["lag"]))
                alive.add_metric([r["name"], c["name"]], 1.0 if c["alive"] else 0.0)
        yield from (present, cursor, full, lag, alive)

    def _ops(self, ops: dict[str, Any]) -> Iterator[Metric]:
        events = CounterMetricFamily("fxpipe_events", "events seen on the rings, by type", labels=["type"])
        rate = GaugeMetricFamily("fxpipe_event_rate_per_second", "events in the last whole second of event time",
                                 labels=["type"])
        for t, v in ops["events"]["by_type"].items():
            events.add_metric([t], float(v["count"]))
            rate.add_metric([t], float(v["rate_per_s"]))
        yield events
        yield rate

        orders = GaugeMetricFamily("fxpipe_orders_open", "open orders by status", labels=["status"])
        for k, v in ops["orders"]["open_by_status"].items():
            orders.add_metric([k], float(v))
        done = CounterMetricFamily("fxpipe_orders_done", "orders that ended, by final status", labels=["status"])
        for k, v in ops["orders"]["done_by_status"].items():
            done.add_metric([k], float(v))
        fills = CounterMetricFamily("fxpipe_fills", "fills (busts not counted)")
        fills.add_metric([], float(ops["fills"]["count"]))
        yield from (orders, done, fills)

        hist = HistogramMetricFamily("fxpipe_hop_latency_seconds", "per-hop latency from the events' stamps",
                                     labels=["hop"])
        quant = GaugeMetricFamily("fxpipe_hop_latency_quantile_seconds", "per-hop latency percentiles (HDR)",
                                  labels=["hop", "quantile"])
        lat = ops["latency"]
        for name, h in list(lat["hops"].items()) + [(f"sample_{k}", v) for k, v in lat["samples"].items()]:
            buckets = [(f"{b * NS:g}", float(n)) for b, n in h["buckets"]] + [("+Inf", float(h["count"]))]
            hist.add_metric([name], buckets, sum_value=h["sum_ns"] * NS)
            for q in ("50", "90", "99", "99.9"):
                if f"p{q}_ns" in h:
                    quant.add_metric([name, str(float(q) / 100)], h[f"p{q}_ns"] * NS)
        yield hist
        yield quant

        sess = GaugeMetricFamily("fxpipe_session_up", "1 when the FIX session is ACTIVE",
                                 labels=["venue", "kind", "state"])
        for s in ops["sessions"]:
            sess.add_metric([s["venue"], s["kind"], s["state"]], 1.0 if s["state"] == "ACTIVE" else 0.0)
        yield sess

        pos = GaugeMetricFamily("fxpipe_position_net", "net position, base currency units",
                                labels=["strategy", "instrument"])
        upnl = GaugeMetricFamily("fxpipe_position_unrealized_pnl_reporting",
                                 "unrealized PnL in the reporting currency", labels=["strategy", "instrument", "ccy"])
        for p in ops["positions"]:
            labels = [str(p["strategy_id"]), p["instrument"]]
            pos.add_metric(labels, p["net_qty_e2"] / 100)
            upnl.add_metric(labels + [p["rpt_ccy"]], p["unrealized_pnl_rpt_e4"] / 10_000)
        yield pos
        yield upnl

        real = GaugeMetricFamily("fxpipe_pnl_realized", "realized PnL by currency (ccy units)",
                                 labels=["strategy", "ccy"])
        unreal = GaugeMetricFamily("fxpipe_pnl_unrealized", "unrealized PnL by currency (ccy units)",
                                   labels=["strategy", "ccy"])
        total = GaugeMetricFamily("fxpipe_pnl_total_reporting",
                                  "realized + unrealized - commission, reporting currency",
                                  labels=["strategy", "ccy"])
        for p in ops["pnl"]["by_currency"]:
            real.add_metric([str(p["strategy_id"]), p["ccy"]], p["realized_e4"] / 10_000)
            unreal.add_metric([str(p["strategy_id"]), p["ccy"]], p["unrealized_e4"] / 10_000)
        for p in ops["pnl"]["total"]:
            total.add_metric([str(p["strategy_id"]), p["rpt_ccy"]],
                             (p["realized_e4"] + p["unrealized_e4"] - p["commission_e4"]) / 10_000)
        yield from (real, unreal, total)

        risk = ops["risk"]
        kill = GaugeMetricFamily("fxpipe_kill_switch", "1 while the kill switch is on (strategy 0: global)",
                                 labels=["strategy"])
        kill.add_metric(["0"], 1.0 if risk["kill_switch"]["global"] else 0.0)
        for sid in risk["kill_switch"]["stopped_strategies"]:
            kill.add_metric([sid], 1.0)
        paused = GaugeMetricFamily("fxpipe_strategy_paused", "1 while the strategy is paused", labels=["strategy"])
        for sid in risk["paused_strategies"]:
            paused.add_metric([sid], 1.0)
        rejects = CounterMetricFamily("fxpipe_risk_rejects", "orders refused by pre-trade risk", labels=["check"])
        for k, v in risk["rejects"].items():
            rejects.add_metric([k], float(v))
        alarms = CounterMetricFamily("fxpipe_alarms", "alarms seen, by kind", labels=["kind"])
        for k, v in ops["alarms"]["counts"].items():
            alarms.add_metric([k], float(v))
        yield from (kill, paused, rejects, alarms)

    def _supervisor(self, sup: dict[str, Any]) -> Iterator[Metric]:
        up = GaugeMetricFamily("fxpipe_worker_up", "1 while the worker process lives", labels=["worker"])
        restarts = CounterMetricFamily("fxpipe_worker_restarts", "restarts of the worker", labels=["worker"])
        for w in sup.get("workers", []):
            name = str(w.get("name", "?"))
            alive = w.get("alive", w.get("state") == "alive")
            up.add_metric([name], 1.0 if alive else 0.0)
            restarts.add_metric([name], float(w.get("restarts", 0)))
        yield up
        yield restarts


def registry_for(prefix: str, stale_after_s: float = 5.0) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(OpsCollector(prefix, stale_after_s))
    return reg


def serve(prefix: str, port: int = 9464, addr: str = "127.0.0.1", stale_after_s: float = 5.0):
    """Start the exposition server in a thread; returns (server, thread). port 0: any free port
    (server.server_port says which)."""
    from prometheus_client import start_http_server

    return start_http_server(port, addr=addr, registry=registry_for(prefix, stale_after_s))
