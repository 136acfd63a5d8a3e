"""Replay: recorded stage inputs fed back through the same stage code, every output and the
state hash compared bit for bit with what the live run journaled.

A Stage (fxpipe.stage) is a deterministic handler: input event -> output events, plus
state_hash(). StageRecorder journals a live stage's inputs, outputs and state hashes;
replay_journal (and `fxpipe replay JOURNAL`) re-runs them and reports the first divergence.
"""
from fxpipe.replay.recorder import StageRecorder
from fxpipe.replay.replayer import Divergence, ReplayReport, replay_journal
from fxpipe.stage import Stage, make_stage, register_stage

__all__ = ["Divergence", "ReplayReport", "Stage", "StageRecorder", "make_stage", "register_stage",
           "replay_journal"]
