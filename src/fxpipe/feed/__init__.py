"""Market data into fxpipe: the binary UDP feed (schema in docs/binary-feed.md; Cython codec
fxpipe.feed.sbe and receiver books fxpipe.feed.books), its publisher and its receiver."""
