"""What PositionEngine.apply() answers for a fill, as names and messages a person can act on."""
from __future__ import annotations

from enum import IntEnum


class FillResult(IntEnum):
    """Mirrors FillResult in cython/fxpipe/positions/book.pxd."""
    APPLIED = 0
    DUPLICATE = 1
    ERR_INSTRUMENT = -1
    ERR_SIDE = -2
    ERR_QTY = -3
    ERR_PRICE = -4
    ERR_EXEC_ID = -5
    ERR_UNKNOWN_REF = -6
    ERR_TRANS_TYPE = -7
    ERR_STRATEGIES = -8
    ERR_CURRENCIES = -9
    ERR_RANGE = -10
    ERR_SUPERSEDED = -11
    ERR_MEMORY = -12
    ERR_MISMATCH = -13
    ERR_COMMISSION = -14


MESSAGES = {
    FillResult.ERR_INSTRUMENT: "instrument id {instrument_id} is not in the reference data",
    FillResult.ERR_SIDE: "side {side} is neither BUY (49) nor SELL (50)",
    FillResult.ERR_QTY: "last_qty_e2 {last_qty_e2} must be > 0 and at most 10 trillion units",
    FillResult.ERR_PRICE: "last_px_e8 {last_px_e8} must be > 0 and at most 1,000,000",
    FillResult.ERR_EXEC_ID: "the fill has no ExecID (or a bust/correction has no ExecRefID)",
    FillResult.ERR_UNKNOWN_REF: "ExecRefID {exec_ref_id!r} names no live fill of venue {venue_id}",
    FillResult.ERR_TRANS_TYPE: "ExecTransType {exec_trans_type} is not NEW, CANCEL (bust) or CORRECT",
    FillResult.ERR_STRATEGIES: "strategy {strategy_id} is one more than the engine was sized for "
                               "(max_strategies)",
    FillResult.ERR_CURRENCIES: "commission currency {commission_ccy!r} would pass the currency table's size",
    FillResult.ERR_RANGE: "the position would pass 10^15 units of base",
    FillResult.ERR_SUPERSEDED: "ExecRefID {exec_ref_id!r} was replaced by a correction; "
                               "bust or correct the correction's ExecID",
    FillResult.ERR_MEMORY: "out of memory",
    FillResult.ERR_MISMATCH: "the bust/correction of {exec_ref_id!r} is for another instrument, "
                             "strategy or side than the fill it names",
    FillResult.ERR_COMMISSION: "commission_e4 {commission_e4} comes without commission_ccy",
}


class PositionError(ValueError):
    """A fill the engine refused; nothing changed. .result is the FillResult."""

    def __init__(self, message: str, result: FillResult):
        super().__init__(message)
        self.result = result


def describe(result: int, fill) -> str:
    """The message for a refused fill record."""
    r = FillResult(result)
    values = {name: fill[name].item() if hasattr(fill[name], "item") else fill[name]
              for name in fill.dtype.names}
    for k in ("exec_id", "exec_ref_id", "commission_ccy"):
        values[k] = bytes(values[k]).decode("ascii", "replace")
    return (f"fill ExecID {values['exec_id']!r} (venue {values['venue_id']}, sequence "
            f"{values['sequence']}) refused: " + MESSAGES[r].format(**values))


def check_fill(result: int, fill) -> bool:
    """True when applied, False for a duplicate; PositionError (nothing changed) otherwise."""
    if result == FillResult.APPLIED:
        return True
    if result == FillResult.DUPLICATE:
        return False
    raise PositionError(describe(result, fill), FillResult(result))
