"""The Terraform sources themselves: one source of names, a pinned provider, documented inputs
and outputs, and offline shortcuts that a real deployment cannot pick up by accident."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.infra.offline_terraform import FIXTURES, OFFLINE_VARS, PROD_ENV, TERRAFORM_ROOT, TOPOLOGY_FILE

hcl2 = pytest.importorskip("hcl2", reason="python-hcl2 is installed by scripts/infra_check.sh")

TF_FILES = sorted(TERRAFORM_ROOT.rglob("*.tf"))
LOCK_FILES = sorted([*TERRAFORM_ROOT.rglob(".terraform.lock.hcl"), *FIXTURES.rglob(".terraform.lock.hcl")])


def _parse(path: Path) -> dict[str, Any]:
    with path.open() as source:
        return hcl2.load(source, serialization_options=hcl2.SerializationOptions(strip_string_quotes=True))


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            if key != "__comments__":
                yield key
                yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _blocks(path: Path, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for block in _parse(path).get(kind, []):
        yield from block.items()


def test_the_sources_are_found():
    assert len(TF_FILES) > 30
    assert PROD_ENV / "main.tf" in TF_FILES


def test_the_environment_reads_topology_json_itself():
    topology_local = next(block["topology"] for block in _parse(PROD_ENV / "main.tf")["locals"] if "topology" in block)
    relative_path = re.fullmatch(r'\$\{jsondecode\(file\("\$\{path\.module\}/(.+)"\)\)\}', topology_local).group(1)

    assert (PROD_ENV / relative_path).resolve() == TOPOLOGY_FILE.resolve()


@pytest.mark.parametrize("path", TF_FILES, ids=lambda p: str(p.relative_to(TERRAFORM_ROOT)))
def test_no_topology_name_is_written_into_terraform(path, topology):
    names = {topology["topic"]["name"], topology["bucket"]["name"]}
    names |= {name for queue in topology["queues"].values() for name in (queue["name"], queue["dlq_name"])}

    leaked = {name for text in _strings(_parse(path)) for name in names if name in text}
    assert not leaked, f"{path.name} hard-codes {leaked}; take it from local.topology instead"


def test_every_module_pins_the_aws_provider_to_major_version_5():
    versions = [path for path in TF_FILES if path.name == "versions.tf"]

    assert len(versions) == len(list((TERRAFORM_ROOT / "modules").iterdir())) + 1
    for path in versions:
        terraform = _parse(path)["terraform"][0]
        assert terraform["required_providers"][0]["aws"] == {"source": "hashicorp/aws", "version": "~> 5.0"}, path


def test_every_lock_file_pins_the_mirrored_provider():
    assert PROD_ENV / ".terraform.lock.hcl" in LOCK_FILES
    for path in LOCK_FILES:
        text = path.read_text()
        assert 'provider "registry.terraform.io/hashicorp/aws"' in text, path
        assert 'version     = "5.100.0"' in text, path
        assert 'constraints = "~> 5.0"' in text, path


def test_every_variable_and_output_is_documented():
    for path in TF_FILES:
        for kind in ("variable", "output"):
            for name, body in _blocks(path, kind):
                assert body.get("description"), f"{kind} {name} in {path.relative_to(TERRAFORM_ROOT)}"


def test_offline_shortcuts_are_off_unless_the_offline_plan_asks_for_them():
    provider = _parse(PROD_ENV / "providers.tf")["provider"][0]["aws"]
    offline_plan = dict(_blocks(PROD_ENV / "variables.tf", "variable"))["offline_plan"]

    for flag in ("skip_credentials_validation", "skip_requesting_account_id", "skip_metadata_api_check", "skip_region_validation"):
        assert provider[flag] == "${var.offline_plan}", flag
    assert offline_plan["default"] is False
    assert re.search(r"^offline_plan\s*=\s*true$", OFFLINE_VARS.read_text(), re.MULTILINE)


def test_no_secret_is_a_terraform_variable():
    secret_words = re.compile(r"password|secret_value|token|private_key", re.IGNORECASE)
    for path in TF_FILES:
        for name, body in _blocks(path, "variable"):
            assert not (secret_words.search(name) and not name.endswith("_arn")), f"{name} in {path}"
            assert not body.get("sensitive"), f"{name} in {path} holds a secret; pass a Secrets Manager ARN instead"
