"""Builders for the risk tests: a positions + risk engine pair on config/refdata.toml, and the
events they take (quotes, intents, fills, order updates, controls) in readable units."""
from __future__ import annotations

from fxpipe.model import events as ev
from fxpipe.model.numbers import parse_price, parse_qty
from fxpipe.model.refdata import load_refdata
from fxpipe.positions import PositionEngine
from fxpipe.risk import RiskEngine

REFDATA = load_refdata()
T0 = 1_800_000_000_000_000_000
MS = 1_000_000
BUY, SELL = ev.Side.BUY, ev.Side.SELL


def engines(accounting="average"):
    pe = PositionEngine(REFDATA, accounting)
    return pe, RiskEngine(pe, REFDATA)


def quote(symbol, bid, ask, ts=T0):
    return ev.make(ev.EventType.QUOTE, instrument_id=REFDATA.instrument(symbol).id, venue_id=1,
                   bid_px_e8=parse_price(bid), ask_px_e8=parse_price(ask), bid_qty_e2=parse_qty("1000000"),
                   ask_qty_e2=parse_qty("1000000"), quote_cond=ev.QuoteCondition.FIRM, ts_receive_ns=ts)


def mark(pe, risk, symbol, bid, ask=None, ts=T0):
    q = quote(symbol, bid, ask or bid, ts)
    pe.apply(q)
    return risk.apply(q)


_next_id = [1000]


def intent(side, qty, px=None, symbol="EUR/USD", strategy=1, ts=T0, action=ev.IntentAction.NEW, venue=1,
           cl_ord_id=None, orig=0):
    if cl_ord_id is None:
        _next_id[0] += 1
        cl_ord_id = _next_id[0]
    return ev.make(ev.EventType.ORDER_INTENT, instrument_id=REFDATA.instrument(symbol).id, venue_id=venue,
                   cl_ord_id=cl_ord_id, orig_cl_ord_id=orig, price_e8=parse_price(px) if px else 0,
                   qty_e2=parse_qty(qty), strategy_id=strategy, action=action, side=side,
                   ord_type=ev.OrdType.LIMIT if px else ev.OrdType.MARKET, time_in_force=ev.TimeInForce.DAY,
                   ts_decide_ns=ts, sequence=cl_ord_id)


def fill(exec_id, side, qty, px, symbol="EUR/USD", strategy=1, ts=T0):
    return ev.make(ev.EventType.FILL, instrument_id=REFDATA.instrument(symbol).id, venue_id=1, strategy_id=strategy,
                   side=side, last_qty_e2=parse_qty(qty), last_px_e8=parse_price(px), exec_id=exec_id,
                   exec_trans_type=ev.ExecTransType.NEW, ts_receive_ns=ts)


def update(cl_ord_id, status, order_qty, cum="0", leaves=None, strategy=1, exec_type=None, ts=T0, orig=0,
           symbol="EUR/USD"):
    return ev.make(ev.EventType.ORDER_UPDATE, instrument_id=REFDATA.instrument(symbol).id, venue_id=1,
                   cl_ord_id=cl_ord_id, orig_cl_ord_id=orig, order_qty_e2=parse_qty(order_qty),
                   cum_qty_e2=parse_qty(cum), leaves_qty_e2=parse_qty(leaves if leaves is not None else "0"),
                   strategy_id=strategy, ord_status=status, exec_type=exec_type or ev.ExecType.NEW,
                   exec_trans_type=ev.ExecTransType.NEW, report_kind=ev.ReportKind.EXECUTION, side=BUY,
                   ts_receive_ns=ts)


def control(command, strategy=0, limit=0, arg=0, ccy="", symbol=None, venue=0, ts=T0):
    return ev.make(ev.EventType.CONTROL, command=command, strategy_id=strategy, limit_id=limit, arg=arg,
                   limit_ccy=ccy, instrument_id=REFDATA.instrument(symbol).id if symbol else 0, venue_id=venue,
                   issued_by="ops", request_id=7, ts_receive_ns=ts)
