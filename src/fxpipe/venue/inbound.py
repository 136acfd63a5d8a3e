"""Client requests as the venue reads them: a parsed FIX message checked against the venue's
profile and turned into a typed request (NewOrder, CancelRequest, ReplaceRequest, a status
request or a market-data request), or into a Refusal saying what was wrong.

The profile decides what a well-formed request is at this venue: its symbol format (a venue
that writes EURUSD does not know EUR/USD), the tags it requires beyond FIX's own, the order
types and times in force it takes, the largest order, and the tick every limit must sit on.
Prices and quantities are read as exact integers (`*_e8`, `*_e2`) straight from the text.
"""
from __future__ import annotations

from dataclasses import dataclass

from fxpipe.fix.enums import OrdType, Side, TimeInForce
from fxpipe.fix.spec42 import FIELDS
from fxpipe.model.numbers import DecimalTextError, parse_price, parse_qty
from fxpipe.venue.enums import OrdRejReason
from fxpipe.venue.orders import CancelRequest, NewOrder, ReplaceRequest
from fxpipe.venue.pairs import Pair
from fxpipe.venue.profiles import Profile

# tags every venue needs, per message type, beyond what the FIX 4.2 dictionary checks
BASE_REQUIRED = {
    "D": (11, 55, 54, 38, 40),
    "F": (11, 41, 55, 54),
    "G": (11, 41, 55, 54, 38, 40),
    "H": (11, 55, 54),
    "V": (262, 263),
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
        sym = msg.get_str(55)
        if sym in self.symbols:
            return self.symbols[sym]
        hint = f"symbols are written like {self._example}"
        return Refusal(f"unknown symbol {sym!r}: {hint}", 55, OrdRejReason.UNKNOWN_SYMBOL)

    @staticmethod
    def side(msg) -> str | Refusal:
        s = msg.get_str(54)
        if s in (Side.BUY, Side.SELL):
            return s
        return Refusal(f"Side {s!r} is not accepted: use 1 (buy) or 2 (sell)", 54)

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
        ord_type = msg.get_str(40)
        if ord_type not in self.profile.order_types:
            ok = ", ".join(f"{v} ({OrdType(v).name})" for v in sorted(self.profile.order_types))
            return Refusal(f"OrdType {ord_type!r} is not accepted here; use {ok}", 40)
        tif = msg.get_str(59, TimeInForce.DAY)
        if tif not in self.profile.time_in_force:
            ok = ", ".join(f"{v} ({TimeInForce(v).name})" for v in sorted(self.profile.time_in_force))
            return Refusal(f"TimeInForce {tif!r} is not accepted here; use {ok}", 59)
        try:
            qty = parse_qty(msg.get_str(38))
        except DecimalTextError as exc:
            return Refusal(f"OrderQty: {exc}", 38)
        if qty <= 0:
            return Refusal("OrderQty must be greater than zero", 38)
        if qty > self.profile.max_order_qty_e2:
            return Refusal(f"OrderQty {msg.get_str(38)} exceeds this venue's maximum of "
                           f"{self.profile.max_order_qty_e2 // 100}", 38, OrdRejReason.ORDER_EXCEEDS_LIMIT)
        price = None
        if ord_type == OrdType.LIMIT:
            if not msg.has(44):
                return Refusal("a limit order needs Price (44)", 44)
            try:
                price = parse_price(msg.get_str(44))
            except DecimalTextError as exc:
                return Refusal(f"Price: {exc}", 44)
            if price <= 0:
                return Refusal("Price must be greater than zero", 44)
            if price % pair.tick_e8:
                return Refusal(f"Price {msg.get_str(44)} is not on {pair.symbol}'s tick of "
                               f"{pair.tick_e8 / 1e8:.{pair.price_decimals}f}", 44)
        return ord_type, tif, qty, price

    def _priced_order(self, msg, msg_type: str) -> tuple | Refusal:
        """A new order or a replace: (pair index, side, ord_type, tif, qty, price)."""
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
        pi, side, ord_type, tif, qty, price = o
        return NewOrder(session, msg.get_str(11), pi, side, ord_type, tif, qty, price, msg.get_str(1))

    def cancel(self, session: str, msg) -> CancelRequest | Refusal:
        head = self._order_head(msg, "F")
        if isinstance(head, Refusal):
            return head
        pi, side = head
        return CancelRequest(session, msg.get_str(11), msg.get_str(41), pi, side)

    def replace(self, session: str, msg) -> ReplaceRequest | Refusal:
        o = self._priced_order(msg, "G")
        if isinstance(o, Refusal):
            return o
        pi, side, ord_type, tif, qty, price = o
        return ReplaceRequest(session, msg.get_str(11), msg.get_str(41), pi, side, ord_type, tif, qty, price)

    def status(self, session: str, msg) -> StatusRequest | Refusal:
        head = self._order_head(msg, "H")
        if isinstance(head, Refusal):
            return head
        pi, side = head
        return StatusRequest(session, msg.get_str(11), pi, side)

    def md_request(self, session: str, msg) -> MDRequest | Refusal:
        bad = self.missing(msg, "V")
        if bad:
            return bad
        sub = msg.get_str(263)
        if sub not in ("0", "1", "2"):
            return Refusal(f"SubscriptionRequestType {sub!r}: use 0 (snapshot), 1 (snapshot + updates) or 2", 263)
        try:
            depth = msg.get_int(264, 0)
        except ValueError:
            return Refusal("MarketDepth must be an integer (0 = full book)", 264)
        if depth < 0:
            return Refusal("MarketDepth must be >= 0", 264)
        types, symbols = [], []
        for tag, value in msg.fields():
            if tag == 269:
                types.append(value.decode("latin-1"))
            elif tag == 55:
                symbols.append(value.decode("latin-1"))
        if sub != "2" and not symbols:
            return Refusal("no Symbol (55) in NoRelatedSym (146)", 146)
        return MDRequest(session, msg.get_str(262), sub, depth, tuple(types) or ("0", "1"), tuple(symbols),
                         msg.get_str(265))
