"""The venue's outgoing FIX 4.2 application messages, as (MsgType, body) pairs for the session:
ExecutionReport, OrderCancelReject, BusinessMessageReject, MarketDataSnapshotFullRefresh,
MarketDataIncrementalRefresh and MarketDataRequestReject.

Values are exact text from integers: prices with at least the pair's decimals (an AvgPx keeps
every decimal it needs), quantities without trailing zeros. What differs between venues comes
from the profile: the symbol format, and whether reports carry SettlmntTyp, FutSettDate and
TradeDate. The value date is the spot date of the trade's own time (a fill's, not the order's
entry): a GTC entered Monday and filled Wednesday settles from Wednesday's trade date.
Quantities count the currency the order was dealt in (Currency, 15).
"""
from __future__ import annotations

from fxpipe.fix.codec import format_utc_timestamp
from fxpipe.fix.enums import MDEntryType, MDUpdateAction, MsgType
from fxpipe.fix.tags import Tag
from fxpipe.model.numbers import format_price, format_qty
from fxpipe.venue.orders import CancelReject, ExecReport
from fxpipe.venue.pairs import Pair
from fxpipe.venue.profiles import Profile
from fxpipe.venue.settlement import fix_date, trade_date, value_date

BID = MDEntryType.BID
OFFER = MDEntryType.OFFER
SETTLMNT_REGULAR = "0"  # SettlmntTyp (63) 0: regular, the pair's spot date


class Renderer:
    def __init__(self, profile: Profile, pairs: tuple[Pair, ...]):
        self.profile = profile
        self.pairs = pairs
        self.symbols = [profile.symbol_format.render(p) for p in pairs]
        self.decimals = [p.price_decimals for p in pairs]

    def px(self, pair_index: int, price_e8: int) -> str:
        return format_price(price_e8, self.decimals[pair_index])

    def exec_report(self, r: ExecReport) -> tuple[str, list]:
        i = r.pair_index
        body: list = [(Tag.OrderID, r.order_id), (Tag.ClOrdID, r.cl_ord_id)]
        if r.orig_cl_ord_id:
            body.append((Tag.OrigClOrdID, r.orig_cl_ord_id))
        body += [(Tag.ExecID, r.exec_id), (Tag.ExecTransType, r.exec_trans_type)]
        if r.exec_ref_id:
            body.append((Tag.ExecRefID, r.exec_ref_id))
        body += [(Tag.ExecType, r.exec_type), (Tag.OrdStatus, r.ord_status)]
        if r.ord_rej_reason is not None:
            body.append((Tag.OrdRejReason, int(r.ord_rej_reason)))
        if r.account:
            body.append((Tag.Account, r.account))
        settles = self.profile.settlement_tags and r.is_order
        if settles:
            body += [(Tag.SettlmntTyp, SETTLMNT_REGULAR),
                     (Tag.FutSettDate, fix_date(value_date(r.trade_ns, self.pairs[i].settle_days)))]
        body += [(Tag.Symbol, r.symbol or self.symbols[i]), (Tag.Side, r.side)]
        if r.order_qty_e2:
            body.append((Tag.OrderQty, format_qty(r.order_qty_e2)))
        elif r.order_qty_text:
            body.append((Tag.OrderQty, r.order_qty_text))
        if r.ord_type:  # a refusal of a request without one says none
            body.append((Tag.OrdType, r.ord_type))
        if r.price_e8 is not None:
            body.append((Tag.Price, self.px(i, r.price_e8)))
        if r.currency or r.is_order:
            body.append((Tag.Currency, r.currency or self.pairs[i].base))
        if r.tif:
            body.append((Tag.TimeInForce, r.tif))
        body += [
            (Tag.LastShares, format_qty(r.last_qty_e2)),
            (Tag.LastPx, self.px(i, r.last_px_e8) if r.last_qty_e2 else "0"),
            (Tag.LeavesQty, format_qty(r.leaves_qty_e2)),
            (Tag.CumQty, format_qty(r.cum_qty_e2)),
            (Tag.AvgPx, self.px(i, r.avg_px_e8) if r.cum_qty_e2 else "0"),
        ]
        if settles:
            body.append((Tag.TradeDate, fix_date(trade_date(r.trade_ns))))
        body.append((Tag.TransactTime, _utc(r.transact_ns)))
        if r.text:
            body.append((Tag.Text, r.text))
        return MsgType.EXECUTION_REPORT, body

    def cancel_reject(self, c: CancelReject) -> tuple[str, list]:
        return MsgType.ORDER_CANCEL_REJECT, [
            (Tag.OrderID, c.order_id), (Tag.ClOrdID, c.cl_ord_id), (Tag.OrigClOrdID, c.orig_cl_ord_id),
            (Tag.OrdStatus, c.ord_status), (Tag.TransactTime, _utc(c.transact_ns)),
            (Tag.CxlRejResponseTo, c.response_to), (Tag.CxlRejReason, int(c.reason)), (Tag.Text, c.text)]

    @staticmethod
    def business_reject(ref_seq: int, ref_msg_type: str, ref_id: str | None, reason: int,
                        text: str) -> tuple[str, list]:
        body: list = [(Tag.RefSeqNum, ref_seq), (Tag.RefMsgType, ref_msg_type)]
        if ref_id:
            body.append((Tag.BusinessRejectRefID, ref_id))
        body += [(Tag.BusinessRejectReason, reason), (Tag.Text, text)]
        return MsgType.BUSINESS_MESSAGE_REJECT, body

    @staticmethod
    def md_reject(md_req_id: str, reason: str | None, text: str) -> tuple[str, list]:
        body: list = [(Tag.MDReqID, md_req_id)]
        if reason is not None:
            body.append((Tag.MDReqRejReason, reason))
        return MsgType.MARKET_DATA_REQUEST_REJECT, body + [(Tag.Text, text)]

    def md_snapshot(self, md_req_id: str, pair_index: int, bids: list, asks: list,
                    types: tuple[str, ...]) -> tuple[str, list]:
        entries = []
        for kind, levels in ((BID, bids), (OFFER, asks)):
            if kind not in types:
                continue
            for pos, (px, qty) in enumerate(levels, 1):
                entries += [(Tag.MDEntryType, kind), (Tag.MDEntryPx, self.px(pair_index, px)),
                            (Tag.MDEntrySize, format_qty(qty)), (Tag.MDEntryPositionNo, pos)]
        return MsgType.MARKET_DATA_SNAPSHOT_FULL_REFRESH, [
            (Tag.MDReqID, md_req_id), (Tag.Symbol, self.symbols[pair_index]),
            (Tag.NoMDEntries, len(entries) // 4)] + entries

    def md_incremental(self, md_req_id: str, pair_index: int, changes: list) -> tuple[str, list]:
        """changes: [(action, kind, position, px_e8, qty_e2)] with action 0 new, 1 change, 2 delete."""
        sym = self.symbols[pair_index]
        body: list = [(Tag.MDReqID, md_req_id), (Tag.NoMDEntries, len(changes))]
        for action, kind, pos, px, qty in changes:
            body += [(Tag.MDUpdateAction, action), (Tag.MDEntryType, kind), (Tag.Symbol, sym)]
            if action != MDUpdateAction.DELETE:
                body += [(Tag.MDEntryPx, self.px(pair_index, px)), (Tag.MDEntrySize, format_qty(qty))]
            body.append((Tag.MDEntryPositionNo, pos))
        return MsgType.MARKET_DATA_INCREMENTAL_REFRESH, body


def _utc(ns: int) -> str:
    return format_utc_timestamp(ns)
