"""Processes: the queue worker and a local webhook sink for development."""
