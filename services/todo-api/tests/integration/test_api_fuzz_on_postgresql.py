"""Schemathesis in process (WSGI) against PostgreSQL, the production database.

The end-to-end fuzz (tests/e2e/test_api_fuzz.py) runs the real processes on SQLite; PostgreSQL
refuses some text SQLite stores (a NUL, for one), so the same checks run here too.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from todo_api.entrypoints.flask_app import create_app

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_generated_requests_find_no_server_error_and_only_documented_responses(todo_api, mode):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", create_app(todo_api))

    # database=None: no .hypothesis folder in the work tree; a failure prints its case.
    @given(case=schema.as_strategy(mode))
    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def answers_as_documented(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=CHECKS)

    answers_as_documented()
