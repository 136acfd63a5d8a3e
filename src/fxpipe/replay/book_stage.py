"""The book stage lives in fxpipe.stages.book; this name stays importable."""
from fxpipe.stages.book import NAME, BookStage

__all__ = ["NAME", "BookStage"]
