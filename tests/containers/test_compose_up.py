"""compose.yaml comes up for real (podman-compose, or `docker compose` where a docker engine
answers) and the course's contract passes against its API. Offline, LocalStack and PostgreSQL
come from the images scripts/images.sh builds from PyPI and Debian, selected by the variables
compose.yaml reads; the published ports are free ones, so a `make run` beside it is no matter.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from tests.e2e import test_curl_sequence as curl_sequence
from tests.support.artifacts import ARTIFACTS
from tests.support.containers import IMAGES_SCRIPT, REPO, engine_environment
from tests.support.moto import free_port, wait_until

pytestmark = pytest.mark.timeout(1500)
PROJECT = "taskoverflow-compose-test"
# Started first where the engine cannot wait on health (podman before 4.6 ignores the
# service_healthy conditions): everything else needs them healthy.
BACKING_SERVICES = ("localstack", "postgres")
ONE_SHOT = ("bootstrap", "todo-api-migrate")
APPLICATION = ("todo-api", "todo-api-relay", "todo-api-consumer", "ical-worker", "notifier", "event-archiver")
UP_TIMEOUT_SECONDS = 300


def _localstack_release() -> str:
    for line in (REPO / "requirements-localstack.txt").read_text().splitlines():
        if line.startswith("localstack-core[runtime]=="):
            return line.split("==", 1)[1]
    raise AssertionError("requirements-localstack.txt pins no localstack-core")


@pytest.fixture(scope="module")
def compose_stack(engine):
    # compose.yaml reads AWS_* and DATABASE_URL from the shell as overrides: the test session's
    # own (its moto server) must not leak into the stack, which has its own LocalStack.
    inherited = {
        name: value
        for name, value in engine_environment().items()
        if not name.startswith("AWS_") and name != "DATABASE_URL"
    }
    environment = {
        **inherited,
        "TODO_API_PORT": str(free_port()),
        "LOCALSTACK_PORT": str(free_port()),
    }
    if engine.name == "docker":
        compose = ["docker", "compose"]
    else:
        compose = [str(Path(sys.executable).parent / "podman-compose")]
        # No registry here: the emulators built from PyPI and Debian stand in for theirs.
        subprocess.run(["bash", str(IMAGES_SCRIPT), "build-emulators"], env=environment, check=True, timeout=1200)
        environment["LOCALSTACK_IMAGE"] = f"taskoverflow/localstack:{_localstack_release()}"
        environment["POSTGRES_IMAGE"] = "taskoverflow/postgres:15-bookworm"
    compose += ["--project-name", PROJECT, "--file", str(REPO / "compose.yaml")]

    def run(*arguments: str, timeout: float = UP_TIMEOUT_SECONDS) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*compose, *arguments], env=environment, cwd=REPO, capture_output=True, text=True, timeout=timeout
        )

    run("down", "--volumes")
    try:
        if engine.name == "docker":
            up = run("up", "--detach", "--wait")
        else:
            # podman 4.3 neither waits on health nor starts a container whose dependency has
            # dependencies of its own ("not found in input list"): the test keeps compose.yaml's
            # order itself, one stage at a time, each container created without --requires.
            up = run("up", "--detach", *BACKING_SERVICES)
            assert up.returncode == 0, up.stdout + up.stderr
            for service in BACKING_SERVICES:
                container = f"{PROJECT}_{service}_1"

                def healthy(container: str = container) -> bool:
                    return engine.run("healthcheck", "run", container, check=False).returncode == 0

                wait_until(healthy, timeout=UP_TIMEOUT_SECONDS, interval=1, message=f"{service} healthy")
            up = run("up", "--detach", "--no-deps", "--no-recreate", *ONE_SHOT)
            assert up.returncode == 0, up.stdout + up.stderr
            for service in ONE_SHOT:
                container = f"{PROJECT}_{service}_1"
                exit_code = engine.run("wait", container, timeout=UP_TIMEOUT_SECONDS).stdout.strip()
                assert exit_code == "0", engine.run("logs", container, check=False).stderr
            up = run("up", "--detach", "--no-deps", "--no-recreate", *APPLICATION)
        assert up.returncode == 0, up.stdout + up.stderr
        api_url = f"http://localhost:{environment['TODO_API_PORT']}"

        def api_answers() -> bool:
            try:
                return requests.get(f"{api_url}/api/v1/health", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_until(api_answers, timeout=UP_TIMEOUT_SECONDS, interval=1, message=f"compose's API on {api_url}")
        yield SimpleNamespace(api_url=api_url, run=run)
    finally:
        logs = run("logs", timeout=120)
        artifacts = ARTIFACTS / "containers"
        artifacts.mkdir(parents=True, exist_ok=True)
        (artifacts / "compose.log").write_text(logs.stdout + logs.stderr)
        run("down", "--volumes", timeout=600)


def test_the_course_contract_passes_against_the_compose_stack(compose_stack):
    curl_sequence.test_the_readme_curl_sequence(compose_stack)
