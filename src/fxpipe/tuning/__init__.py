"""Host tuning for a latency box: check, plan, apply and revert what the `pinned` layout needs.

Each concern (kernel command line, IRQ affinity, irqbalance, CPU, memory and scheduler, network)
lives in its own module and turns the host's current state plus the wanted layout into a list of
`Item`s; the engine compares, plans, applies with a snapshot and rolls back on any refusal.
Every path goes through `Host`, rooted at a configurable directory, so the whole package runs
against a fake /proc and /sys tree as well as against the real host.
"""
