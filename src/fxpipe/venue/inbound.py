"""Client requests as the venue reads them: a parsed FIX message checked against the venue's
profile and turned into a typed request (NewOrder, CancelRequest, ReplaceRequest, a status
request or a market-data request), or into a Refusal saying what was wrong.

The profile decides what a well-formed request is at this venue: its symbol format (a venue
that writes EURUSD does not know EUR/USD), the tags it requires beyond FIX's own, the order
types and times in force it takes, the largest order, the tick every limit must sit on, and
whether an order may count its quantity in the pair's terms currency (Currency 15 = USD on
EUR/USD: `terms_currency = "deal"`) or is refused for it (`"reject"`). A Currency that is
neither of the pair's two is always refused.
Prices and quantities are read as exact integers (`*_e8`, `*_e2`) straight from the text.
"""
from __future__ import annotations

from dataclasses import dataclass

from fxpipe.fix.enums import OrdRejReason, OrdType, Side, SubscriptionRequestType, TimeInForce
from fxpipe.fix.spec42 import FIELDS
from fxpipe.fix.tags import Tag
from fxpipe.model.numbers import DecimalTextError, parse_price, parse_qty
from fxpipe.venue.orders import CancelRequest, NewOrder, ReplaceRequest
from fxpipe.venue.pairs import Pair
from fxpipe.venue.profiles import Profile

# tags every venue needs, per message type, beyond what the FIX 4.2 dictionary checks
BASE_REQUIRED = {
    "D": (Tag.ClOrdID, Tag.Symbol, Tag.Side, Tag.OrderQty, Tag.OrdType),
    "F": (Tag.ClOrdID, Tag.OrigClOrdID, Tag.Symbol, Tag.Side),
    "G": (Tag.ClOrdID, Tag.OrigClOrdID, Tag.Symbol, Tag.Side, Tag.OrderQty, Tag.OrdType),
    "H": (Tag.ClOrdID, Tag.Symbol, Tag.Side),
    "V": (Tag.MDReqID, Tag.SubscriptionRequestType),
}


@dataclass(slots=True)
class Refusal:
    """Why a request is refused: a text for the counterparty, the tag at fault, and the
    OrdRejReason when the refusal is an ExecutionReport."""

    text: str
    tag: int | None = None
    ord_rej_reason: int = OrdRejReason.BROKER_OPTION


@dataclass(slots=True)
class StatusRequest:
    session: str
    cl_ord_id: str
    pair_index: int
    side: str


@dataclass(slots=True)
class MDRequest:
    session: str
    md_req_id: str
    subscription: str  # "0" snapshot, "1" snapshot + updates, "2" unsubscribe
    depth: int  # 0: full book
    entry_types: tuple[str, ...]
    symbols: tuple[str, ...]
    update_type: str | None


def tag_name(tag: int) -> str:
    return f"{tag} ({FIELDS[tag][0]})" if tag in FIELDS else str(tag)


class RequestReader:
    """Reads one venue's requests; `symbols` maps the venue's wire symbols to pair indices."""

    def __init__(self, profile: Profile, pairs: tuple[Pair, ...], symbols: dict[str, int]):
        self.profile = profile
        self.pairs = pairs
        self.symbols = symbols
        self._example = next(iter(symbols), "EUR/USD")

    def missing(self, msg, msg_type: str) -> Refusal | None:
        for tag in BASE_REQUIRED.get(msg_type, ()) + self.profile.required_tags.get(msg_type, ()):
            if not msg.has(tag):
                return Refusal(f"required tag {tag_name(tag)} missing; this venue requires it on {msg_type}", tag)
        return None

    def symbol(self, msg) -> int | Refusal:
        sym = msg.get_str(Tag.Symbol)
        if sym in self.symbols:
            return self.symbols[sym]
        hint = f"symbols are written like {self._example}"
        return Refusal(f"unknown symbol {sym!r}: {hint}", Tag.Symbol, OrdRejReason.UNKNOWN_SYMBOL)

    @staticmethod
    def side(msg) -> str | Refusal:
        s = msg.get_str(Tag.Side)
        if s in (Side.BUY, Side.SELL):
            return s
        return Refusal(f"Side {s!r} is not accepted: use 1 (buy) or 2 (sell)", Tag.Side)

    def currency(self, msg, pair: Pair) -> tuple[str | None, bool] | Refusal:
        """(Currency as written or None, whether the quantity counts the terms currency)."""
        if not msg.has(Tag.Currency):
            return None, False
        ccy = msg.get_str(Tag.Currency)
        if ccy == pair.base:
            return ccy, False
        if ccy == pair.quote:
            if self.profile.terms_currency == "deal":
                return ccy, True
            return Refusal(f"Currency {ccy} is {pair.symbol}'s terms currency; this venue deals in the base "
                           f"currency only: send OrderQty in {pair.base} with Currency={pair.base}", Tag.Currency)
        return Refusal(f"Currency {ccy!r} is neither side of {pair.symbol}: use {pair.base} (base) or "
                       f"{pair.quote} (terms)", Tag.Currency)

    def _order_head(self, msg, msg_type: str) -> tuple[int, str] | Refusal:
        """What every order message (D, F, G, H) checks first, in this order: the required
        tags, the symbol, the side. Returns (pair index, side)."""
        bad = self.missing(msg, msg_type)
        if bad:
            return bad
        pi = self.symbol(msg)
        if isinstance(pi, Refusal):
            return pi
        side = self.side(msg)
        if isinstance(side, Refusal):
            return side
        return pi, side

    def _order_fields(self, msg, pair: Pair) -> tuple | Refusal:
        ord_type = msg.get_str(Tag.OrdType)
        if ord_type not in self.profile.order_types:
            ok = ", ".join(f"{v} ({OrdType(v).name})" for v in sorted(self.profile.order_types))
            return Refusal(f"OrdType {ord_type!r} is not accepted here; use {ok}", Tag.OrdType)
        tif = msg.get_str(Tag.TimeInForce, TimeInForce.DAY)
        if tif not in self.profile.time_in_force:
            ok = ", ".join(f"{v} ({TimeInForce(v).name})" for v in sorted(self.profile.time_in_force))
            return Refusal(f"TimeInForce {tif!r} is not accepted here; use {ok}", Tag.TimeInForce)
        try:
            qty = parse_qty(msg.get_str(Tag.OrderQty))
        except DecimalTextError as exc:
            return Refusal(f"OrderQty: {exc}", Tag.OrderQty)
        if qty <= 0:
            return Refusal("OrderQty must be greater than zero", Tag.OrderQty)
        price = None
        if ord_type == OrdType.LIMIT:
            if not msg.has(Tag.Price):
                return Refusal("a limit order needs Price (44)", Tag.Price)
            try:
                price = parse_price(msg.get_str(Tag.Price))
            except DecimalTextError as exc:
                return Refusal(f"Price: {exc}", Tag.Price)
            if price <= 0:
                return Refusal("Price must be greater than zero", Tag.Price)
            if price % pair.tick_e8:
                return Refusal(f"Price {msg.get_str(Tag.Price)} is not on {pair.symbol}'s tick of "
                               f"{pair.tick_e8 / 1e8:.{pair.price_decimals}f}", Tag.Price)
        ccy = self.currency(msg, pair)
        if isinstance(ccy, Refusal):
            return ccy
        currency, terms = ccy
        # the venue's limit is on the base amount: a terms amount counts at the order's price
        # (at the pair's reference mid for a market order)
        base = qty if not terms else qty * 100_000_000 // (price or pair.start_mid_e8 or 100_000_000)
        if base > self.profile.max_order_qty_e2:
            what = f" ({base // 100} {pair.base})" if terms else ""
            return Refusal(f"OrderQty {msg.get_str(Tag.OrderQty)}{what} exceeds this venue's maximum of "
                           f"{self.profile.max_order_qty_e2 // 100} {pair.base}", Tag.OrderQty,
                           OrdRejReason.ORDER_EXCEEDS_LIMIT)
        return ord_type, tif, qty, price, currency, terms

    def _priced_order(self, msg, msg_type: str) -> tuple | Refusal:
        """A new order or a replace: (pair index, side, ord_type, tif, qty, price, currency, terms)."""
        head = self._order_head(msg, msg_type)
        if isinstance(head, Refusal):
            return head
        f = self._order_fields(msg, self.pairs[head[0]])
        if isinstance(f, Refusal):
            return f
        return head + f

    def new_order(self, session: str, msg) -> NewOrder | Refusal:
        o = self._priced_order(msg, "D")
        if isinstance(o, Refusal):
            return o
        pi, side, ord_type, tif, qty, price, currency, terms = o
        return NewOrder(session, msg.get_str(Tag.ClOrdID), pi, side, ord_type, tif, qty, price,
                        msg.get_str(Tag.Account), currency, terms)

    def cancel(self, session: str, msg) -> CancelRequest | Refusal:
        head = self._order_head(msg, "F")
        if isinstance(head, Refusal):
            return head
        pi, side = head
        return CancelRequest(session, msg.get_str(Tag.ClOrdID), msg.get_str(Tag.OrigClOrdID), pi, side)

    def replace(self, session: str, msg) -> ReplaceRequest | Refusal:
        o = self._priced_order(msg, "G")
        if isinstance(o, Refusal):
            return o
        pi, side, ord_type, tif, qty, price, _, _ = o
        return ReplaceRequest(session, msg.get_str(Tag.ClOrdID), msg.get_str(Tag.OrigClOrdID), pi, side, ord_type,
                              tif, qty, price)

    def status(self, session: str, msg) -> StatusRequest | Refusal:
        head = self._order_head(msg, "H")
        if isinstance(head, Refusal):
            return head
        pi, side = head
        return StatusRequest(session, msg.get_str(Tag.ClOrdID), pi, side)

    def md_request(self, session: str, msg) -> MDRequest | Refusal:
        bad = self.missing(msg, "V")
        if bad:
            return bad
        sub = msg.get_str(Tag.SubscriptionRequestType)
        if sub not in tuple(SubscriptionRequestType):
            return Refusal(f"SubscriptionRequestType {sub!r}: use 0 (snapshot), 1 (snapshot + updates) or 2",
                           Tag.SubscriptionRequestType)
        try:
            depth = msg.get_int(Tag.MarketDepth, 0)
        except ValueError:
            return Refusal("MarketDepth must be an integer (0 = full book)", Tag.MarketDepth)
        if depth < 0:
            return Refusal("MarketDepth must be >= 0", Tag.MarketDepth)
        types, symbols = [], []
        for tag, value in msg.fields():
            if tag == Tag.MDEntryType:
                types.append(value.decode("latin-1"))
            elif tag == Tag.Symbol:
                symbols.append(value.decode("latin-1"))
        if sub != SubscriptionRequestType.DISABLE and not symbols:
            return Refusal("no Symbol (55) in NoRelatedSym (146)", Tag.NoRelatedSym)
        return MDRequest(session, msg.get_str(Tag.MDReqID), sub, depth, tuple(types) or ("0", "1"), tuple(symbols),
                         msg.get_str(Tag.MDUpdateType))
