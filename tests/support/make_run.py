"""`make run` itself, as a developer starts it (honcho, the Procfile, dev.env), on free ports.

Only the ports and the files it writes are moved (shell variables, which win over dev.env), so
that a test's system neither collides with a developer's nor writes into data/; every other
setting is dev.env's: the emulator (LocalStack), BIND_HOST, the rate limits.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.process_cpu import descendants
from tests.support.moto import free_port, wait_until

REPOSITORY = Path(__file__).resolve().parents[2]
PORT_VARIABLES = (
    "EMULATOR_PORT",
    "API_PORT",
    "API_METRICS_PORT",
    "RELAY_METRICS_PORT",
    "API_CONSUMER_METRICS_PORT",
    "ICAL_WORKER_METRICS_PORT",
    "ICAL_FEED_WORKER_METRICS_PORT",
    "NOTIFIER_METRICS_PORT",
    "EVENT_ARCHIVER_METRICS_PORT",
    "WEBHOOK_SINK_PORT",
    "SMTP_SINK_PORT",
)


def dev_env_keys() -> set[str]:
    lines = (REPOSITORY / "dev.env").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}


@dataclass
class MakeRun:
    directory: Path
    ports: dict[str, int] = field(default_factory=dict, init=False)
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['API_PORT']}"

    @property
    def output(self) -> str:
        """What honcho printed: every process's log lines."""
        return (self.directory / "make-run.log").read_text(errors="replace")

    def start(self, timeout: float = 300) -> MakeRun:
        self.ports = {name: free_port() for name in PORT_VARIABLES}
        # The shell of a developer who has not set any of dev.env's variables (nor an outer make's).
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in dev_env_keys() and not key.startswith(("MAKE", "MFLAGS"))
        }
        env.update({name: str(port) for name, port in self.ports.items()})
        env.update(
            {
                "AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.ports['EMULATOR_PORT']}",
                "PUBLIC_BASE_URL": self.api_url,
                "NOTIFIER_WEBHOOK_URLS": f"http://127.0.0.1:{self.ports['WEBHOOK_SINK_PORT']}/hooks",
                "NOTIFIER_SMTP_URL": f"smtp://127.0.0.1:{self.ports['SMTP_SINK_PORT']}",
                "DATABASE_URL": f"sqlite:///{self.directory / 'todo-api.sqlite3'}",
                "NOTIFIER_DELIVERY_DB": str(self.directory / "notifier-deliveries.sqlite3"),
                "TRACES_DIRECTORY": str(self.directory / "traces"),
                "LOCALSTACK_STATE": str(self.directory / "localstack"),
            }
        )
        with open(self.directory / "make-run.log", "ab") as log:
            # A session of its own: what is left at the end is stopped by its group id.
            self.process = subprocess.Popen(
                ["make", "--no-print-directory", "run"],
                cwd=REPOSITORY,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_until(self._ready, timeout=timeout, interval=0.5, message="make run to be up")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Ctrl-C, as a developer stops it (honcho then stops its processes); whatever of the run
        is left after 60 s is killed, process by process (honcho gives each a session of its own)."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGINT)
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            for pid in self.pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue
            self.process.wait()
        except ProcessLookupError:
            pass

    def pids(self) -> set[int]:
        """Every live process of the run: make and its descendants."""
        assert self.process is not None
        return descendants([self.process.pid])

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"make run exited with {self.process.returncode}:\n{self.output[-3000:]}")
        try:
            if requests.get(f"{self.api_url}/api/v1/health", timeout=5).status_code != 200:
                return False
        except requests.RequestException:
            return False
        return all(_accepts(port) for name, port in self.ports.items())


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def listening_sockets(pids: set[int]) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket the processes `pids` listen on, IPv4 and IPv6."""
    inodes = set()
    for pid in pids:
        try:
            for descriptor in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(descriptor)
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:[") : -1])
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    listening = set()
    for table, decode in (("tcp", _ipv4), ("tcp6", _ipv6)):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: LISTEN
                address, port = local.split(":")
                listening.add((decode(address), int(port, 16)))
    return listening


def _ipv4(hex_address: str) -> str:
    return socket.inet_ntop(socket.AF_INET, bytes.fromhex(hex_address)[::-1])


def _ipv6(hex_address: str) -> str:
    # Four 32-bit words, each in the host's (little-endian) byte order.
    raw = bytes.fromhex(hex_address)
    return socket.inet_ntop(socket.AF_INET6, b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4)))
