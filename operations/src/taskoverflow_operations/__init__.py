"""The operator's command line (`taskoverflow ...`, `queue-demo`). Run by people, not by services."""
