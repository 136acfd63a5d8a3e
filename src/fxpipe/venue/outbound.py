"""The venue's outgoing FIX 4.2 application messages, as (MsgType, body) pairs for the session:
ExecutionReport, OrderCancelReject, BusinessMessageReject, MarketDataSnapshotFullRefresh,
MarketDataIncrementalRefresh and MarketDataRequestReject.

Values are exact text from integers: prices with at least the pair's decimals (an AvgPx keeps
every decimal it needs), quantities without trailing zeros. What differs between venues comes
from the profile: the symbol format, and whether reports carry SettlmntTyp, FutSettDate and
TradeDate.
"""
from __future__ import annotations

from fxpipe.fix.codec import format_utc_timestamp
from fxpipe.model.numbers import format_price, format_qty
from fxpipe.venue.orders import CancelReject, ExecReport
from fxpipe.venue.pairs import Pair
from fxpipe.venue.profiles import Profile
from fxpipe.venue.settlement import fix_date, trade_date, value_date

EXECUTION_REPORT = "8"
ORDER_CANCEL_REJECT = "9"
BUSINESS_MESSAGE_REJECT = "j"
MD_SNAPSHOT = "W"
MD_INCREMENTAL = "X"
MD_REQUEST_REJECT = "Y"

BID = "0"
OFFER = "1"


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
        body: list = [(37, r.order_id), (11, r.cl_ord_id)]
        if r.orig_cl_ord_id:
            body.append((41, r.orig_cl_ord_id))
        body += [(17, r.exec_id), (20, r.exec_trans_type)]
        if r.exec_ref_id:
            body.append((19, r.exec_ref_id))
        body += [(150, r.exec_type), (39, r.ord_status)]
        if r.ord_rej_reason is not None:
            body.append((103, int(r.ord_rej_reason)))
        if r.account:
            body.append((1, r.account))
        settles = self.profile.settlement_tags and r.is_order
        if settles:
            body += [(63, "0"), (64, fix_date(value_date(r.trade_ns, self.pairs[i].settle_days)))]
        body += [(55, r.symbol or self.symbols[i]), (54, r.side)]
        if r.order_qty_e2:
            body.append((38, format_qty(r.order_qty_e2)))
        body.append((40, r.ord_type))
        if r.price_e8 is not None:
            body.append((44, self.px(i, r.price_e8)))
        if r.is_order:
            body.append((15, self.pairs[i].base))
        body += [
            (59, r.tif),
            (32, format_qty(r.last_qty_e2)),
            (31, self.px(i, r.last_px_e8) if r.last_qty_e2 else "0"),
            (151, format_qty(r.leaves_qty_e2)),
            (14, format_qty(r.cum_qty_e2)),
            (6, self.px(i, r.avg_px_e8) if r.cum_qty_e2 else "0"),
        ]
        if settles:
            body.append((75, fix_date(trade_date(r.trade_ns))))
        body.append((60, _utc(r.transact_ns)))
        if r.text:
            body.append((58, r.text))
        return EXECUTION_REPORT, body

    def cancel_reject(self, c: CancelReject) -> tuple[str, list]:
        return ORDER_CANCEL_REJECT, [
            (37, c.order_id), (11, c.cl_ord_id), (41, c.orig_cl_ord_id), (39, c.ord_status),
            (60, _utc(c.transact_ns)), (434, c.response_to), (102, int(c.reason)), (58, c.text)]

    @staticmethod
    def business_reject(ref_seq: int, ref_msg_type: str, ref_id: str | None, reason: int,
                        text: str) -> tuple[str, list]:
        body: list = [(45, ref_seq), (372, ref_msg_type)]
        if ref_id:
            body.append((379, ref_id))
        body += [(380, reason), (58, text)]
        return BUSINESS_MESSAGE_REJECT, body

    @staticmethod
    def md_reject(md_req_id: str, reason: str | None, text: str) -> tuple[str, list]:
        body: list = [(262, md_req_id)]
        if reason is not None:
            body.append((281, reason))
        return MD_REQUEST_REJECT, body + [(58, text)]

    def md_snapshot(self, md_req_id: str, pair_index: int, bids: list, asks: list,
                    types: tuple[str, ...]) -> tuple[str, list]:
        entries = []
        for kind, levels in ((BID, bids), (OFFER, asks)):
            if kind not in types:
                continue
            for pos, (px, qty) in enumerate(levels, 1):
                entries += [(269, kind), (270, self.px(pair_index, px)), (271, format_qty(qty)), (290, pos)]
        return MD_SNAPSHOT, [(262, md_req_id), (55, self.symbols[pair_index]), (268, len(entries) // 4)] + entries

    def md_incremental(self, md_req_id: str, pair_index: int, changes: list) -> tuple[str, list]:
        """changes: [(action, kind, position, px_e8, qty_e2)] with action 0 new, 1 change, 2 delete."""
        sym = self.symbols[pair_index]
        body: list = [(262, md_req_id), (268, len(changes))]
        for action, kind, pos, px, qty in changes:
            body += [(279, action), (269, kind), (55, sym)]
            if action != "2":
                body += [(270, self.px(pair_index, px)), (271, format_qty(qty))]
            body.append((290, pos))
        return MD_INCREMENTAL, body


def _utc(ns: int) -> str:
    return format_utc_timestamp(ns)
