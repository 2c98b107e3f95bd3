"""The lock files: every third-party package pinned, with the hashes of its every distribution.

    python scripts/lock_requirements.py            # make lock: write the stale ones (keeps pins)
    python scripts/lock_requirements.py --upgrade  # re-resolve everything to the newest releases
    python scripts/lock_requirements.py --check    # exit 1 naming every lock its inputs outgrew

One lock per service image (what its Dockerfile installs: shared/ and the service) beside its
Dockerfile, and one for the development environment (requirements-dev.txt and every package of
the repository) that `make install` installs. uv resolves them: a cold resolution of the dev lock
takes about 3 s where pip-compile took over a minute, and uv writes the local packages as the
relative paths it was given instead of absolute file:// URLs, which would differ per checkout.

The repository's own packages are inputs but never pinned (they are not on PyPI): installs add
them with --no-deps. Each lock's first line records a digest of what it was resolved from (the
requirement files, and each pyproject's name and dependencies), so a check needs no network.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The images run CPython 3.11 (python:3.11-slim-bookworm) on amd64 or arm64 (Graviton): a
# universal resolution holds for both, and for a developer's machine.
PYTHON_VERSION = "3.11"
INDEX_URL = "https://pypi.org/simple"
DIGEST_PREFIX = "# inputs-sha256: "
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^ ;\\]+)", re.MULTILINE)


@dataclass(frozen=True)
class Lock:
    path: Path
    requirement_files: tuple[Path, ...]
    packages: tuple[Path, ...]
    # An image's lock is resolved within the dev lock, so the tests run the versions it ships.
    constraint: Lock | None = None

    @property
    def inputs(self) -> list[Path]:
        return [*self.requirement_files, *(package / "pyproject.toml" for package in self.packages)]

    def digest(self) -> str:
        """What the resolution depends on: requirement files whole; of a pyproject, only its
        name, Python requirement and dependencies (a new console script needs no new lock)."""
        parts = {str(path.relative_to(REPO)): path.read_text() for path in self.requirement_files}
        for package in self.packages:
            project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
            relevant = {
                key: project.get(key) for key in ("name", "requires-python", "dependencies", "optional-dependencies")
            }
            parts[str(package.relative_to(REPO))] = json.dumps(relevant, sort_keys=True)
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()

    def recorded_digest(self) -> str | None:
        if not self.path.exists():
            return None
        first_line = self.path.read_text().partition("\n")[0]
        return first_line.removeprefix(DIGEST_PREFIX) if first_line.startswith(DIGEST_PREFIX) else None

    def pins(self) -> dict[str, str]:
        """Package name => pinned version."""
        return dict(PIN.findall(self.path.read_text())) if self.path.exists() else {}

    def is_current(self) -> bool:
        return self.recorded_digest() == self.digest()


def service_dirs() -> list[Path]:
    """Every service that ships an image."""
    return sorted(path.parent for path in (REPO / "services").glob("*/Dockerfile"))


def all_locks() -> list[Lock]:
    shared = REPO / "shared"
    packages = [shared, REPO / "operations", *sorted(p.parent for p in (REPO / "services").glob("*/pyproject.toml"))]
    dev = Lock(REPO / "requirements-dev.lock", (REPO / "requirements-dev.txt",), tuple(packages))
    return [dev, *(Lock(service / "requirements.lock", (), (shared, service), dev) for service in service_dirs())]


def is_stale(lock: Lock) -> bool:
    """Its inputs changed, or (an image's lock) it pins a version the dev lock does not."""
    if not lock.is_current():
        return True
    return bool(lock.constraint) and any(
        lock.constraint.pins().get(name) != version for name, version in lock.pins().items()
    )


def stale_locks(locks: list[Lock]) -> list[Lock]:
    return [lock for lock in locks if is_stale(lock)]


def project_name(package: Path) -> str:
    return tomllib.loads((package / "pyproject.toml").read_text())["project"]["name"]


def compile_lock(lock: Lock, upgrade: bool) -> None:
    requirements = [f"-r {path.relative_to(REPO)}" for path in lock.requirement_files]
    requirements += [f"./{package.relative_to(REPO)}" for package in lock.packages]
    command = [
        sys.executable, "-m", "uv", "pip", "compile", "-",
        "--quiet", "--no-header", "--generate-hashes", "--universal",
        "--python-version", PYTHON_VERSION, "--index-url", INDEX_URL,
        "--output-file", str(lock.path.relative_to(REPO)),
    ]  # fmt: skip
    for package in lock.packages:
        command += ["--no-emit-package", project_name(package)]
    if lock.constraint:
        command += ["--constraint", str(lock.constraint.path.relative_to(REPO))]
    if upgrade:
        command.append("--upgrade")
    # uv reads the current lock as its preferences: only what the inputs changed moves.
    subprocess.run(command, input="\n".join(requirements) + "\n", text=True, cwd=REPO, check=True)
    sources = ", ".join(str(path.relative_to(REPO)) for path in lock.inputs)
    header = (
        f"{DIGEST_PREFIX}{lock.digest()}\n"
        "# Generated by `make lock` (scripts/lock_requirements.py, uv): do not edit. Resolved from\n"
        f"# {sources};\n"
        "# the repository's own packages are installed beside it with --no-deps.\n"
    )
    lock.path.write_text(header + lock.path.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report locks whose inputs changed")
    parser.add_argument("--upgrade", action="store_true", help="re-resolve every lock to the newest releases")
    arguments = parser.parse_args()

    locks = all_locks()
    if arguments.check:
        for lock in stale_locks(locks):
            print(f"{lock.path.relative_to(REPO)} is stale: its inputs changed; run `make lock`", file=sys.stderr)
        return 1 if stale_locks(locks) else 0
    # In order, the dev lock first: an image's lock re-resolves when the dev lock moved its pins.
    for lock in locks:
        if arguments.upgrade or is_stale(lock):
            print(f"locking {lock.path.relative_to(REPO)}", file=sys.stderr)
            compile_lock(lock, arguments.upgrade)
    return 0


if __name__ == "__main__":
    sys.exit(main())
