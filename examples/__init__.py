"""Strategies a quant starts from: plain classes against fxpipe.strategy, run live by the
decision stage and offline by `fxpipe backtest`."""
