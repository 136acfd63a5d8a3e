"""FIX 4.2 session layer: state machine, durable store, schedule, config, transport."""
