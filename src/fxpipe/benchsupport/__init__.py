"""Benchmark support only: compiled loops that bench/ drives to measure fxpipe's parts at C
level (no Python between two events). Nothing in the trading path imports this package."""
