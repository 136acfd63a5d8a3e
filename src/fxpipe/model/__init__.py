"""fxpipe.model: the vocabulary every stage speaks.

numbers (Cython): exact scaled-int64 prices, quantities and money, decimal text in and out,
128-bit arithmetic with explicit rounding. events (Cython): one fixed-size struct per event
type and the numpy dtypes generated from them. refdata: instruments and venues from TOML.
The C-level API of the Cython modules is in cython/fxpipe/model/*.pxd.
"""
