"""structlog JSON logging shared by every service: one JSON object per line, on stdout.

Every line carries `service`, `event_id` and `correlation_id` (null outside an event), so a
reader can follow one event across processes with a single filter; inside a traced span it also
carries `trace_id` and `span_id` (see tracing.py).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from opentelemetry import trace
from structlog.typing import EventDict, Processor

TRACE_KEYS = ("event_id", "correlation_id")


def _ensure_trace_keys(_logger: object, _method: str, event_dict: EventDict) -> EventDict:
    for key in TRACE_KEYS:
        event_dict.setdefault(key, None)
    return event_dict


def _add_trace_ids(_logger: object, _method: str, event_dict: EventDict) -> EventDict:
    """Inside a span, the line names its trace and span: `taskoverflow trace <trace_id>` shows where it ran."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict.setdefault("trace_id", format(context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(context.span_id, "016x"))
    return event_dict


def configure_logging(service: str, level: str | None = None) -> None:
    """Route structlog and stdlib logging through one JSON renderer tagged with `service`."""
    level_name = (level or os.environ.get("LOG_LEVEL", "INFO")).upper()
    numeric_level = logging.getLevelName(level_name)
    if not isinstance(numeric_level, int):
        numeric_level = logging.INFO
    shared_processors: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _ensure_trace_keys,
        _add_trace_ids,
    ]
    structlog.configure(
        processors=[
            *shared_processors,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        # No file given: each logger writes to sys.stdout as it is when the logger is made, not
        # as it was here. A command run in-process by a test otherwise kept pytest's capture of
        # that test, and every later line failed with "I/O operation on closed file".
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=False,
    )
    # Libraries (gunicorn, botocore, alembic) log through stdlib: render them the same way.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared_processors,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric_level)
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)


@contextmanager
def bound_trace(event_id: str | None, correlation_id: str | None, **context: object) -> Iterator[None]:
    """Tag every log line inside the block with the event being handled (and any `context`)."""
    tokens = structlog.contextvars.bind_contextvars(event_id=event_id, correlation_id=correlation_id, **context)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)
