"""FIX 4.2: the Cython codec (fxpipe.fix.codec: frame_length, parse, encode, Encoder) and the
vocabulary generated from FIX42.xml by fxpipe.fix.specgen: the data dictionary (spec42), tag
numbers (tags.Tag), enumerations and reason codes (enums) and their texts (reasons)."""
