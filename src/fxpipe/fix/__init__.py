"""FIX 4.2: the Cython codec (fxpipe.fix.codec: frame_length, parse, encode, Encoder), the
data dictionary (spec42), tag numbers (tags.Tag) and enumerations (enums)."""
