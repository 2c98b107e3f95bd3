"""Start the reference design as real processes, the way the original ran: redis-server (no
persistence, a throwaway directory), gunicorn with as many threads as our API (8),
and `celery worker` with the prefork pool. Logs go to artifacts/<name>/<process>.log.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import requests

from tests.support.moto import free_port, wait_until
from tests.support.system import ARTIFACTS

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
GUNICORN_WORKERS, GUNICORN_THREADS = 2, 4  # 8 threads, as our API has in its one waitress process
CELERY_CONCURRENCY = 2


@dataclass
class RunningReference:
    name: str
    directory: Path = field(init=False)
    api_url: str = field(init=False)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict, init=False)
    _redis_dir: tempfile.TemporaryDirectory | None = field(default=None, init=False)

    @property
    def description(self) -> str:
        return (
            f"Flask + Celery {_version('celery')} on redis-server, icalendar {_version('icalendar')};"
            f" gunicorn {GUNICORN_WORKERS} workers x {GUNICORN_THREADS} threads,"
            f" celery worker prefork concurrency {CELERY_CONCURRENCY}"
        )

    def start(self, todos: list[tuple[str, str | None, str | None]]) -> RunningReference:
        redis_server = shutil.which("redis-server")
        if not redis_server:
            raise RuntimeError("redis-server is missing: run scripts/install_bench_deps.sh (make bench does)")
        self.directory = ARTIFACTS / self.name
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory.mkdir(parents=True)
        redis_port, web_port = free_port(), free_port()
        self.api_url = f"http://127.0.0.1:{web_port}"
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "REFERENCE_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "REFERENCE_DATABASE_URL": f"sqlite:///{self.directory / 'reference.sqlite3'}",
        }
        subprocess.run(
            [str(BIN / "python"), "-m", "bench.reference_design.web", "init-db"],
            input=json.dumps(todos).encode(),
            env=env,
            cwd=ROOT,
            check=True,
        )
        self._redis_dir = tempfile.TemporaryDirectory(prefix="bench-redis-")
        self._spawn(
            "redis",
            [redis_server, "--bind", "127.0.0.1", "--port", str(redis_port), "--dir", self._redis_dir.name,
             "--save", "", "--appendonly", "no", "--daemonize", "no"],
            env,
        )  # fmt: skip
        self._spawn(
            "web",
            [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{web_port}", "--workers", str(GUNICORN_WORKERS),
             "--threads", str(GUNICORN_THREADS), "bench.reference_design.web:create_app()"],
            env,
        )  # fmt: skip
        self._spawn(
            "worker",
            [str(BIN / "celery"), "--app", "bench.reference_design.tasks", "worker", "--pool", "prefork",
             "--concurrency", str(CELERY_CONCURRENCY), "--loglevel", "INFO"],
            env,
        )  # fmt: skip
        wait_until(self._ready, timeout=60, interval=0.1, message="the reference design to answer")
        return self

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._redis_dir:
            self._redis_dir.cleanup()

    def log(self, name: str) -> str:
        return (self.directory / f"{name}.log").read_text()

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> None:
        with open(self.directory / f"{name}.log", "ab") as log:
            self.processes[name] = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)

    def _ready(self) -> bool:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.log(name)[-3000:]}")
        if "ready." not in self.log("worker"):  # celery's "celery@host ready." once it consumes
            return False
        try:
            status = requests.get(f"{self.api_url}/api/v1/todos/ical/not-a-task/status", timeout=5).status_code
        except requests.RequestException:
            return False
        return status == 200


def _version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "?"
