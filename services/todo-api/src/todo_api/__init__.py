"""TaskOverflow's todo API: REST over todos and calendar jobs, events out through an outbox."""
