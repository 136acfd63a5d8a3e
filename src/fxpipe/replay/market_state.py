"""The market-state stage lives in fxpipe.stages.market_state; this name stays importable."""
from fxpipe.stages.market_state import NAME, MarketStateStage, TopOfBook, VenueQuote

__all__ = ["NAME", "MarketStateStage", "TopOfBook", "VenueQuote"]
