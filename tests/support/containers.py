"""The service images, built by scripts/images.sh and run with its engine (docker where a docker
engine answers, else podman with scripts/podman/containers.conf), the way an ECS task
definition says: its command, environment, read-only root, writable paths, init process and
stop timeout. The image supplies the user, as on ECS.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
IMAGES_SCRIPT = REPO / "scripts" / "images.sh"
PODMAN_CONF = REPO / "scripts" / "podman" / "containers.conf"
IMAGE_TAG = os.environ.get("IMAGE_TAG", "local")
# A cold build downloads every locked package and may make the base image first.
BUILD_TIMEOUT_SECONDS = 900


def image_name(service: str) -> str:
    return f"taskoverflow/{service}:{IMAGE_TAG}"


def engine_environment() -> dict[str, str]:
    configuration = os.environ.get("CONTAINERS_CONF", str(PODMAN_CONF))
    return {**os.environ, "CONTAINERS_CONF": configuration, "IMAGE_TAG": IMAGE_TAG}


def build_images() -> str:
    """Build every service image (layers cached between runs); return the engine's name."""
    environment = engine_environment()
    subprocess.run(["bash", str(IMAGES_SCRIPT), "build"], env=environment, check=True, timeout=BUILD_TIMEOUT_SECONDS)
    return subprocess.run(
        ["bash", str(IMAGES_SCRIPT), "engine"], env=environment, check=True, capture_output=True, text=True
    ).stdout.strip()


@dataclass
class Engine:
    name: str

    def run(self, *arguments: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.name, *arguments],
            env=engine_environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )

    def inspect_image(self, image: str) -> dict[str, Any]:
        return json.loads(self.run("image", "inspect", image).stdout)[0]

    def image_config(self, image: str) -> dict[str, Any]:
        """The image's Config (User, Env, Cmd, Entrypoint, Healthcheck, ExposedPorts)."""
        return self.inspect_image(image)["Config"]

    def image_health_check(self, image: str) -> dict[str, Any] | None:
        """The image's HEALTHCHECK (docker keeps it in Config, podman beside it)."""
        inspected = self.inspect_image(image)
        return inspected.get("Healthcheck") or inspected["Config"].get("Healthcheck")

    def in_image(self, image: str, *command: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
        """A one-off command in a fresh container of the image (read-only, no network)."""
        options = ["--rm", "--read-only", "--network", "none", "--entrypoint", command[0]]
        if user:
            options += ["--user", user]
        return self.run("run", *options, image, *command[1:], check=False)

    def start(self, name: str, image: str, definition: dict[str, Any], environment: dict[str, str]) -> str:
        """Start a container of the image as the ECS container definition says; return its name."""
        self.remove(name)
        options = ["--detach", "--name", name, "--network", "host"]
        if definition.get("readonlyRootFilesystem"):
            options.append("--read-only")
            if self.name == "podman":
                # Only the task's declared paths are writable, as on ECS (podman would add tmpfs
                # /tmp, /var/tmp and /run by itself).
                options.append("--read-only-tmpfs=false")
        for mount in definition.get("mountPoints", []):
            # Scratch space that starts with the image's ownership of the path, as ECS's volumes do.
            options += ["--volume", mount["containerPath"]]
        if definition.get("linuxParameters", {}).get("initProcessEnabled"):
            options.append("--init")
        if "stopTimeout" in definition:
            options += ["--stop-timeout", str(definition["stopTimeout"])]
        for key, value in environment.items():
            options += ["--env", f"{key}={value}"]
        command = definition.get("command") or []
        self.run("run", *options, image, *command)
        return name

    def state(self, name: str) -> dict[str, Any]:
        return json.loads(self.run("inspect", name).stdout)[0]["State"]

    def logs(self, name: str) -> str:
        result = self.run("logs", name, check=False)
        return result.stdout + result.stderr

    def healthcheck(self, name: str, command: list[str]) -> subprocess.CompletedProcess[str]:
        """The health check command inside the running container, as the agent runs it."""
        assert command[0] == "CMD", command
        return self.run("exec", name, *command[1:], check=False, timeout=30)

    def main_pid(self, name: str) -> int:
        return int(self.state(name)["Pid"])

    def remove(self, name: str) -> None:
        self.run("rm", "--force", "--volumes", name, check=False, timeout=180)
