"""Operator scripts: redrive a dead-letter queue, replay archived events. Run by people, not services."""
