"""Persistence beyond the journal: the QuestDB sink.

The journal (fxpipe.journal) is the system of record; this package tails it and sends every
event to QuestDB, exactly once, from a process or thread of its own (fxpipe.persistence.
questdb_sink: `run_sink`, `QuestDBSink`). tables.py says which table and column each event
field becomes; checkpoint.py keeps what QuestDB has acknowledged; testing.py is a loopback
QuestDB stand-in for tests.
"""
