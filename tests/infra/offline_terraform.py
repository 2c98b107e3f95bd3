"""Run Terraform without AWS or a network, as scripts/infra_check.sh does.

The AWS provider comes from the on-disk mirror (TF_PLUGIN_MIRROR, default /opt/tf-plugins), the
credentials are dummies, and Terraform's working data goes to a temporary TF_DATA_DIR so the
source tree is left as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_ROOT = REPO_ROOT / "infra" / "terraform"
PROD_ENV = TERRAFORM_ROOT / "envs" / "prod"
OFFLINE_VARS = TERRAFORM_ROOT / "offline" / "ci.tfvars"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TOPOLOGY_FILE = REPO_ROOT / "shared" / "src" / "taskoverflow_shared" / "topology.json"
PLUGIN_MIRROR = Path(os.environ.get("TF_PLUGIN_MIRROR", "/opt/tf-plugins"))
AWS_PROVIDER_IN_MIRROR = PLUGIN_MIRROR / "registry.terraform.io" / "hashicorp" / "aws"


def why_terraform_cannot_run() -> str | None:
    """A reason to skip, or None when Terraform and the provider mirror are both here."""
    if shutil.which("terraform") is None:
        return "terraform is not installed"
    if not AWS_PROVIDER_IN_MIRROR.is_dir():
        return f"no AWS provider mirror at {AWS_PROVIDER_IN_MIRROR} (set TF_PLUGIN_MIRROR)"
    return None


class OfflineTerraform:
    """One Terraform root module, run with dummy credentials and a private data directory."""

    def __init__(self, root: Path, data_dir: Path, extra_env: Mapping[str, str] | None = None) -> None:
        self.root = root
        self.data_dir = data_dir
        self.env = {
            **os.environ,
            "TF_DATA_DIR": str(data_dir),
            # Ignore the user's CLI configuration: the provider comes from -plugin-dir only.
            "TF_CLI_CONFIG_FILE": os.devnull,
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            "AWS_ACCESS_KEY_ID": "dummy",
            "AWS_SECRET_ACCESS_KEY": "dummy",
            "AWS_EC2_METADATA_DISABLED": "true",
            **(extra_env or {}),
        }

    def run(self, *args: str) -> str:
        result = subprocess.run(
            ["terraform", f"-chdir={self.root}", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"terraform {' '.join(args)} failed in {self.root}:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def init(self) -> None:
        # The committed lock file is the contract: refuse to change it.
        self.run("init", "-backend=false", f"-plugin-dir={PLUGIN_MIRROR}", "-lockfile=readonly", "-no-color")

    def plan(self, *args: str) -> dict[str, Any]:
        """`terraform plan -out` then `terraform show -json` of that plan."""
        plan_file = self.data_dir / "test.tfplan"
        self.run("plan", "-lock=false", "-no-color", f"-out={plan_file}", *args)
        return json.loads(self.run("show", "-json", str(plan_file)))

    def apply(self, *args: str) -> None:
        self.run("apply", "-auto-approve", "-lock=false", "-no-color", *args)

    def state(self, *args: str) -> dict[str, Any]:
        return json.loads(self.run("show", "-json", *args))


def resources(module: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every resource of a plan's planned_values (or a state's values) module tree."""
    yield from module.get("resources", [])
    for child in module.get("child_modules", []):
        yield from resources(child)


def of_type(plan_or_state: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Resources of one type, keyed by address, from a plan (planned values) or a state."""
    root = plan_or_state["planned_values" if "planned_values" in plan_or_state else "values"]["root_module"]
    return {r["address"]: r for r in resources(root) if r["type"] == resource_type and r["mode"] == "managed"}


def load_topology() -> dict[str, Any]:
    return json.loads(TOPOLOGY_FILE.read_text())
