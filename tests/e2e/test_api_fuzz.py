"""Schemathesis against the running API, driven by the OpenAPI document the API serves, and
Hypothesis where the document says too little: bearer tokens and extreme JSON.

Every phase of `st run` (the document's examples, boundary values and invalid inputs, random
inputs, and stateful sequences following the links it infers: create, then get, change,
delete) must find no server error and only responses the document describes: status, media
type, headers and body schema. Tokens with any header (algorithm, key id, type) and bodies with
numbers and strings no field could hold must answer 4xx `{"error": ...}`, never 5xx.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.oidc_issuer import IssuerUser, OidcIssuer, new_signing_key
from tests.support.system import ARTIFACTS, RunningSystem

ST = Path(sys.executable).parent / "st"
# Every check schemathesis has (no 5xx; status, media type, headers and body as documented;
# invalid input refused; 405 with Allow; a deleted todo is gone, a created one is there), but
# positive_data_acceptance: "2030-02-30T10:00:00" fits the documented deadline pattern, yet is
# no date, and a pattern cannot say which days each month has.
CHECKS = "all"
EXCLUDED_CHECKS = "positive_data_acceptance"
MIN_CASES = 1000
# Per operation and phase; the 9 operations make about 1,200 cases in about 45 s on 2 cores.
MAX_EXAMPLES = 120
# Fixed, so a failure reproduces with the command printed; FUZZ_SEED explores other inputs.
SEED = os.environ.get("FUZZ_SEED", "20261127")
# Hypothesis's examples per property: a few seconds each against the running API.
HYPOTHESIS_EXAMPLES = 150
FUZZ_SETTINGS = settings(
    max_examples=HYPOTHESIS_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
USER = IssuerUser("user-fuzz", "fuzz@example.com")


def test_generated_requests_find_no_server_error_and_only_documented_responses(running_system, capsys):
    workdir = ARTIFACTS / "api-fuzz"
    workdir.mkdir(parents=True, exist_ok=True)
    report = workdir / "report.json"
    report.unlink(missing_ok=True)
    todos_before = _todo_ids(running_system.api_url)
    command = [
        str(ST),
        "run",
        f"{running_system.api_url}/api/v1/openapi.json",
        f"--checks={CHECKS}",
        f"--exclude-checks={EXCLUDED_CHECKS}",
        f"--max-examples={MAX_EXAMPLES}",
        f"--seed={SEED}",
        # One worker: with two, CPython 3.11's ast.parse, called from Hypothesis in both threads,
        # fails now and then ("AST constructor recursion depth mismatch").
        "--workers=1",
        "--report=json",
        f"--report-json-path={report}",
        "--no-color",
    ]
    print("$", " ".join(command))
    # cwd: schemathesis keeps its example database and default report folder there.
    finished = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=240)
    (workdir / "output.txt").write_text(finished.stdout + finished.stderr)
    try:
        assert report.exists(), f"schemathesis did not finish:\n{finished.stdout[-20_000:]}{finished.stderr}"
        results = json.loads(report.read_text())
        cases = results["test_cases"]
        with capsys.disabled():  # the count belongs in every run's output, not only in failures
            print(f"\nschemathesis: {cases['generated']} cases, {cases['with_failures']} with failures, seed {SEED}")
        assert finished.returncode == 0, f"schemathesis found problems:\n{finished.stdout[-20_000:]}"
        assert results["operations"]["tested"] == results["operations"]["total"]
        assert cases["generated"] >= MIN_CASES
    finally:
        _delete_todos_created_since(running_system.api_url, todos_before)
        # Its hundreds of calendar jobs must not slow the tests that share the system after this one.
        running_system.wait_until_idle()


def _todo_ids(api_url: str) -> set[int]:
    return {todo["id"] for todo in requests.get(f"{api_url}/api/v1/todos", timeout=30).json()}


def _delete_todos_created_since(api_url: str, before: set[int]) -> None:
    """The system is shared by the session: leave it without the fuzzer's hundreds of todos."""
    for todo_id in sorted(_todo_ids(api_url) - before):
        requests.delete(f"{api_url}/api/v1/todos/{todo_id}", timeout=30)


@pytest.fixture(scope="module")
def issuer() -> Iterator[OidcIssuer]:
    issuer = OidcIssuer().start()
    yield issuer
    issuer.stop()


@pytest.fixture(scope="module")
def system_with_authentication(issuer) -> Iterator[RunningSystem]:
    system = RunningSystem("e2e-fuzz-auth", with_relay=False, api_workers=1, extra_env=issuer.settings()).start()
    yield system
    system.stop()


def _base64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


_JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
_ALGORITHMS = st.sampled_from(["RS256", "ES256", "HS256", "none", "PS256", "ES384", "EdDSA", "RS512", ""])
_TOKEN_PARTS = st.sampled_from(["header only", "two parts", "three parts", "four parts"])


@st.composite
def jwt_headers(draw: st.DrawFn, known_kid: str) -> dict[str, Any]:
    header: dict[str, Any] = {
        "alg": draw(_ALGORITHMS | _JSON_SCALARS),
        "kid": draw(st.sampled_from([known_kid, "unknown-kid"]) | _JSON_SCALARS),
    }
    if draw(st.booleans()):
        header["typ"] = draw(st.sampled_from(["JWT", "at+jwt"]) | _JSON_SCALARS)
    if draw(st.booleans()):
        header.update(draw(st.dictionaries(st.sampled_from(["jku", "x5u", "jwk", "crit", "b64"]), _JSON_SCALARS)))
    return header


@st.composite
def bearer_tokens(draw: st.DrawFn, issuer: OidcIssuer) -> str:
    """A token whose header says anything, its claims the issuer's or made up, and its signature
    the issuer's, a stranger's, or random bytes."""
    header = draw(jwt_headers(issuer.key_id))
    claims = draw(
        st.sampled_from(["issuer's", "made up"]).map(
            lambda kind: (
                jwt.decode(issuer.token(USER), options={"verify_signature": False})
                if kind == "issuer's"
                else {"sub": "mallory"}
            )
        )
    )
    signing = draw(st.sampled_from(["issuer's key", "stranger's key", "random bytes"]))
    signing_input = f"{_base64url(json.dumps(header).encode())}.{_base64url(json.dumps(claims).encode())}"
    if signing == "random bytes":
        signature = draw(st.binary(max_size=300))
    else:
        # A real RS256 signature, whatever algorithm the header names.
        key = issuer.key if signing == "issuer's key" else new_signing_key()
        signature = jwt.get_algorithm_by_name("RS256").sign(signing_input.encode(), key)
    parts = [*signing_input.split("."), _base64url(signature)]
    shape = draw(_TOKEN_PARTS)
    if shape == "four parts":
        parts.append("x")
    return ".".join(parts[: {"header only": 1, "two parts": 2}.get(shape, len(parts))])


def test_no_bearer_token_whatever_its_header_reaches_a_server_error(system_with_authentication, issuer):
    api = f"{system_with_authentication.api_url}/api/v1"
    session = requests.Session()
    assert session.get(f"{api}/todos", headers={"Authorization": f"Bearer {issuer.token(USER)}"}).status_code == 200

    @FUZZ_SETTINGS
    @given(token=bearer_tokens(issuer), scheme=st.sampled_from(["Bearer", "bearer", "Basic", "Bearer  "]))
    def answers_401_or_200(token: str, scheme: str) -> None:
        response = session.get(f"{api}/todos", headers={"Authorization": f"{scheme} {token}"}, timeout=30)
        assert response.status_code in (200, 401), response.text
        if response.status_code == 401:
            assert set(response.json()) == {"error"}
            assert response.headers["WWW-Authenticate"].startswith("Bearer")

    answers_401_or_200()


_HUGE_NUMBERS = st.one_of(
    st.integers(min_value=1, max_value=6000).map(lambda digits: "9" * digits),
    st.integers(min_value=1, max_value=6000).map(lambda digits: "-" + "1" * digits),
    st.integers(min_value=300, max_value=100_000).map(lambda exponent: f"1e{exponent}"),
    st.integers(min_value=300, max_value=100_000).map(lambda exponent: f"-2.5E+{exponent}"),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e-400", "0.0000000000000000000001", "-0"]),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)
# Bodies stay under the 64 KiB limit (three members of at most 15,000 characters, nesting of at
# most 2 x 2,000): past it the API answers 413 before reading, and may close the connection
# while the client is still sending.
_HUGE_STRINGS = st.one_of(
    st.integers(min_value=0, max_value=15_000).map(lambda length: json.dumps("a" * length)),
    st.text(max_size=50).map(json.dumps),
    st.sampled_from(['"\\ud800"', '"\\u0000"', '"' + "\\uffff" * 2000 + '"']),
)
_FIELDS = st.sampled_from(["title", "description", "deadline_at", "completed", "notify_email", "extra"])


@st.composite
def extreme_json_bodies(draw: st.DrawFn) -> bytes:
    """An object whose fields hold numbers and strings at and past every limit, maybe nested."""
    members = [
        f"{json.dumps(draw(_FIELDS))}: {draw(_HUGE_NUMBERS | _HUGE_STRINGS)}"
        for _ in range(draw(st.integers(min_value=1, max_value=3)))
    ]
    body = "{" + ", ".join(members) + "}"
    depth = draw(st.sampled_from([0, 0, 0, 50, 2000]))
    return ("[" * depth + body + "]" * depth).encode()


def test_no_extreme_json_number_or_string_reaches_a_server_error(running_system):
    api = f"{running_system.api_url}/api/v1"
    session = requests.Session()
    todos_before = _todo_ids(running_system.api_url)
    todo = session.post(f"{api}/todos", json={"title": "fuzzed in place"}, timeout=30).json()
    targets = [("POST", f"{api}/todos"), ("PUT", f"{api}/todos/{todo['id']}"), ("POST", f"{api}/todos/ical")]

    @FUZZ_SETTINGS
    @given(body=extreme_json_bodies(), target=st.sampled_from(targets))
    def answers_without_a_server_error(body: bytes, target: tuple[str, str]) -> None:
        method, url = target
        response = session.request(method, url, data=body, headers={"Content-Type": "application/json"}, timeout=30)
        assert response.status_code < 500, response.text[:300]
        if response.status_code >= 400:
            assert set(response.json()) == {"error"}

    try:
        answers_without_a_server_error()
    finally:
        _delete_todos_created_since(running_system.api_url, todos_before)
        running_system.wait_until_idle()
