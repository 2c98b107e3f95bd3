"""A real moto server in a subprocess, on a free port, that tests can stop and start again."""

from __future__ import annotations

import itertools
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

# Ports the kernel hands out to outgoing connections (Linux's default ip_local_port_range starts
# at 32768) are left alone: a port the kernel picked could be taken by a client connection before
# the server that asked for it binds it. Below that, each pytest process side by side (`make test`
# runs two sessions, TEST_PORT_BLOCK 0 and 1, of up to four xdist workers each) takes ports from a
# slice of its own, in turn, so no two processes hand out the same port while it is still unbound.
_EPHEMERAL_PORTS_START = 32768
_FIRST_PORT = 20000
_SLICES = 8
_WORKERS_PER_BLOCK = 4


def _slice() -> range:
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0) % _WORKERS_PER_BLOCK
    index = (int(os.environ.get("TEST_PORT_BLOCK", "0")) * _WORKERS_PER_BLOCK + worker) % _SLICES
    size = (_EPHEMERAL_PORTS_START - _FIRST_PORT) // _SLICES
    return range(_FIRST_PORT + index * size, _FIRST_PORT + (index + 1) * size)


_PORTS = _slice()
_next_ports = itertools.islice(itertools.cycle(_PORTS), random.SystemRandom().randrange(len(_PORTS)), None)
_next_lock = threading.Lock()


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now, from this process's own slice, below the
    ephemeral range."""
    for _ in range(len(_PORTS)):
        with _next_lock:
            port = next(_next_ports)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {_PORTS.start}-{_PORTS.stop - 1}")


def wait_until(condition, *, timeout: float, interval: float = 0.05, message: str = "condition"):
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


class MotoServer:
    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> MotoServer:
        executable = shutil.which("moto_server", path=os.path.dirname(sys.executable)) or "moto_server"
        command = [executable, "-H", "127.0.0.1", "-p", str(self.port)]
        if self.log_path:
            # The child keeps its own copy of the descriptor: closing ours is safe.
            with open(self.log_path, "ab") as output:
                self.process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        else:
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_until(self._answers, timeout=30, message=f"moto server on {self.url}")
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def reset(self) -> None:
        requests.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()

    def _answers(self) -> bool:
        if self.process and self.process.poll() is not None:
            raise RuntimeError(f"moto server exited with {self.process.returncode}")
        try:
            return requests.get(f"{self.url}/moto-api/", timeout=1).status_code < 500
        except requests.ConnectionError:
            return False
