"""The whole system as containers of the images `make images` builds, each run as its ECS task
definition in the Terraform plan says: the course's contract and a calendar export pass against
the containerised API, every health check tells a working loop from a stopped one, and SIGTERM
ends every container within its stop timeout without losing an event.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
import requests
import sqlalchemy

from tests.containers.conftest import API_PORT, APP_DB_USERNAME, DATABASE
from tests.e2e import test_calendar_export as calendar_export
from tests.e2e import test_curl_sequence as curl_sequence
from tests.support.containers import image_name
from tests.support.moto import wait_until
from tests.support.oidc_issuer import IssuerUser, OidcIssuer

# A cold first test builds the images (and perhaps their base) before the system starts.
pytestmark = pytest.mark.timeout(1200)
# Beyond the definition's max-age: a loop stopped this long ago has a stale heartbeat.
STALE_BY_SECONDS = 3600
# A second API container, with authentication on, binds here beside the shared system's.
AUTHENTICATED_API_PORT = 6410


def test_the_course_contract_passes_against_the_containerised_api(container_system):
    curl_sequence.test_the_readme_curl_sequence(container_system)


def test_a_calendar_export_passes_against_the_containerised_api(container_system):
    calendar_export.test_seed_interaction_todos_to_calendar(container_system)


def test_every_service_connects_to_the_database_as_the_role_the_migration_made(container_system):
    # The calendar export above had the API, the relay and the consumer read and write.
    database = sqlalchemy.create_engine(container_system.database_url)
    with database.connect() as connection:
        users = connection.execute(
            sqlalchemy.text(
                "SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = :database AND pid <> pg_backend_pid()"
            ),
            {"database": DATABASE},
        ).scalars()
        users = set(users)
    database.dispose()

    assert users == {APP_DB_USERNAME}


def test_an_api_container_with_authentication_on_serves_each_user_only_their_own_todos(container_system):
    """As ECS runs it (Terraform refuses to deploy without AUTH_*): the image verifies tokens."""
    system = container_system
    image = image_name("todo-api")
    command = system.engine.image_config(image)["Cmd"]
    # The port is an argument of its own (`--port 6400`) or part of an address (`0.0.0.0:6400`).
    moved = [
        str(AUTHENTICATED_API_PORT)
        if part == str(API_PORT)
        else part.replace(f":{API_PORT}", f":{AUTHENTICATED_API_PORT}")
        for part in command
    ]
    assert moved != command, f"the image's command no longer binds port {API_PORT}: {command}"
    issuer = OidcIssuer().start()
    name = None
    try:
        name = system.engine.start(
            "taskoverflow-api-authenticated",
            image,
            {**system.definitions["api"], "command": moved},
            {**system.environment["api"], **issuer.settings()},
        )
        api = f"http://127.0.0.1:{AUTHENTICATED_API_PORT}/api/v1"
        wait_until(lambda: _answers(f"{api}/health"), timeout=120, interval=0.5, message="the second API container")
        ann, bob = (issuer.session_for(IssuerUser(f"user-{who}", f"{who}@example.com")) for who in ("ann", "bob"))

        anonymous = requests.get(f"{api}/todos", timeout=10)
        created = ann.post(f"{api}/todos", json={"title": "Ann's, in a container"}, timeout=10)

        assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Bearer")
        assert created.status_code == 201, created.text
        todo = f"{api}/todos/{created.json()['id']}"
        assert ann.get(todo, timeout=10).status_code == 200
        assert bob.get(todo, timeout=10).status_code == 404
        assert bob.get(f"{api}/todos", timeout=10).json() == []
        assert "auth enabled" in system.engine.logs(name)
    finally:
        if name:
            system.engine.remove(name)
        issuer.stop()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _processes(system, process: str) -> list[int]:
    """Host pids of the container's processes, its init (pid 1 inside) left out."""
    rows = system.engine.run("top", system.container(process), "hpid", "pid").stdout.splitlines()[1:]
    return [int(host) for host, inside in (row.split() for row in rows) if inside != "1"]


def _signal_all(system, process: str, signum: int) -> None:
    for pid in _processes(system, process):
        os.kill(pid, signum)


@pytest.mark.parametrize("process", ["api", "relay", "api-consumer", "ical-worker", "notifier", "event-archiver"])
def test_each_health_check_passes_while_healthy_and_fails_once_its_loop_stops(container_system, process):
    system = container_system
    definition = system.definitions[process]
    command = definition["healthCheck"]["command"]
    name = system.container(process)

    # A worker's first beat comes once its loop runs.
    wait_until(lambda: system.engine.healthcheck(name, command).returncode == 0, timeout=60, interval=0.5)

    _signal_all(system, process, signal.SIGSTOP)
    try:
        heartbeat = system.environment[process].get("HEARTBEAT_FILE")
        if heartbeat:
            # The loop can no longer beat: let its last beat be as old as a stuck loop's would be.
            stale = int(time.time()) - STALE_BY_SECONDS
            system.engine.run("exec", name, "touch", "-d", f"@{stale}", heartbeat)
        stopped = system.engine.healthcheck(name, command)
    finally:
        _signal_all(system, process, signal.SIGCONT)

    assert stopped.returncode != 0, f"{process}: healthy while stopped\n{stopped.stdout}{stopped.stderr}"
    wait_until(lambda: system.engine.healthcheck(name, command).returncode == 0, timeout=60, interval=0.5)


def _archived_text(system) -> str:
    s3 = system.client("s3")
    text = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=system.bucket, Prefix="event-archive/"):
        for item in page.get("Contents", []):
            text.append(s3.get_object(Bucket=system.bucket, Key=item["Key"])["Body"].read().decode())
    return "\n".join(text)


def _outbox(system) -> list[tuple[str, object]]:
    database = sqlalchemy.create_engine(system.database_url)
    with database.connect() as connection:
        rows = connection.execute(sqlalchemy.text("SELECT event_id, published_at FROM outbox")).all()
    database.dispose()
    return [tuple(row) for row in rows]


def _stop(system, process: str) -> None:
    """SIGTERM, then SIGKILL once the definition's stop timeout has passed (as ECS does)."""
    name = system.container(process)
    timeout = system.definitions[process]["stopTimeout"]
    started = time.monotonic()
    system.engine.run("stop", "--time", str(timeout), name, timeout=timeout + 60)
    took = time.monotonic() - started
    state = system.engine.state(name)
    # 137 is SIGKILL at the end of the stop timeout.
    logs = system.engine.logs(name)
    assert state["ExitCode"] == 0, f"{process} exited {state['ExitCode']} after {took:.0f} s\n{logs}"


def test_sigterm_ends_every_container_within_its_stop_timeout_losing_nothing(container_system):
    system = container_system
    api = f"{system.api_url}/api/v1"
    for number in range(5):
        assert requests.post(f"{api}/todos", json={"title": f"before SIGTERM {number}"}, timeout=10).status_code == 201

    # Stopped in the order a task drains: the API, then the relay once it has published what
    # the API wrote, then the consumers, the archiver last, once it holds every event.
    _stop(system, "api")
    wait_until(lambda: all(published for _, published in _outbox(system)), timeout=60, message="the relay")
    _stop(system, "relay")
    for process in ("api-consumer", "ical-worker", "notifier"):
        _stop(system, process)
    sqs = system.client("sqs")

    def archiver_received_everything() -> bool:
        attributes = sqs.get_queue_attributes(
            QueueUrl=system.queue_urls["event-archiver"], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return attributes["ApproximateNumberOfMessages"] == "0"

    wait_until(archiver_received_everything, timeout=60, message="the archiver's queue to drain")
    _stop(system, "event-archiver")

    outbox = _outbox(system)
    archived = _archived_text(system)
    missing = [event_id for event_id, _ in outbox if event_id not in archived]
    assert outbox and not missing, f"{len(missing)} of {len(outbox)} events never reached the archive"
