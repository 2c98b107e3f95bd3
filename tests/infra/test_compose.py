"""compose.yaml runs the whole system like production, against an emulator: every service gets
the configuration it reads under `make run`, and starts only once what it needs is ready."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.infra.offline_terraform import REPO_ROOT

AWS_VARIABLES = {"AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "LOG_LEVEL"}
APPLICATION = (
    "todo-api",
    "todo-api-relay",
    "todo-api-consumer",
    "ical-worker",
    "ical-feed-worker",
    "notifier",
    "event-archiver",
)
LOCALSTACK_REQUIREMENTS = REPO_ROOT / "requirements-localstack.txt"
TODO_API_FAMILY = ("todo-api-migrate", "todo-api", "todo-api-relay", "todo-api-consumer")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml", reason="PyYAML is installed by scripts/infra_check.sh")
    return yaml.safe_load((REPO_ROOT / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict[str, Any]]:
    return compose["services"]


def test_localstack_is_the_default_emulator_at_make_runs_release_and_moto_is_opt_in(services):
    pinned = re.search(r"^localstack-core\[runtime\]==(\S+)$", LOCALSTACK_REQUIREMENTS.read_text(), re.MULTILINE)
    # Offline, LOCALSTACK_IMAGE selects the same release built from PyPI (infra/containers/localstack).
    assert services["localstack"]["image"] == "${LOCALSTACK_IMAGE:-localstack/localstack:" + pinned[1] + "}"
    assert "profiles" not in services["localstack"]
    assert services["localstack"]["environment"]["SERVICES"] == "sns,sqs,s3,sts"
    assert services["localstack"]["ports"] == ["${LOCALSTACK_PORT:-4566}:4566"]
    assert services["moto"]["image"].startswith("motoserver/moto:")
    assert services["moto"]["environment"]["MOTO_PORT"] == "4566"
    assert services["moto"]["profiles"] == ["moto"]


def test_every_application_service_talks_to_the_emulator_like_make_run(services):
    for name in (*APPLICATION, "bootstrap", "todo-api-migrate"):
        environment = services[name]["environment"]
        assert AWS_VARIABLES <= set(environment), name
        assert environment["AWS_ENDPOINT_URL"] == "${AWS_ENDPOINT_URL:-http://localstack:4566}", name
        assert environment["AWS_REGION"] == "us-east-1", name


def test_every_container_uses_the_delivery_mode_the_bootstrap_builds(services):
    # The bootstrap creates the ".fifo" topology when it is fifo; a service on the other mode
    # would find no queue.
    for name in (*APPLICATION, "bootstrap", "todo-api-migrate"):
        assert services[name]["environment"]["TASKOVERFLOW_DELIVERY"] == "${TASKOVERFLOW_DELIVERY:-standard}", name


def test_the_todo_api_processes_share_one_postgresql_database(services):
    for name in TODO_API_FAMILY:
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgresql+psycopg2://"), name
        assert "@postgres:5432/" in environment["DATABASE_URL"], name
        assert environment["PUBLIC_BASE_URL"] == "http://localhost:${TODO_API_PORT:-6400}", name
        assert services[name]["build"]["dockerfile"] == "services/todo-api/Dockerfile", name
    assert services["postgres"]["image"] == "${POSTGRES_IMAGE:-postgres:15-bookworm}"


def test_one_shot_steps_run_before_the_services_that_need_them(services):
    assert services["bootstrap"]["command"][0] == "taskoverflow-bootstrap"
    assert services["bootstrap"]["depends_on"] == {"localstack": {"condition": "service_healthy"}}
    assert services["todo-api-migrate"]["command"] == ["todo-api-migrate"]
    assert services["todo-api-migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in APPLICATION:
        depends_on = services[name]["depends_on"]
        assert depends_on["bootstrap"] == {"condition": "service_completed_successfully"}, name
        if name.startswith("todo-api"):
            assert depends_on["todo-api-migrate"] == {"condition": "service_completed_successfully"}, name


def test_the_api_listens_on_6400_and_is_health_checked(services):
    api = services["todo-api"]

    assert api["ports"] == ["${TODO_API_PORT:-6400}:6400"]
    assert "http://127.0.0.1:6400/api/v1/health" in " ".join(api["healthcheck"]["test"])


def test_workers_are_health_checked_on_the_heartbeat_file_they_write(services):
    for name in ("todo-api-relay", "todo-api-consumer", "ical-worker", "ical-feed-worker", "notifier", "event-archiver"):
        check = services[name]["healthcheck"]["test"]
        assert check[:2] == ["CMD", "taskoverflow-healthcheck"], name
        assert check[check.index("--heartbeat-file") + 1] == services[name]["environment"]["HEARTBEAT_FILE"], name


def test_long_running_services_are_hardened_and_stop_gracefully(services):
    for name in APPLICATION:
        service = services[name]
        assert service["read_only"] is True, name
        assert service["tmpfs"] == ["/tmp"], name
        assert service["init"] is True, name
        assert service["stop_grace_period"] == "120s", name
        assert service["cap_drop"] == ["ALL"], name


def test_the_archiver_builds_its_own_image_and_passes_its_flush_settings_through(services):
    archiver = services["event-archiver"]

    assert archiver["build"]["dockerfile"] == "services/event-archiver/Dockerfile"
    # No value: compose passes the shell's value if there is one and leaves it unset otherwise.
    for variable in ("EVENT_ARCHIVER_FLUSH_SECONDS", "EVENT_ARCHIVER_FLUSH_EVENTS"):
        assert archiver["environment"][variable] is None, variable


def test_the_notifier_gets_its_settings(services):
    environment = services["notifier"]["environment"]

    for variable in ("NOTIFIER_WEBHOOK_URLS", "NOTIFIER_WEBHOOK_SECRET", "NOTIFIER_ALLOW_PRIVATE_TARGETS", "NOTIFIER_SMTP_URL", "PUBLIC_BASE_URL"):
        assert variable in environment, variable
