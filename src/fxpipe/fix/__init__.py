"""FIX 4.2: the codec (fxpipe.fix.codec) and the session layer (fxpipe.fix.session)."""
