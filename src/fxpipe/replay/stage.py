"""The Stage protocol and registry now live in fxpipe.stage; this name stays importable."""
from fxpipe.stage import Stage, event_time, make_stage, register_stage, registered_stages

__all__ = ["Stage", "event_time", "make_stage", "register_stage", "registered_stages"]
