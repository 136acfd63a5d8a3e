"""Pre-trade risk: every order intent checked before it leaves (size, notional, worst-case
position and currency exposure, gross exposure, price collar, stale mark, open orders, order
rate per strategy, desk and venue, kill switch), limits from TOML changed live by Control
events. RiskEngine (Cython, fxpipe.risk.engine) reads positions and marks from a
PositionEngine; its C-level API is cython/fxpipe/risk/engine.pxd.
"""
from fxpipe.risk.engine import RiskEngine
from fxpipe.risk.limits import LimitSetting, RiskConfigError, load_limits, parse_limits

__all__ = ["LimitSetting", "RiskConfigError", "RiskEngine", "load_limits", "parse_limits"]
