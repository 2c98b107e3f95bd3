"""`taskoverflow status`: the whole system on one screen — queues, outbox, calendar jobs, event rates.

`readings` holds what one look finds; `queue_depths`, `todo_database` and `event_rates` read it
from SQS (+ CloudWatch), the todo-api's database and the event archive; `screen` draws it with
rich; `command` is the command line (`--watch`, `--json`).
"""
