"""Fixtures of the infrastructure checks: the topology and offline Terraform plans."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.infra.offline_terraform import (
    FIXTURES,
    OFFLINE_VARS,
    PROD_ENV,
    OfflineTerraform,
    load_topology,
    why_terraform_cannot_run,
)


@pytest.fixture(scope="session")
def topology() -> dict[str, Any]:
    return load_topology()


def _offline_terraform(root: Path, tmp_path_factory: pytest.TempPathFactory) -> OfflineTerraform:
    reason = why_terraform_cannot_run()
    if reason:
        pytest.skip(reason)
    terraform = OfflineTerraform(root, tmp_path_factory.mktemp(f"tf-{root.name}"))
    terraform.init()
    return terraform


@pytest.fixture(scope="session")
def prod_plan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The production environment's plan, as JSON. scripts/infra_check.sh has made one already
    and passes it in INFRA_PLAN_JSON; anywhere else the plan is made here."""
    given = os.environ.get("INFRA_PLAN_JSON")
    if given:
        return json.loads(Path(given).read_text())
    terraform = _offline_terraform(PROD_ENV, tmp_path_factory)
    return terraform.plan(f"-var-file={OFFLINE_VARS}")


@pytest.fixture(scope="session")
def prod_fifo_plan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The production environment's plan with delivery = fifo."""
    terraform = _offline_terraform(PROD_ENV, tmp_path_factory)
    return terraform.plan(f"-var-file={OFFLINE_VARS}", "-var=delivery=fifo")


@pytest.fixture(scope="session")
def modules_plan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The iam and ecs-service modules with literal inputs, so policies and container
    definitions are known at plan time."""
    return _offline_terraform(FIXTURES / "modules", tmp_path_factory).plan()
