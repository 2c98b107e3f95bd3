"""Thin AWS implementations of the ports: no decisions here, only calls and error translation."""
