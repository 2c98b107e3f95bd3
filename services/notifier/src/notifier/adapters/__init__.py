"""The notifier's edges: HTTP, SMTP and the delivery log, each behind a small Protocol."""
