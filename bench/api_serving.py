"""The API's HTTP server under slow clients, and its CPU per request.

    python -m bench.api_serving [SLOW_SOCKETS]

For each way the API is served (`make run`'s Procfile line, the image's command), on SQLite with
no emulator (neither request below reaches AWS):
- `/api/v1/health` latency alone, then with SLOW_SOCKETS (default 16) connections that sent half
  a request's headers and trickle more, as a slowloris does;
- CPU per request: the server's processes' CPU (/proc/<pid>/stat, the master and its workers)
  over 2,000 sequential `GET /api/v1/todos/<id>`, divided by the requests.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench.process_cpu import cpu_spent, tree_cpu_seconds
from tests.support.moto import free_port, wait_until
from tests.support.slow_clients import SlowClients, health_seconds

BIN = Path(sys.executable).parent
REPOSITORY = Path(__file__).resolve().parents[1]
HEALTH_TIMEOUT = 10.0
REQUESTS = 2000


def procfile_command(process: str) -> str:
    """The Procfile's command for `process`, from its `exec`."""
    for line in (REPOSITORY / "Procfile").read_text().splitlines():
        if line.startswith(f"{process}:"):
            return line.rsplit("exec ", 1)[1]
    raise LookupError(process)


def image_command() -> list[str]:
    """The todo-api image's CMD."""
    for line in (REPOSITORY / "services" / "todo-api" / "Dockerfile").read_text().splitlines():
        if line.startswith("CMD "):
            return list(json.loads(line.removeprefix("CMD ")))
    raise LookupError("CMD")


def serve(command: list[str], port: int, directory: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{directory / 'todo-api.sqlite3'}",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run([str(BIN / "todo-api-migrate")], env=env, check=True, capture_output=True)
    # The command as written, on this run's port and on loopback.
    given = {"6400": str(port), "$API_PORT": str(port), "0.0.0.0": "127.0.0.1", "$BIND_HOST": "127.0.0.1"}
    argv = [given.get(part, part) for part in command]
    argv[0] = str(BIN / argv[0])
    with open(directory / "server.log", "ab") as log:
        return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=directory)


def measure(name: str, command: list[str], slow_sockets: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = serve(command, port, Path(folder))
        try:
            wait_until(lambda: health_seconds(url, 2) is not None, timeout=60, interval=0.1, message=name)
            alone = [health_seconds(url, HEALTH_TIMEOUT) for _ in range(5)]
            with SlowClients("127.0.0.1", port, slow_sockets) as slow:
                time.sleep(0.5)  # the server has read what they sent (a measurement, not a test)
                under_attack = []
                for _ in range(3):
                    slow.trickle()
                    under_attack.append(health_seconds(url, HEALTH_TIMEOUT))
                still_open = slow.trickle()
            todo = requests.post(f"{url}/api/v1/todos", json={"title": "bench"}, timeout=10).json()
            session = requests.Session()
            for _ in range(100):
                session.get(f"{url}/api/v1/todos/{todo['id']}", timeout=10)
            before = tree_cpu_seconds([server.pid])
            started = time.perf_counter()
            for _ in range(REQUESTS):
                session.get(f"{url}/api/v1/todos/{todo['id']}", timeout=10).raise_for_status()
            wall = time.perf_counter() - started
            spent = cpu_spent(before, tree_cpu_seconds([server.pid]))
        finally:
            server.terminate()
            server.wait(30)

    def shown(values: list[float | None]) -> str:
        return ", ".join("timeout" if v is None else f"{v * 1000:.0f} ms" for v in values)

    print(f"== {name}: {shlex.join(command)}")
    print(f"   /health alone: {shown(alone)}")
    print(f"   /health with {slow_sockets} slow sockets: {shown(under_attack)} ({still_open} still open)")
    print(f"   GET /todos/<id>: {spent / REQUESTS * 1000:.2f} ms CPU per request, {wall / REQUESTS * 1000:.2f} ms each")


def main() -> None:
    slow_sockets = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 16
    measure("make run (Procfile)", shlex.split(procfile_command("api")), slow_sockets)
    measure("image (Dockerfile CMD)", image_command(), slow_sockets)


if __name__ == "__main__":
    main()
