"""TaskOverflow notifier: tells people what happened, by signed webhook and by e-mail."""
