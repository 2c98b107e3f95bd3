"""The layers hold: a service's domain is pure, so it imports no transport, ORM, web framework
or tracing, and no part of the shared library that talks to one.

Read from the source as text (the modules are not imported), so a broken edge fails here
whatever the environment has installed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# The todo-api's unit of work only collects events: mapping them to envelopes is an adapter's job.
UNIT_OF_WORK = REPO / "services/todo-api/src/todo_api/unit_of_work.py"
DOMAIN_MODULES = [*sorted(REPO.glob("services/*/src/*/domain/**/*.py")), UNIT_OF_WORK]

# Packages at the edges: brokers and clouds, databases, the web, tracing.
FORBIDDEN_IN_DOMAINS = (
    "boto3",
    "botocore",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "flask",
    "werkzeug",
    "requests",
    "httpx",
    "opentelemetry",
    "taskoverflow_shared.aws_clients",
    "taskoverflow_shared.sns_publisher",
    "taskoverflow_shared.sqs_batches",
    "taskoverflow_shared.sqs_consumer",
    "taskoverflow_shared.tracing",
    "taskoverflow_shared.worker_runtime",
)


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def is_within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_every_service_has_a_domain_to_check():
    assert {path.relative_to(REPO).parts[1] for path in DOMAIN_MODULES} >= {"ical-worker", "notifier", "todo-api"}


@pytest.mark.parametrize("path", DOMAIN_MODULES, ids=lambda path: str(path.relative_to(REPO)))
def test_a_domain_imports_nothing_from_the_edges(path: Path):
    leaks = sorted(
        module for module in imported_modules(path) for package in FORBIDDEN_IN_DOMAINS if is_within(module, package)
    )
    assert not leaks, f"{path.relative_to(REPO)} imports {leaks}"


def test_the_check_sees_a_leak(tmp_path: Path):
    leaky = tmp_path / "leaky.py"
    leaky.write_text("from taskoverflow_shared.sqs_consumer import envelope_text\nimport boto3.session\n")
    assert {"taskoverflow_shared.sqs_consumer", "boto3.session"} <= imported_modules(leaky)
