"""Positions and PnL: per strategy book (net quantity, average or FIFO cost, realized and
unrealized PnL, commissions, turnover), per currency exposure with value dates, and totals in
the reporting currency at current mids along an explicit conversion path.

PositionEngine (Cython, fxpipe.positions.book) is the state machine the oms stage and replay
drive; its C-level API is cython/fxpipe/positions/book.pxd. fxpipe.positions.events builds the
Fill and Quote events it takes.
"""
from fxpipe.positions.book import PositionEngine
from fxpipe.positions.results import FillResult, PositionError, check_fill

__all__ = ["FillResult", "PositionEngine", "PositionError", "check_fill"]
