"""The NautilusTrader set-up the benchmarks' peer workers share (bench/_t2t_nautilus.py,
bench/_oms_nautilus.py), run by the Python of NautilusTrader's own venv: a BacktestEngine
without logging, the SIM venue (netting, margin, 100,000,000 USD) and EUR/USD on it."""
from __future__ import annotations

from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.enums import AccountType, OmsType
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.objects import Money
from nautilus_trader.test_kit.providers import TestInstrumentProvider


def sim_engine():
    """(engine, the EUR/USD instrument)."""
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(bypass_logging=True)))
    venue = Venue("SIM")
    engine.add_venue(venue, oms_type=OmsType.NETTING, account_type=AccountType.MARGIN,
                     base_currency=USD, starting_balances=[Money(100_000_000, USD)])
    ins = TestInstrumentProvider.default_fx_ccy("EUR/USD", venue)
    engine.add_instrument(ins)
    return engine, ins
