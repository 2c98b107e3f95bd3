"""The whole system as real processes: the emulator, API (gunicorn), relay, consumers, workers
(and, with `with_sinks`, the webhook and SMTP sinks the notifier delivers to in `make run`).

End-to-end tests and benchmarks start it the way `make run` does, on free ports, with each
process's log in artifacts/<run>/<process>.log and, with `count_aws_calls` (benchmarks), its AWS
call counts in <process>.<pid>.aws-calls.json (bench/aws_calls.py).
The emulator is a moto server of its own (the default) or LocalStack: its own, or a fresh account
on a LocalStack the caller shares between systems (`localstack=`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import boto3
import requests

from taskoverflow_shared.topology import DELIVERY_VARIABLE, load_topology
from tests.support.artifacts import ARTIFACTS, REPOSITORY
from tests.support.localstack import LocalStackServer
from tests.support.moto import MotoServer, free_port, wait_until
from tests.support.tcp_proxy import TcpProxy

BIN = Path(sys.executable).parent

WORKERS = {
    "relay": ["todo-api-relay"],
    "api-consumer": ["todo-api-consumer"],
    "ical-worker": ["ical-worker"],
    "ical-feed-worker": ["ical-feed-worker"],
    "notifier": ["notifier"],
    "event-archiver": ["event-archiver"],
}

# The queue (topology name) each consuming process drains.
CONSUMED_QUEUES = {
    "api-consumer": "todo-api",
    "ical-worker": "ical-worker",
    "ical-feed-worker": "ical-feed-worker",
    "notifier": "notifier",
    "event-archiver": "event-archiver",
}

# `make run`'s local receivers (Procfile: webhook-sink, smtp): started only with `with_sinks`.
SINKS = {
    "webhook-sink": ["python", "-m", "tests.support.webhook_sink", "--port", "{port}"],
    "smtp-sink": [
        "python",
        "-m",
        "aiosmtpd",
        "--nosetuid",
        "--listen",
        "127.0.0.1:{port}",
        "--class",
        "aiosmtpd.handlers.Debugging",
        "stdout",
    ],
}
SINK_SECRET = "whsec_cnVubmluZy1zeXN0ZW0td2ViaG9vay1rZXktMDAwMQ=="


@dataclass
class RunningSystem:
    name: str
    with_relay: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)
    # The notifier delivers to a local webhook sink and SMTP sink, as in `make run`.
    with_sinks: bool = False
    emulator: str = "moto"
    localstack: LocalStackServer | None = None
    # The services reach the emulator through a TCP proxy the test can cut (`aws_proxy`), while
    # the test's own clients (`client()`) keep talking to the emulator itself.
    proxied_aws: bool = False
    # S3 alone through a proxy of its own (`s3_proxy`): botocore's AWS_ENDPOINT_URL_S3.
    proxied_s3: bool = False
    # SQLite in the run's folder unless given (e.g. a PostgreSQL URL, possibly through a proxy).
    database_url: str | None = None
    aws_proxy: TcpProxy | None = field(default=None, init=False)
    s3_proxy: TcpProxy | None = field(default=None, init=False)
    # Count every process's AWS calls (bench/aws_calls.py): benchmarks price a job in calls.
    count_aws_calls: bool = False
    directory: Path = field(init=False)
    emulator_server: MotoServer | LocalStackServer = field(init=False)
    aws_url: str = field(init=False)
    api_url: str = field(init=False)
    env: dict[str, str] = field(init=False)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict, init=False)
    # Each process's Prometheus endpoint (METRICS_PORT), by process name, the API's included.
    metrics_ports: dict[str, int] = field(default_factory=dict, init=False)

    def start(self) -> RunningSystem:
        """Starts the emulator (unless shared), the processes, and waits until all are healthy.
        A start that fails stops what it had started, so no process outlives its test."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> RunningSystem:
        self.directory = ARTIFACTS / self.name
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory.mkdir(parents=True)
        credentials = self._start_emulator()
        self.aws_url = self.emulator_server.url
        services_aws_url = self.aws_url
        if self.proxied_aws:
            self.aws_proxy = TcpProxy(target_port=self.emulator_server.port).start()
            services_aws_url = self.aws_proxy.url
        if self.proxied_s3:
            self.s3_proxy = TcpProxy(target_port=self.emulator_server.port).start()
            self.extra_env = {"AWS_ENDPOINT_URL_S3": self.s3_proxy.url, **self.extra_env}
        port = free_port()
        self.api_url = f"http://127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "AWS_ENDPOINT_URL": services_aws_url,
            **credentials,
            "AWS_REGION": "us-east-1",
            "DATABASE_URL": self.database_url or f"sqlite:///{self.directory / 'todo-api.sqlite3'}",
            "PUBLIC_BASE_URL": self.api_url,
            "NOTIFIER_DELIVERY_DB": str(self.directory / "notifier-deliveries.sqlite3"),
            "LOG_LEVEL": "INFO",
            # Tests that wait for every queue to drain need not wait out the default 10 s batches.
            "EVENT_ARCHIVER_FLUSH_SECONDS": "1",
            # As `make run` has them: off (workloads and benchmarks write faster than a person).
            **dev_env_settings("RATE_LIMIT_WRITES", "RATE_LIMIT_CALENDARS"),
            **self.extra_env,
        }
        self.env.pop("AWS_SESSION_TOKEN", None)
        if self.with_sinks:
            self._start_sinks()
        if self.localstack is not None:
            self._empty_the_shared_bucket()
        self._run_once("taskoverflow-bootstrap")
        self._run_once("todo-api-migrate")
        self._spawn("api", ["todo-api-serve", "--host", "127.0.0.1", "--port", str(port)], metrics=True)
        for process_name, command in WORKERS.items():
            if process_name == "relay" and not self.with_relay:
                continue
            if shutil.which(command[0], path=str(BIN)):
                self._spawn(process_name, command, heartbeat=True)
        # Seconds on an idle machine; a minute or more at the load averages of 15-20 seen here.
        wait_until(self._healthy, timeout=180, interval=0.1, message="the system to be healthy")
        return self

    def stop(self) -> dict[str, int]:
        """SIGTERM every process, as honcho does on Ctrl-C; return their exit codes."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes = {}
        for name, process in self.processes.items():
            try:
                codes[name] = process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                codes[name] = process.wait()
        for proxy in (self.aws_proxy, self.s3_proxy):
            if proxy is not None:
                proxy.stop()
        if self.localstack is None and hasattr(self, "emulator_server"):
            self.emulator_server.stop()
        return codes

    def restart(self, process_name: str, extra_env: dict[str, str] | None = None) -> None:
        """SIGKILL the process and start it again, with `extra_env` from now on (a redeploy)."""
        process = self.processes[process_name]
        process.kill()
        process.wait()
        self.env.update(extra_env or {})
        self._spawn(process_name, WORKERS[process_name], heartbeat=True)

    def client(self, service_name: str):
        """A boto3 client on this system's emulator and account."""
        return boto3.client(
            service_name,
            endpoint_url=self.aws_url,
            region_name=self.env["AWS_REGION"],
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
        )

    def aws_calls(self) -> dict[str, dict[str, int]]:
        """Per process, the AWS calls it made (with `count_aws_calls`; written when it exits: call after stop())."""
        counts: dict[str, Counter[str]] = {}
        for path in self.directory.glob("*.aws-calls.json"):
            process_name = path.name.split(".", 1)[0]  # <process>.<pid>.aws-calls.json
            counts.setdefault(process_name, Counter()).update(json.loads(path.read_text()))
        return {name: dict(calls) for name, calls in counts.items()}

    def wait_until_idle(self, timeout: float = 180) -> None:
        """Until every event so far is handled: the outbox is published and the queues of the
        running consumers hold nothing, visible or in flight."""
        sqs = self.client("sqs")
        topology = load_topology(self.env.get(DELIVERY_VARIABLE) or "standard")
        queue_urls = [
            sqs.get_queue_url(QueueName=topology.queue_for(queue).name)["QueueUrl"]
            for process, queue in CONSUMED_QUEUES.items()
            if process in self.processes
        ]
        backlog = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]

        def idle() -> bool:
            health = requests.get(f"{self.api_url}/api/v1/health", timeout=10).json()
            return health["outbox_lag_seconds"] == 0 and not any(
                int(count)
                for url in queue_urls
                for count in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=backlog)["Attributes"].values()
            )

        wait_until(idle, timeout=timeout, interval=0.5, message="the system to handle every event")

    def insert_todos(self, rows: Iterable[tuple[str, str | None, str | None]]) -> None:
        """Bulk set-up straight into the API's database: (title, description, deadline) rows.

        Thousands of todos created through the API would measure moto's SNS fan-out, which slows
        as its queues deepen (it recounts a queue on every send), not the calendar pipeline.
        """
        now = datetime.now(UTC).isoformat(sep=" ")
        with sqlite3.connect(self.directory / "todo-api.sqlite3") as database:
            database.executemany(
                "INSERT INTO todos (title, description, completed, deadline_at, created_at, updated_at, version)"
                " VALUES (?, ?, 0, ?, ?, ?, 1)",
                ((title, description, deadline, now, now) for title, description, deadline in rows),
            )

    def log(self, process_name: str) -> str:
        return (self.directory / f"{process_name}.log").read_text()

    def _start_emulator(self) -> dict[str, str]:
        """Start (or join) the emulator; return the credentials of this system's account."""
        if self.localstack is not None and self.emulator != "localstack":
            raise ValueError("a shared LocalStack needs emulator='localstack'")
        if self.emulator == "moto":
            self.emulator_server = MotoServer(log_path=self.directory / "moto.log").start()
            return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        if self.emulator != "localstack":
            raise ValueError(f"emulator must be moto or localstack, not {self.emulator!r}")
        self.emulator_server = (
            self.localstack
            or LocalStackServer(
                state_dir=self.directory / "localstack", log_path=self.directory / "localstack.log"
            ).start()
        )
        return self.emulator_server.new_account()

    def _empty_the_shared_bucket(self) -> None:
        """Bucket names are global: start with no object of an earlier system on this LocalStack
        (the archive and the calendars then hold this system's only, as on an emulator of its own)."""
        s3 = self.client("s3")
        bucket = load_topology().bucket_name
        try:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if keys:
                    s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
        except s3.exceptions.NoSuchBucket:
            pass

    def _spawn(self, name: str, command: list[str], heartbeat: bool = False, metrics: bool = False) -> None:
        # The repository on the path: the dev sinks and the call counter are its modules (`python -m`).
        env = dict(self.env, PYTHONPATH=str(REPOSITORY))
        argv = [str(BIN / command[0]), *command[1:]]
        if self.count_aws_calls and command[0] != "python":
            env["AWS_CALL_STATS_FILE"] = str(self.directory / f"{name}.{{pid}}.aws-calls.json")
            argv = [str(BIN / "python"), "-m", "bench.aws_calls", *command]
        if heartbeat:
            env["HEARTBEAT_FILE"] = str(self.directory / f"{name}.heartbeat")
        if heartbeat or metrics:
            self.metrics_ports.setdefault(name, free_port())
            env["METRICS_PORT"] = str(self.metrics_ports[name])
        with open(self.directory / f"{name}.log", "ab") as log:
            self.processes[name] = subprocess.Popen(
                argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.directory
            )

    def _start_sinks(self) -> None:
        ports = {name: free_port() for name in SINKS}
        notifier_settings = {
            "NOTIFIER_WEBHOOK_URLS": f"http://127.0.0.1:{ports['webhook-sink']}/hooks",
            "NOTIFIER_WEBHOOK_SECRET": SINK_SECRET,  # the webhook sink checks signatures with it
            "NOTIFIER_ALLOW_PRIVATE_TARGETS": "true",
            "NOTIFIER_SMTP_URL": f"smtp://127.0.0.1:{ports['smtp-sink']}",
            "NOTIFIER_EMAIL_FROM": "notifier@localhost",
            "NOTIFIER_EMAIL_TO": "dev@localhost",
        }
        self.env.update({**notifier_settings, **self.extra_env})
        for name, command in SINKS.items():
            self._spawn(name, [part.format(port=ports[name]) for part in command])
        for name, port in ports.items():
            wait_until(lambda port=port: _accepts(port), timeout=30, interval=0.1, message=f"{name} on port {port}")

    def _run_once(self, command: str) -> None:
        with open(self.directory / f"{command}.log", "ab") as log:
            subprocess.run([str(BIN / command)], env=self.env, stdout=log, stderr=subprocess.STDOUT, check=True)

    def _healthy(self) -> bool:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.log(name)[-3000:]}")
        heartbeats = [n for n in self.processes if n in WORKERS]
        if not all((self.directory / f"{n}.heartbeat").exists() for n in heartbeats):
            return False
        try:
            return requests.get(f"{self.api_url}/api/v1/health", timeout=5).status_code == 200
        except requests.RequestException:
            return False


def dev_env_settings(*names: str) -> dict[str, str]:
    """dev.env's values of `names` (`make run`'s settings)."""
    lines = (REPOSITORY / "dev.env").read_text().splitlines()
    settings = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return {name: settings[name] for name in names}


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True
