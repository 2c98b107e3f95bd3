"""The container tier: the images `make images` builds, run as the Terraform plan's ECS task
definitions say, against the session's LocalStack (a fresh account) and PostgreSQL.

Every container shares the host's network, as a task's containers share one on Fargate (awsvpc):
the emulator and the database listen on 127.0.0.1, and the API's image binds 0.0.0.0:6400.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
import requests
import sqlalchemy

from tests.infra.offline_terraform import OFFLINE_VARS, PROD_ENV, OfflineTerraform, why_terraform_cannot_run
from tests.support.artifacts import ARTIFACTS
from tests.support.containers import Engine, build_images, image_name
from tests.support.moto import wait_until

API_PORT = 6400
API_URL = f"http://127.0.0.1:{API_PORT}"
DATABASE = "taskoverflow_containers"
APP_DB_USERNAME = "taskoverflow_containers_app"
# Per ECS container: the service (image) and the container's name in its task definition.
SYSTEM = {
    "api": ("todo-api", "api"),
    "relay": ("todo-api", "relay"),
    "api-consumer": ("todo-api", "consumer"),
    "ical-worker": ("ical-worker", "worker"),
    "notifier": ("notifier", "worker"),
    "event-archiver": ("event-archiver", "worker"),
}
START_TIMEOUT_SECONDS = 180


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine(build_images())


@pytest.fixture(scope="session")
def task_containers(tmp_path_factory) -> dict[str, dict[str, dict[str, Any]]]:
    """service => container name => its ECS container definition, from the production plan (the
    values AWS assigns at apply, such as the topic ARN and the database host, are absent)."""
    reason = why_terraform_cannot_run()
    if reason:
        pytest.skip(reason)
    terraform = OfflineTerraform(PROD_ENV, tmp_path_factory.mktemp("tf-prod-containers"))
    terraform.init()
    plan = terraform.plan(f"-var-file={OFFLINE_VARS}")
    planned = plan["output_changes"]["task_containers"]["after"]
    return {service: {c["name"]: c for c in containers} for service, containers in planned.items()}


@dataclass
class ContainerSystem:
    engine: Engine
    definitions: dict[str, dict[str, Any]]
    environment: dict[str, dict[str, str]]
    aws: dict[str, str]
    topic_arn: str
    bucket: str
    queue_urls: dict[str, str]
    database_url: str
    names: dict[str, str] = field(default_factory=dict)

    api_url: str = API_URL

    def container(self, process: str) -> str:
        return self.names[process]

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.aws["AWS_ENDPOINT_URL"],
            region_name=self.aws["AWS_REGION"],
            aws_access_key_id=self.aws["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.aws["AWS_SECRET_ACCESS_KEY"],
        )


def _ecs_environment(definition: dict[str, Any], filled_in: dict[str, str]) -> dict[str, str]:
    """The definition's environment, with what AWS fills in at apply (values unknown to the plan,
    and the secrets) taken from `filled_in`."""
    environment = {}
    for variable in definition.get("environment", []):
        name = variable["name"]
        environment[name] = filled_in[name] if name in filled_in else variable["value"]
    for secret in definition.get("secrets", []):
        environment[secret["name"]] = filled_in[secret["name"]]
    return environment


def _secret_names(definition: dict[str, Any]) -> set[str]:
    return {secret["name"] for secret in definition.get("secrets", [])}


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def container_system(engine, task_containers, localstack_server, postgres_cluster) -> Iterator[ContainerSystem]:
    """The whole system as containers; stopped (and removed) after the module."""
    from taskoverflow_shared.bootstrap_topology import bootstrap

    if not _port_is_free(API_PORT):
        pytest.fail(f"port {API_PORT} is taken (a `make run`?): the API's image binds it")
    aws = {
        **localstack_server.new_account(),
        "AWS_ENDPOINT_URL": localstack_server.url,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = dict(os.environ)
    os.environ.update(aws)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    try:
        # On AWS, Terraform creates the topology; here the bootstrap command does, in a fresh account.
        addresses = bootstrap()
    finally:
        os.environ.clear()
        os.environ.update(saved)

    admin = sqlalchemy.create_engine(postgres_cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        connection.execute(sqlalchemy.text(f"CREATE DATABASE {DATABASE}"))
    admin.dispose()

    filled_in = {
        "TASKOVERFLOW_TOPIC_ARN": addresses.topic_arn,
        # The entrypoint assembles DATABASE_URL from these, as on ECS (the cluster trusts local users).
        "DB_HOST": "127.0.0.1",
        "DB_PORT": str(postgres_cluster.port),
        "DB_NAME": DATABASE,
        "DB_USERNAME": "postgres",
        "DB_PASSWORD": "trusted-locally",
        # The migration task creates the application's role and grants; the services connect as it.
        "APP_DB_USERNAME": APP_DB_USERNAME,
        "APP_DB_PASSWORD": "container-tier-app-password",
        "PUBLIC_BASE_URL": API_URL,
        "NOTIFIER_WEBHOOK_SECRET": "whsec_Y29udGFpbmVyLXRpZXItd2ViaG9vay1rZXktMDAwMQ==",
        "NOTIFIER_SMTP_URL": "",
        # Off for the shared system, so the course's contract runs as its users run it; one test
        # starts an API container of its own with a test issuer's settings.
        "AUTH_AUDIENCE": "",
        "AUTH_ISSUER": "",
        "AUTH_JWKS_URL": "",
    }
    # What the task role and a VPC endpoint would be on AWS; and the test database has no TLS.
    # Nor is the tracing sidecar here: the task definitions tell the services to export to it.
    local_only = {**aws, "DB_SSLMODE": "disable", "OTEL_TRACES_EXPORTER": "none"}
    definitions = {process: task_containers[service][container] for process, (service, container) in SYSTEM.items()}
    migrate = task_containers["todo-api-migration"]["migrate"]
    # Terraform gives the migration the master user's secret as DB_USERNAME/DB_PASSWORD, and
    # every service the application user's.
    as_app = {"DB_USERNAME": APP_DB_USERNAME, "DB_PASSWORD": filled_in["APP_DB_PASSWORD"]}
    system = ContainerSystem(
        engine=engine,
        definitions=definitions,
        environment={
            process: {
                **_ecs_environment(definition, filled_in),
                **local_only,
                **(as_app if process != "migrate" and "DB_USERNAME" in _secret_names(definition) else {}),
            }
            for process, definition in {**definitions, "migrate": migrate}.items()
        },
        aws=aws,
        topic_arn=addresses.topic_arn,
        bucket=addresses.bucket_name,
        queue_urls={key: queue.url for key, queue in addresses.queues.items()},
        database_url=postgres_cluster.url.rsplit("/", 1)[0] + f"/{DATABASE}",
    )
    try:
        # The one-off migration task first, to success, as a release runs it before the services.
        name = engine.start("taskoverflow-migrate", image_name("todo-api"), migrate, system.environment["migrate"])
        system.names["migrate"] = name
        wait_until(lambda: engine.state(name)["Status"] == "exited", timeout=START_TIMEOUT_SECONDS, interval=0.5)
        assert engine.state(name)["ExitCode"] == 0, engine.logs(name)
        for process, (service, _) in SYSTEM.items():
            system.names[process] = engine.start(
                f"taskoverflow-{process}", image_name(service), definitions[process], system.environment[process]
            )
        wait_until(
            lambda: _api_answers(system),
            timeout=START_TIMEOUT_SECONDS,
            interval=0.5,
            message=f"the containerised API on {API_URL}",
        )
        yield system
    finally:
        artifacts = ARTIFACTS / "containers"
        artifacts.mkdir(parents=True, exist_ok=True)
        for process, name in system.names.items():
            (artifacts / f"{process}.log").write_text(engine.logs(name))
            engine.remove(name)


def _api_answers(system: ContainerSystem) -> bool:
    for process, name in system.names.items():
        state = system.engine.state(name)
        if process != "migrate" and state["Status"] != "running":
            raise AssertionError(f"{process} exited with {state['ExitCode']}:\n{system.engine.logs(name)}")
    try:
        return requests.get(f"{API_URL}/api/v1/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False
