"""The images as built, not as their Dockerfiles read: what each ECS task definition in the
Terraform plan runs (command, user, port, health check) exists in its image, and each image
holds its service and the packages of its lock, on the shared base, with no compiler, no pip
cache, no root user and nothing else of the repository.
"""

from __future__ import annotations

import json
import re
import tomllib

import pytest
from packaging.markers import Marker

from tests.support.containers import REPO, image_name

pytestmark = pytest.mark.timeout(1200)
SERVICES = sorted(path.parent.name for path in (REPO / "services").glob("*/Dockerfile"))
SITE_PACKAGES = "/opt/venv/lib/python3.11/site-packages"


# The ECS tasks each image runs: the todo-api's image also runs the one-off migration task.
TASKS_OF_IMAGE = {"todo-api": ("todo-api", "todo-api-migration")}


def _containers(task_containers, service: str) -> dict:
    return {
        f"{task}/{name}": container
        for task in TASKS_OF_IMAGE.get(service, (service,))
        for name, container in task_containers[task].items()
    }


def _project(path) -> dict:
    return tomllib.loads((path / "pyproject.toml").read_text())["project"]


def _exists_in_image(engine, image: str, executable: str) -> bool:
    return engine.in_image(image, "sh", "-c", f'command -v "{executable}"').returncode == 0


@pytest.mark.parametrize("service", SERVICES)
def test_what_each_task_definition_runs_exists_in_the_image(engine, task_containers, service):
    image = image_name(service)
    config = engine.image_config(image)
    entrypoint = config.get("Entrypoint") or []

    for name, container in _containers(task_containers, service).items():
        command = container.get("command") or config["Cmd"]
        for executable in (*entrypoint[:1], command[0]):
            assert _exists_in_image(engine, image, executable), f"{service}/{name}: {executable} is not in the image"
        health = container.get("healthCheck")
        if health:
            assert health["command"][0] == "CMD", name
            assert _exists_in_image(engine, image, health["command"][1]), f"{service}/{name}: {health['command']}"
            if "--heartbeat-file" in health["command"]:
                checked = health["command"][health["command"].index("--heartbeat-file") + 1]
                environment = {variable["name"]: variable.get("value") for variable in container["environment"]}
                assert environment["HEARTBEAT_FILE"] == checked, f"{service}/{name} beats elsewhere"
        for mapping in container.get("portMappings", []):
            assert f"{mapping['containerPort']}/tcp" in config.get("ExposedPorts", {}), f"{service}/{name}"
    # ECS names no user: the image's is the one that runs, and it is not root.
    assert all("user" not in container for container in _containers(task_containers, service).values())
    assert config["User"] and config["User"].split(":")[0] not in {"0", "root"}
    assert engine.in_image(image, "id", "-u").stdout.strip() == config["User"].split(":")[0]


@pytest.mark.parametrize("service", SERVICES)
def test_every_console_script_of_the_service_and_the_shared_package_is_installed(engine, service):
    shared, own = _project(REPO / "shared"), _project(REPO / "services" / service)
    scripts = {**shared.get("scripts", {}), **own.get("scripts", {})}
    listing = engine.in_image(image_name(service), "ls", "/opt/venv/bin").stdout.split()

    assert set(scripts) <= set(listing), set(scripts) - set(listing)


@pytest.mark.parametrize("service", SERVICES)
def test_the_image_keeps_its_docker_health_check(engine, service):
    test = engine.image_health_check(image_name(service))["Test"]

    assert test[0] == "CMD" and _exists_in_image(engine, image_name(service), test[1]), test


def _marker_environment(engine, image: str) -> dict[str, str]:
    # What PEP 508 markers test, as the image's own interpreter reports it (packaging is in every lock).
    found = engine.in_image(
        image,
        "python",
        "-c",
        "import json; from packaging.markers import default_environment; print(json.dumps(default_environment()))",
    )
    assert found.returncode == 0, found.stderr
    return json.loads(found.stdout)


@pytest.mark.parametrize("service", SERVICES)
def test_the_image_installs_its_lock_and_its_packages_and_nothing_else(engine, service):
    lock = (REPO / "services" / service / "requirements.lock").read_text()
    # The lock is universal: a pin with a marker holds only where its marker does.
    environment = _marker_environment(engine, image_name(service))
    pinned = {
        _normalise(name): version
        for name, version, marker in re.findall(r"^(\S+)==([^\s;]+)(?: ; (.+?))? \\$", lock, re.MULTILINE)
        if not marker or Marker(marker).evaluate(environment)
    }
    own = {_normalise(_project(REPO / "shared")["name"]), _normalise(_project(REPO / "services" / service)["name"])}
    listing = engine.in_image(image_name(service), "ls", SITE_PACKAGES).stdout.split()
    installed = dict(
        re.fullmatch(r"(.+)-([^-]+)\.dist-info", entry).groups() for entry in listing if entry.endswith(".dist-info")
    )
    installed = {_normalise(name): version for name, version in installed.items()}

    assert {name: installed[name] for name in installed if name not in own} == pinned
    assert own <= set(installed)


@pytest.mark.parametrize("service", SERVICES)
def test_no_compiler_no_pip_cache_and_nothing_of_the_repository_beyond_the_service(engine, service):
    image = image_name(service)
    # As root, to see every directory.
    found = engine.in_image(
        image,
        "sh",
        "-c",
        "command -v gcc cc c++ make;"
        " find / -xdev \\( -path /proc -o -path /sys \\) -prune -o"
        " \\( -path '*/.cache/pip' -o -path /build -o -name pyproject.toml -o -name Dockerfile"
        " -o -name requirements.lock -o -path '/opt/venv/*.egg-info' -o -name .git \\) -print",
        user="0",
    )

    assert found.stdout.strip() == "", found.stdout


def test_every_image_starts_from_the_same_base_layers(engine):
    layers = {service: engine.inspect_image(image_name(service))["RootFS"]["Layers"] for service in SERVICES}
    shortest = min(len(stack) for stack in layers.values())
    common = 0
    while common < shortest and len({stack[common] for stack in layers.values()}) == 1:
        common += 1

    assert common >= 1, layers


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
