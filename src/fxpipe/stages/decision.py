"""The decision stage: hosts strategies (fxpipe.strategy) and turns the events they are given
into OrderIntent events.

Inputs: Quote (venue top of book: the composite book is kept here, stale quotes aged out in
event time, then every strategy's on_quote), Fill and OrderUpdate (to the strategy that owns
the order, by strategy_id), PositionUpdate (the oms's net position replaces the one kept from
fills), market-data SessionEvent (a venue's quotes leave the book until fresh ones come),
Timer (on_timer), Control PAUSE/RESUME (strategy_id: one strategy, 0: all of them). Outputs: the
intents strategies made, in order; when a strategy raises, it is stopped: a RiskEvent
STRATEGY_STOPPED and a cancel for each of its open orders, and it is called no more.

A paused strategy gets no on_quote and no on_timer, but still its fills and order updates (its
book stays true); its open orders stay as they are (`fxpipe ctl cancel-all` cancels them). Each
PAUSE/RESUME is answered per strategy by a RiskEvent (check KILL_SWITCH, action STRATEGY_STOPPED
for a pause and STRATEGY_RESUMED for a resume, `observed` = the command, `cl_ord_id` = the
Control's request_id); a strategy this stage does not host: CHANGE_REFUSED. The configuration lists the strategies by import path and parameters, so a
replay rebuilds exactly the same ones.
"""
from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable
from typing import Any

import numpy as np

import fxpipe.model.events as ev
from fxpipe.model.packing import fields_reader, packer
from fxpipe.stage import event_time, register_stage, timer_event
from fxpipe.stages.market_state import DEFAULT_STALE_AFTER_NS, MarketStateStage
from fxpipe.stages.quotes import QuotePath
from fxpipe.strategy import Fill, OrderUpdate, Quote, StrategyContext, load_strategy

NAME = "decision"
_HOPS = packer(ev.EventType.QUOTE, ("ts_venue_ns", "ts_receive_ns", "ts_decode_ns"))   # any type: header
_SYNTHETIC = int(ev.EventFlag.SYNTHETIC)
_PAUSE_RESUME = (int(ev.ControlCommand.PAUSE), int(ev.ControlCommand.RESUME))
_T = ev.EventType
_QUOTE, _FILL, _UPDATE, _POSITION, _RISK = (int(_T.QUOTE), int(_T.FILL), int(_T.ORDER_UPDATE),
                                            int(_T.POSITION_UPDATE), int(_T.RISK))
_REJECT_ORDER = int(ev.RiskAction.REJECT_ORDER)
_CANCEL_REJECT = int(ev.ReportKind.CANCEL_REJECT)
# what the oms's events say, read from their bytes (a numpy field read costs ~0.5 us apiece)
_HEAD = ("ts_venue_ns", "ts_receive_ns", "ts_decode_ns", "sequence", "strategy_id")
_FILL_FIELDS = fields_reader(_FILL, *_HEAD, "cl_ord_id", "venue_id", "instrument_id", "side", "last_qty_e2",
                             "last_px_e8", "exec_trans_type")
_UPDATE_FIELDS = fields_reader(_UPDATE, *_HEAD, "cl_ord_id", "orig_cl_ord_id", "ord_status", "exec_type",
                               "cum_qty_e2", "leaves_qty_e2", "reject_reason", "report_kind", "flags")
_POSITION_FIELDS = fields_reader(_POSITION, "strategy_id", "instrument_id", "net_qty_e2")
_RISK_FIELDS = fields_reader(_RISK, *_HEAD, "action", "cl_ord_id")


class DecisionStage:
    name = NAME

    def __init__(self, strategies: list[dict], stale_after_ns: int = DEFAULT_STALE_AFTER_NS):
        self._config = {"strategies": strategies, "stale_after_ns": stale_after_ns}
        self.market = MarketStateStage(stale_after_ns)
        self.hosted: list[tuple[StrategyContext, Any]] = []
        self.stopped: dict[int, str] = {}
        self.paused: set[int] = set()
        # a host that takes the stage's outputs as bytes (the trading worker) sets this: the
        # strategies' intents then come as their bytes, not records (the rare outputs of the
        # stage itself, a stopped strategy's or a pause's RiskEvent, stay records)
        self.bytes_out = False
        seen: set[int] = set()
        for spec in strategies:
            sid = int(spec["strategy_id"])
            if not 1 <= sid <= 0xFFFF or sid in seen:
                raise ValueError(f"strategy_id {sid} of {spec.get('strategy')!r}: must be unique and within 1..65535")
            seen.add(sid)
            strat = load_strategy(spec["strategy"], spec.get("params"))
            ctx = StrategyContext(sid, int(spec.get("venue_id", 1)), self.market)
            self.hosted.append((ctx, strat))
        self.by_id = {ctx.strategy_id: (ctx, strat) for ctx, strat in self.hosted}
        # the one call made for every quote (live and in a backtest), in C around the strategies
        self._quotes = QuotePath(self, Quote)
        for ctx, strat in self.hosted:
            self._call(ctx, strat, "on_start", ctx)

    @classmethod
    def from_config(cls, config: bytes) -> DecisionStage:
        return cls(**json.loads(config.decode()))

    def config(self) -> bytes:
        return json.dumps(self._config, sort_keys=True).encode()

    def strategy(self, strategy_id: int):
        return self.by_id[strategy_id][1]

    def context(self, strategy_id: int) -> StrategyContext:
        return self.by_id[strategy_id][0]

    # --- the handler ----------------------------------------------------------------------------

    def on_timer(self, now_ns: int) -> list[np.void]:
        return self.on_event(timer_event(now_ns))

    def on_event(self, event: np.void | bytes | bytearray, seq: int = 0, end_of_batch: bool = True) -> list[np.void]:
        """event: a record, or its bytes (a host that has them: the fields are read with struct)."""
        raw = event if isinstance(event, bytes | bytearray) else event.tobytes()
        t = raw[0] | raw[1] << 8
        if t == _QUOTE:
            return self._quotes.on_quote(raw)
        out: list[np.void] = []
        if t == _FILL:
            venue_ts, receive_ts, decode_ts, sequence, sid, cl, venue, instr, side, qty, px, trans = _FILL_FIELDS(raw)
            hit = self.by_id.get(sid)
            if hit is not None:
                ctx, strat = hit
                now = receive_ts or venue_ts
                fill = Fill(cl, venue, instr, side, qty, px, trans, now)
                self._apply_fill(ctx, fill)
                self._run(ctx, strat, "on_fill", fill, now, sequence, (venue_ts, receive_ts, decode_ts), out)
            return out
        if t == _UPDATE:
            (venue_ts, receive_ts, decode_ts, sequence, sid, cl, orig, status, exec_type, cum, leaves, reason,
             kind, flags) = _UPDATE_FIELDS(raw)
            hit = self.by_id.get(sid)
            if hit is not None:
                ctx, strat = hit
                now = receive_ts or venue_ts
                u = OrderUpdate(cl, orig, status, exec_type, cum, leaves, reason, now)
                # a request refused: by the oms itself (a synthetic update with its reason) or by
                # the venue's OrderCancelReject
                refused = kind == _CANCEL_REJECT or (bool(flags & _SYNTHETIC) and reason != 0)
                self._apply_update(ctx, u, refused)
                self._run(ctx, strat, "on_order_update", u, now, sequence, (venue_ts, receive_ts, decode_ts), out)
                self._forget_done(ctx, cl, orig)
            return out
        if t == _POSITION:
            sid, instr, net = _POSITION_FIELDS(raw)
            hit = self.by_id.get(sid)
            if hit is not None:
                hit[0].positions[instr] = net
            return out
        if t == _RISK:
            venue_ts, receive_ts, decode_ts, sequence, sid, action, cl = _RISK_FIELDS(raw)
            if action != _REJECT_ORDER:
                return out
            # pre-trade risk refused an intent: the order never left, the strategy must know
            hit = self.by_id.get(sid)
            o = hit[0].orders.get(cl) if hit is not None else None
            if hit is not None and o is not None:
                ctx, strat = hit
                now = receive_ts or venue_ts
                u = OrderUpdate(o.cl_ord_id, o.orig_cl_ord_id, int(ev.OrdStatus.REJECTED), int(ev.ExecType.REJECTED),
                                o.cum_qty_e2, 0, 0, now)
                self._apply_update(ctx, u, True)
                self._run(ctx, strat, "on_order_update", u, now, sequence, (venue_ts, receive_ts, decode_ts), out)
                self._forget_done(ctx, u.cl_ord_id, u.orig_cl_ord_id)
            return out
        rec: np.void = ev.read(bytearray(raw)) if isinstance(event, bytes | bytearray) else event
        now = event_time(rec)
        hops = _HOPS.unpack_from(raw)
        if t == ev.EventType.SESSION:
            self.market.apply(rec)
        elif t == ev.EventType.TIMER:
            self.market.apply(rec)
            for ctx, strat in self.hosted:
                if ctx.strategy_id not in self.paused:
                    self._run(ctx, strat, "on_timer", now, now, 0, hops, out)
        elif t == ev.EventType.CONTROL and int(rec["command"]) in _PAUSE_RESUME:
            out.extend(self._pause_resume(rec, seq or int(rec["sequence"]), now))
        return out

    def on_quote_bytes(self, raw: bytes | bytearray) -> list[np.void]:
        """on_event() of a Quote given as its bytes (a host that has them already)."""
        return self._quotes.on_quote(raw)

    @property
    def quote_path(self) -> Callable[[bytes | bytearray], list[Any]]:
        """on_quote_bytes itself, the C method (fxpipe.stages.quotes): a host that calls it on
        every quote saves a Python call."""
        return self._quotes.on_quote

    def _pause_resume(self, c: np.void, seq: int, now: int) -> list[np.void]:
        cmd, sid = int(c["command"]), int(c["strategy_id"])
        answer = dict(check=ev.RiskCheck.KILL_SWITCH, observed=cmd, cl_ord_id=int(c["request_id"]),
                      cause_seq=seq, ts_receive_ns=now)
        if sid and sid not in self.by_id:
            return [ev.make(ev.EventType.RISK, action=ev.RiskAction.CHANGE_REFUSED, strategy_id=sid, **answer)]
        out = []
        for target in ([sid] if sid else sorted(self.by_id)):
            if cmd == ev.ControlCommand.PAUSE:
                self.paused.add(target)
                action = ev.RiskAction.STRATEGY_STOPPED
            else:
                self.paused.discard(target)
                action = ev.RiskAction.STRATEGY_RESUMED
            out.append(ev.make(ev.EventType.RISK, action=action, strategy_id=target, **answer))
        return out

    def _run(self, ctx: StrategyContext, strat, method: str, arg, now: int, trigger: int,
             hops: tuple[int, int, int], out: list[np.void]) -> None:
        if ctx.strategy_id in self.stopped:
            return
        # the trigger's hop stamps go on its intents: tick-to-trade carries through the strategy
        ctx.now_ns, ctx.trigger_seq, ctx.hops = now, trigger, hops
        try:
            ok = self._call(ctx, strat, method, arg)
        finally:
            ctx.hops = None
        if not ok:
            out.extend(self._stop(ctx, now))
            return
        if self.bytes_out:
            out.extend(ctx.take_bytes())    # bytes_out: the intents as bytes, not records
        else:
            out.extend(ctx.take())

    def _call(self, ctx: StrategyContext, strat, method: str, arg) -> bool:
        try:
            getattr(strat, method)(arg)
            return True
        except Exception as exc:  # noqa: BLE001 - a strategy's defect stops it, not the stage
            self._failed(ctx, method, exc)
            return False

    def _failed(self, ctx: StrategyContext, method: str, exc: Exception) -> None:
        self.stopped[ctx.strategy_id] = f"{method}: {type(exc).__name__}: {exc}"
        for it in ctx.take():       # intents of a failed callback are not sent: nor tracked
            if int(it["action"]) != ev.IntentAction.CANCEL:
                ctx.orders.pop(int(it["cl_ord_id"]), None)

    def _stop(self, ctx: StrategyContext, now: int) -> list[np.void]:
        out = [ev.make(ev.EventType.RISK, check=ev.RiskCheck.KILL_SWITCH, action=ev.RiskAction.STRATEGY_STOPPED,
                       strategy_id=ctx.strategy_id, cause_seq=ctx.trigger_seq, ts_receive_ns=now)]
        for o in ctx.open_orders():
            ctx.cancel(o.cl_ord_id)
        return out + ctx.take()

    @staticmethod
    def _apply_fill(ctx: StrategyContext, f: Fill) -> None:
        sign = 1 if f.side == ev.Side.BUY else -1
        if f.exec_trans_type == ev.ExecTransType.CANCEL:
            sign = -sign
        elif f.exec_trans_type != ev.ExecTransType.NEW:
            return  # a correction's net effect arrives with the oms's PositionUpdate
        ctx.positions[f.instrument_id] = ctx.positions.get(f.instrument_id, 0) + sign * f.last_qty_e2

    @staticmethod
    def _apply_update(ctx: StrategyContext, u: OrderUpdate, refused: bool = False) -> None:
        o = ctx.orders.get(u.cl_ord_id)
        if refused and (o is None or o.orig_cl_ord_id):
            # a cancel or a replace that did not happen (the oms refused it, risk did, or the
            # venue's cancel reject): the order goes on under its previous ClOrdID, in the state
            # the update gives it, and the replace's own ClOrdID is dead
            if o is not None:
                del ctx.orders[u.cl_ord_id]
            prev = ctx.orders.get(u.orig_cl_ord_id)
            if prev is not None and not prev.done:
                if u.ord_status != ev.OrdStatus.REJECTED or o is None:
                    prev.status = u.ord_status
                elif prev.status in (ev.OrdStatus.PENDING_CANCEL, ev.OrdStatus.PENDING_REPLACE):
                    prev.status = int(ev.OrdStatus.NEW)
                prev.cum_qty_e2 = max(prev.cum_qty_e2, u.cum_qty_e2)
            return
        if o is None:
            return
        o.status = u.ord_status
        o.cum_qty_e2 = max(o.cum_qty_e2, u.cum_qty_e2)     # reports out of order never lower it
        o.leaves_qty_e2 = u.leaves_qty_e2
        if u.orig_cl_ord_id and u.exec_type == ev.ExecType.REPLACE:
            orig = ctx.orders.get(u.orig_cl_ord_id)
            if orig is not None:
                orig.status = int(ev.OrdStatus.REPLACED)

    @staticmethod
    def _forget_done(ctx: StrategyContext, *cls: int) -> None:
        """Drops the orders an update touched (the order and the one it replaces) once done: an
        update changes no other order's state. Scanning every order here made each update cost
        the number of orders open, and a venue seconds behind left thousands open."""
        for cl in cls:
            o = ctx.orders.get(cl)
            if o is not None and o.done:
                del ctx.orders[cl]

    # --- determinism ----------------------------------------------------------------------------

    def state_hash(self) -> bytes:
        h = hashlib.sha256(self.market.state_hash())
        for ctx, strat in self.hosted:
            h.update(struct.pack("<HqqB", ctx.strategy_id, ctx.next_order, ctx.now_ns,
                                 ctx.strategy_id in self.stopped))
            for instr, qty in sorted(ctx.positions.items()):
                h.update(struct.pack("<Hq", instr, qty))
            for cl, o in sorted(ctx.orders.items()):
                h.update(struct.pack("<qHHBqqBBqq", cl, o.venue_id, o.instrument_id, o.side, o.qty_e2, o.price_e8,
                                     o.time_in_force, o.status, o.cum_qty_e2, o.leaves_qty_e2))
            own = getattr(strat, "state_bytes", None)
            if own is not None:
                h.update(own())
        if self.paused:         # absent when none is paused: hashes of runs without pauses are unchanged
            h.update(b"paused" + b"".join(struct.pack("<H", sid) for sid in sorted(self.paused)))
        return h.digest()


register_stage(NAME, DecisionStage.from_config)
