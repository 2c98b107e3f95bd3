"""The Dockerfiles: one slim, non-root, health-checked image per service that installs the
shared package and that service only."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.infra.offline_terraform import REPO_ROOT

SERVICES = {"todo-api": "todo_api", "ical-worker": "ical_worker", "notifier": "notifier", "event-archiver": "event_archiver"}
# The installed service may not exist yet while its code is written; the image contract does.
COMMANDS = {
    "todo-api": ["todo-api-serve", "--host", "0.0.0.0", "--port", "6400"],
    "ical-worker": ["ical-worker"],
    "notifier": ["notifier"],
    "event-archiver": ["event-archiver"],
}


def _instructions(service: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = (REPO_ROOT / "services" / service / "Dockerfile").read_text()
    logical = re.sub(r"\\\n\s*", " ", text)
    pairs = []
    for line in logical.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, arguments = line.partition(" ")
            pairs.append((instruction.upper(), arguments.strip()))
    return pairs


@pytest.mark.parametrize("service", SERVICES)
def test_builds_in_two_stages_from_a_pinned_slim_python(service):
    bases = [arguments.split()[0] for instruction, arguments in _instructions(service) if instruction == "FROM"]

    assert len(bases) == 2
    for base in bases:
        assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", base), base


@pytest.mark.parametrize("service", SERVICES)
def test_copies_only_the_shared_package_and_its_own_service(service):
    sources = {
        arguments.split()[-2]
        for instruction, arguments in _instructions(service)
        if instruction == "COPY" and "--from=" not in arguments
    }
    allowed = {"shared/", f"services/{service}/", f"services/{service}/requirements.lock"}
    if service == "todo-api":
        allowed.add("infra/docker/database_url_entrypoint.py")

    assert sources == allowed


@pytest.mark.parametrize("service", SERVICES)
def test_runs_as_a_non_root_user_with_a_health_check_and_an_exec_form_command(service):
    instructions = _instructions(service)
    users = [arguments for instruction, arguments in instructions if instruction == "USER"]
    healthchecks = [arguments for instruction, arguments in instructions if instruction == "HEALTHCHECK"]
    command = json.loads(next(arguments for instruction, arguments in instructions if instruction == "CMD"))

    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert len(healthchecks) == 1 and " CMD [" in f" {healthchecks[0]}"
    assert command[: len(COMMANDS[service])] == COMMANDS[service]


@pytest.mark.parametrize("service", SERVICES)
def test_bakes_in_no_secret(service):
    for instruction, arguments in _instructions(service):
        if instruction in {"ENV", "ARG"}:
            assert not re.search(r"(PASSWORD|SECRET|TOKEN|ACCESS_KEY)\w*=", arguments, re.IGNORECASE), arguments


def test_worker_health_checks_read_the_heartbeat_file_the_image_sets():
    for service in ("ical-worker", "notifier", "event-archiver"):
        instructions = _instructions(service)
        environment = " ".join(arguments for instruction, arguments in instructions if instruction == "ENV")
        healthcheck = next(arguments for instruction, arguments in instructions if instruction == "HEALTHCHECK")
        heartbeat_file = re.search(r'"--heartbeat-file", "([^"]+)"', healthcheck).group(1)

        assert f"HEARTBEAT_FILE={heartbeat_file}" in environment


def test_the_build_context_leaves_out_everything_but_sources():
    ignored = (REPO_ROOT / ".dockerignore").read_text().splitlines()

    assert ignored[ignored.index("*") :][:4] == ["*", "!shared/", "!services/", "!infra/docker/"]
    assert "**/tests/" in ignored


@pytest.mark.parametrize("service", SERVICES)
def test_service_packages_match_the_dockerfiles(service):
    project = REPO_ROOT / "services" / service
    if not (project / "pyproject.toml").exists():
        pytest.skip(f"{service} has no pyproject.toml yet")
    assert (project / "src" / SERVICES[service]).is_dir(), f"services/{service}/src/{SERVICES[service]}"
