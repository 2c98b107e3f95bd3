"""LocalStack on the host in a subprocess, on a free port, with its state under artifacts/.

scripts/emulator.sh installs it (into .venv-localstack, once per pin) and serves it, as for
`make run`. A test session shares one server: every user takes a fresh account
(`new_account()`), in which the SNS topics and SQS queues are its own. S3 bucket names are
global across accounts, as on AWS, so users of the same bucket share its objects.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import time
from pathlib import Path

import requests

from tests.support.moto import free_port, wait_until

REPO = Path(__file__).resolve().parents[2]
EMULATOR_SCRIPT = REPO / "scripts" / "emulator.sh"
SERVICES = ("sns", "sqs", "s3", "sts")
# A first install downloads about 500 MB; a start takes 4 s on an idle machine, far more on a busy one.
INSTALL_TIMEOUT_SECONDS = 900
START_TIMEOUT_SECONDS = 120
STOP_TIMEOUT_SECONDS = 10


def install_localstack() -> None:
    """Install LocalStack the way `make run` does (a no-op once installed at this pin)."""
    subprocess.run(
        ["bash", str(EMULATOR_SCRIPT), "install"],
        env={**os.environ, "EMULATOR": "localstack"},
        check=True,
        timeout=INSTALL_TIMEOUT_SECONDS,
    )


class LocalStackServer:
    def __init__(self, state_dir: Path, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state_dir = state_dir
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.start_seconds: float | None = None
        # LocalStack takes a 12-digit access key id as the account; 000000000000 is its default.
        self._accounts = itertools.count(1)

    def start(self) -> LocalStackServer:
        install_localstack()
        shutil.rmtree(self.state_dir, ignore_errors=True)
        self.state_dir.mkdir(parents=True)
        env = {
            **os.environ,
            "EMULATOR": "localstack",
            "EMULATOR_PORT": str(self.port),
            "LOCALSTACK_STATE": str(self.state_dir),
        }
        command = ["bash", str(EMULATOR_SCRIPT), "serve"]
        started = time.monotonic()
        # The script execs LocalStack: this process is LocalStack itself, for stop() to signal.
        with open(self.log_path or os.devnull, "ab") as output:
            self.process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        wait_until(self._healthy, timeout=START_TIMEOUT_SECONDS, interval=0.2, message=f"LocalStack on {self.url}")
        self.start_seconds = time.monotonic() - started
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                # Idle, it stops in about 5 s; at the end of a test session it was seen to hang in
                # its shutdown. A kill loses nothing: the community build keeps no state anyway.
                self.process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def new_account(self) -> dict[str, str]:
        """Credentials of an account nobody used yet on this server: its topics and queues are empty."""
        return {"AWS_ACCESS_KEY_ID": f"{next(self._accounts):012d}", "AWS_SECRET_ACCESS_KEY": "testing"}

    def _healthy(self) -> bool:
        if self.process and self.process.poll() is not None:
            raise RuntimeError(f"LocalStack exited with {self.process.returncode} (log: {self.log_path})")
        try:
            services = requests.get(f"{self.url}/_localstack/health", timeout=2).json()["services"]
        except (requests.RequestException, ValueError, KeyError):
            return False
        return all(services.get(name) in ("running", "available") for name in SERVICES)
