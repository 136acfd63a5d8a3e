"""A recorded stream with every kind of event the OpsView keeps, and the rings of a prefix."""
from __future__ import annotations

import numpy as np

import fxpipe.model.events as ev
from fxpipe.ring import Ring

T = ev.EventType
T0 = 1_700_000_000_000_000_000
MS = 1_000_000
RINGS = {"md": ["journal", "decision"], "intent": ["journal", "oms"], "exec": ["journal", "decision"],
         "control": ["journal", "oms", "decision"]}


def stream() -> list[np.void]:
    """Quotes, intents, requests, order updates, fills, positions, PnL, risk, sessions, a
    control and its answer, latency samples: each value chosen so a test can check it."""
    S, A, R, C = ev.SessionState, ev.RiskAction, ev.RiskCheck, ev.ControlCommand
    out = [
        ev.make(T.SESSION, venue_id=1, session_kind=ev.SessionKind.ORDERS, state=S.ACTIVE, prev_state=S.LOGON_SENT,
                reason=ev.SessionReason.LOGON, next_sender_seq=2, next_target_seq=2, ts_receive_ns=T0),
        ev.make(T.QUOTE, venue_id=1, instrument_id=1, bid_px_e8=108_499_000, ask_px_e8=108_501_000,
                bid_qty_e2=100_000_000, ask_qty_e2=100_000_000, quote_cond=ev.QuoteCondition.FIRM,
                ts_venue_ns=T0 + 1 * MS - 3_000, ts_receive_ns=T0 + 1 * MS, ts_decode_ns=T0 + 1 * MS + 800),
        # the decision stage's intent: the quote's stamps plus decide
        ev.make(T.ORDER_INTENT, venue_id=1, instrument_id=1, cl_ord_id=11, qty_e2=100_000_000, price_e8=108_500_000,
                action=ev.IntentAction.NEW, side=ev.Side.BUY, ord_type=ev.OrdType.LIMIT, strategy_id=7,
                ts_receive_ns=T0 + 1 * MS, ts_decode_ns=T0 + 1 * MS + 800, ts_decide_ns=T0 + 1 * MS + 5_800),
        # the oms's request to the venue: plus risk and send
        ev.make(T.ORDER_INTENT, venue_id=1, instrument_id=1, cl_ord_id=3_000_000_000_001, qty_e2=100_000_000,
                price_e8=108_500_000, action=ev.IntentAction.NEW, side=ev.Side.BUY, ord_type=ev.OrdType.LIMIT,
                strategy_id=7, ts_receive_ns=T0 + 1 * MS, ts_decode_ns=T0 + 1 * MS + 800,
                ts_decide_ns=T0 + 1 * MS + 5_800, ts_risk_ns=T0 + 1 * MS + 7_800, ts_send_ns=T0 + 1 * MS + 20_800),
        update(1, ev.OrdStatus.PENDING_NEW, 2 * MS),
        update(1, ev.OrdStatus.NEW, 3 * MS),
        update(2, ev.OrdStatus.PENDING_NEW, 3 * MS),
        update(3, ev.OrdStatus.REJECTED, 3 * MS, reject_reason=3),
        update(1, ev.OrdStatus.PARTIALLY_FILLED, 4 * MS, cum=40_000_000),
        fill(1, 40_000_000, 108_500_000, "E1", 4 * MS),
        update(1, ev.OrdStatus.FILLED, 5 * MS, cum=100_000_000),
        fill(1, 60_000_000, 108_502_000, "E2", 5 * MS),
        update(1, ev.OrdStatus.FILLED, 5 * MS, cum=100_000_000),          # a repeated final report
        fill(1, 40_000_000, 108_500_000, "E3", 6 * MS, trans=ev.ExecTransType.CANCEL, ref="E1"),
        fill(1, 40_000_000, 108_501_000, "E4", 6 * MS, trans=ev.ExecTransType.CORRECT, ref="E2"),
        ev.make(T.POSITION_UPDATE, venue_id=0, instrument_id=1, net_qty_e2=100_000_000, avg_px_e8=108_501_200,
                mark_px_e8=108_500_000, realized_pnl_e4=0, unrealized_pnl_e4=-12_000_000, commission_e4=5_000,
                realized_pnl_rpt_e4=0, unrealized_pnl_rpt_e4=-12_000_000, rpt_rate_e8=100_000_000, cause_seq=12,
                strategy_id=7, reason=ev.PositionReason.FILL, rpt_ccy=b"USD", turnover_e4=10_850_120_000,
                fill_count=2, mark_status=ev.MarkStatus.OK, accounting=1, ts_receive_ns=T0 + 6 * MS),
        ev.make(T.POSITION_UPDATE, instrument_id=3, net_qty_e2=-50_000_000, avg_px_e8=15_125_300_000,
                mark_px_e8=15_125_000_000, unrealized_pnl_e4=1_500_000_000, unrealized_pnl_rpt_e4=99_100_000,
                strategy_id=0, reason=ev.PositionReason.MARK, rpt_ccy=b"USD", fill_count=1, accounting=1,
                ts_receive_ns=T0 + 6 * MS),
        ev.make(T.PNL, strategy_id=7, pnl_kind=ev.PnlKind.CURRENCY, ccy=b"USD", rpt_ccy=b"USD",
                realized_e4=25_000, unrealized_e4=-12_000_000, commission_e4=5_000, realized_rpt_e4=25_000,
                unrealized_rpt_e4=-12_000_000, commission_rpt_e4=5_000, cause_seq=12, ts_receive_ns=T0 + 6 * MS),
        ev.make(T.PNL, strategy_id=7, pnl_kind=ev.PnlKind.TOTAL, ccy=b"USD", rpt_ccy=b"USD",
                realized_e4=25_000, unrealized_e4=-12_000_000, commission_e4=5_000, realized_rpt_e4=25_000,
                unrealized_rpt_e4=-12_000_000, commission_rpt_e4=5_000, mark_status=ev.MarkStatus.MISSING,
                missing_ccy=b"JPY", missing_count=1, ts_receive_ns=T0 + 6 * MS),
        ev.make(T.RISK, check=R.MAX_ORDER_QTY, action=A.REJECT_ORDER, cl_ord_id=12, strategy_id=7,
                observed=2_000_000_000, limit=1_000_000_000, value_scale=2, order_qty_e2=2_000_000_000,
                order_price_e8=108_500_000, side=ev.Side.SELL, instrument_id=1, venue_id=1, cause_seq=40,
                ts_risk_ns=T0 + 7 * MS),
        ev.make(T.RISK, check=R.MAX_ORDER_QTY, action=A.REJECT_ORDER, cl_ord_id=13, strategy_id=7,
                observed=3_000_000_000, limit=1_000_000_000, value_scale=2, ts_risk_ns=T0 + 8 * MS),
        ev.make(T.RISK, check=R.PRICE_COLLAR, action=A.REJECT_ORDER, cl_ord_id=14, strategy_id=7,
                observed=60, limit=50, value_scale=0, ts_risk_ns=T0 + 8 * MS),
        ev.make(T.RISK, check=R.FILL_REFUSED, action=A.ALARM, cl_ord_id=99, strategy_id=7, order_qty_e2=1,
                value_scale=2, ts_receive_ns=T0 + 9 * MS),
        ev.make(T.CONTROL, command=C.SET_LIMIT, request_id=501, limit_id=ev.RiskLimit.MAX_ORDER_QTY,
                arg=500_000_000, strategy_id=7, issued_by=b"alice", ts_receive_ns=T0 + 10 * MS),
        ev.make(T.RISK, check=R.LIMIT_CHANGED, action=A.LIMIT_SET, cl_ord_id=501, strategy_id=7,
                limit_id=ev.RiskLimit.MAX_ORDER_QTY, observed=1_000_000_000, limit=500_000_000,
                ts_risk_ns=T0 + 10 * MS),
        # an answer that overtook its Control (another ring)
        ev.make(T.RISK, check=R.KILL_SWITCH, action=A.STRATEGY_STOPPED, cl_ord_id=502, strategy_id=9,
                observed=C.PAUSE, ts_receive_ns=T0 + 11 * MS),
        ev.make(T.CONTROL, command=C.PAUSE, request_id=502, strategy_id=9, issued_by=b"bob",
                ts_receive_ns=T0 + 11 * MS),
        ev.make(T.CONTROL, command=C.KILL_SWITCH_ON, request_id=503, issued_by=b"alice", ts_receive_ns=T0 + 12 * MS),
        ev.make(T.RISK, check=R.KILL_SWITCH, action=A.KILL_SWITCH_ON, cl_ord_id=503, observed=1,
                ts_risk_ns=T0 + 12 * MS),
        ev.make(T.RISK, check=R.OVERFILL, action=A.STRATEGY_STOPPED, strategy_id=8, ts_risk_ns=T0 + 13 * MS),
        ev.make(T.CONTROL, command=C.SET_LIMIT, request_id=504, limit_id=ev.RiskLimit.MAX_CCY_EXPOSURE,
                limit_ccy=b"XXX", arg=5, issued_by=b"alice", ts_receive_ns=T0 + 14 * MS),
        ev.make(T.RISK, check=R.LIMIT_CHANGED, action=A.CHANGE_REFUSED, cl_ord_id=504,
                limit_id=ev.RiskLimit.MAX_CCY_EXPOSURE, limit=5, ccy=b"XXX", ts_risk_ns=T0 + 14 * MS),
        ev.make(T.SESSION, venue_id=1, session_kind=ev.SessionKind.ORDERS, state=S.DISCONNECTED, prev_state=S.ACTIVE,
                reason=ev.SessionReason.HEARTBEAT_TIMEOUT, next_sender_seq=40, next_target_seq=35,
                ts_receive_ns=T0 + 1_500 * MS),
        ev.make(T.LATENCY_SAMPLE, hop=ev.LatencyHop.SEND_TO_ACK, latency_ns=250_000, ref_seq=3,
                ref_type=T.ORDER_INTENT, ts_receive_ns=T0 + 1_500 * MS),
        ev.make(T.LATENCY_SAMPLE, hop=ev.LatencyHop.SEND_TO_ACK, latency_ns=750_000, ref_seq=4,
                ref_type=T.ORDER_INTENT, ts_receive_ns=T0 + 1_500 * MS),
        # stamps of two clocks: a negative hop is counted, never recorded
        ev.make(T.ORDER_INTENT, venue_id=1, instrument_id=1, cl_ord_id=15, qty_e2=1, price_e8=1,
                action=ev.IntentAction.NEW, side=ev.Side.BUY, strategy_id=7, ts_receive_ns=T0 + 1_500 * MS,
                ts_decode_ns=T0 + 1_500 * MS + 100, ts_decide_ns=5),
    ]
    return out


def update(n, status, dt, cum=0, reject_reason=0):
    return ev.make(T.ORDER_UPDATE, venue_id=1, instrument_id=1, cl_ord_id=3_000_000_000_000 + n,
                   order_qty_e2=100_000_000, price_e8=108_500_000, cum_qty_e2=cum,
                   leaves_qty_e2=0 if status in (ev.OrdStatus.FILLED, ev.OrdStatus.REJECTED) else 100_000_000 - cum,
                   strategy_id=7, ord_status=status, report_kind=ev.ReportKind.EXECUTION,
                   exec_type=ev.ExecType.NEW, exec_trans_type=ev.ExecTransType.NEW, side=ev.Side.BUY,
                   reject_reason=reject_reason, order_id=b"O1", ts_receive_ns=T0 + dt)


def fill(n, qty, px, exec_id, dt, trans=ev.ExecTransType.NEW, ref=""):
    return ev.make(T.FILL, venue_id=1, instrument_id=1, cl_ord_id=3_000_000_000_000 + n, last_qty_e2=qty,
                   last_px_e8=px, strategy_id=7, side=ev.Side.BUY, exec_trans_type=trans, exec_id=exec_id.encode(),
                   exec_ref_id=ref.encode(), commission_ccy=b"USD", ts_receive_ns=T0 + dt)


def create_rings(prefix: str, slots: int = 1024) -> dict[str, Ring]:
    rings = {}
    for name, consumers in RINGS.items():
        rings[name] = Ring.create(f"{prefix}.{name}", slot_size=ev.SLOT_SIZE, slot_count=slots,
                                  producer="multi" if name == "control" else "single", consumers=consumers)
    return rings
