"""The lock files are what gets installed, and they follow their inputs: a dependency added to a
pyproject or to requirements-dev.txt fails here until `make lock` has run."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "lock_requirements.py"


def _lock_module():
    spec = importlib.util.spec_from_file_location("lock_requirements", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_every_lock_is_current_with_its_inputs():
    result = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stderr


def test_every_image_and_the_dev_environment_have_a_hashed_lock():
    locks = _lock_module().all_locks()
    services = sorted(path.parent.name for path in (REPO / "services").glob("*/Dockerfile"))

    assert {lock.path.relative_to(REPO).as_posix() for lock in locks} == {
        "requirements-dev.lock",
        *(f"services/{service}/requirements.lock" for service in services),
    }
    for lock in locks:
        text = lock.path.read_text()
        pins = re.findall(r"^\S+==\S+ \\$", text, re.MULTILINE)
        assert pins, lock.path
        assert len(re.findall(r"^    --hash=sha256:", text, re.MULTILINE)) >= len(pins), lock.path
        assert "file://" not in text and "-e " not in text, lock.path


def test_a_changed_dependency_makes_its_locks_stale(tmp_path):
    # A copy of the inputs, so the test never touches the checkout.
    module = _lock_module()
    copy = tmp_path / "repo"
    for lock in module.all_locks():
        for path in (lock.path, *lock.inputs):
            target = copy / path.relative_to(REPO)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    for dockerfile in (REPO / "services").glob("*/Dockerfile"):
        shutil.copy(dockerfile, copy / dockerfile.relative_to(REPO))
    module.REPO = copy
    pyproject = copy / "services" / "notifier" / "pyproject.toml"
    assert module.stale_locks(module.all_locks()) == []

    added = pyproject.read_text().replace("dependencies = [\n", 'dependencies = [\n    "humanize>=4",\n', 1)
    pyproject.write_text(added)
    stale = {lock.path.relative_to(copy).as_posix() for lock in module.stale_locks(module.all_locks())}

    assert stale == {"requirements-dev.lock", "services/notifier/requirements.lock"}


@pytest.mark.parametrize("service", sorted(p.parent.name for p in (REPO / "services").glob("*/Dockerfile")))
def test_each_dockerfile_installs_its_lock_with_hashes(service):
    dockerfile = (REPO / "services" / service / "Dockerfile").read_text()

    assert f"--require-hashes -r services/{service}/requirements.lock" in dockerfile
    assert "--no-deps ./shared ./services/" + service in dockerfile
