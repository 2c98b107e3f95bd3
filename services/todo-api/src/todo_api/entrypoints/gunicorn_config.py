"""gunicorn's settings for the API: `gunicorn -c python:todo_api.entrypoints.gunicorn_config ...`.

The API runs as several gunicorn worker processes, and a scrape of `GET /metrics` reaches one of
them. So that it answers for all of them, prometheus_client's multiprocess mode keeps each
worker's values in files of one directory, which the answering worker reads together. The
directory is made here, in the master, before any worker (or prometheus_client) starts: workers
inherit PROMETHEUS_MULTIPROC_DIR, which prometheus_client reads once, when first imported. This
module therefore imports nothing of prometheus_client or of the application at its top.

With METRICS_EXPORTER=emf (AWS) each worker writes its own CloudWatch EMF lines instead, which
CloudWatch adds up: nothing to share, no directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

MULTIPROCESS_DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
_made_here: list[str] = []


def on_starting(server: Any) -> None:
    if os.environ.get("METRICS_EXPORTER", "prometheus").strip() not in ("", "prometheus"):
        return
    if not os.environ.get(MULTIPROCESS_DIRECTORY_VARIABLE):
        # A fresh directory each start: values a previous run left would be counted again.
        directory = tempfile.mkdtemp(prefix="todo-api-metrics-")
        os.environ[MULTIPROCESS_DIRECTORY_VARIABLE] = directory
        _made_here.append(directory)


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get(MULTIPROCESS_DIRECTORY_VARIABLE):
        from prometheus_client import multiprocess

        # A dead worker's counts stay in the sums; only its live gauges go.
        multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    for directory in _made_here:
        shutil.rmtree(directory, ignore_errors=True)
