"""Authentication on: the real processes with the three AUTH_* settings of a test issuer.

The issuer runs in the test (tests/support/oidc_issuer.py: keys made here, JWKS on localhost).
Tokens that prove nothing answer 401; users see, change and export only their own todos; and the
web page signs in through the issuer's authorization-code + PKCE flow in Chromium.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from tests.e2e.test_web_page import CHROMIUM, CHROMIUM_ARGS, expect_list_loaded, todo_named
from tests.support.moto import wait_until
from tests.support.oidc_issuer import IssuerUser, OidcIssuer, new_signing_key
from tests.support.system import RunningSystem

ANN = IssuerUser("user-ann", "ann@example.com")
BOB = IssuerUser("user-bob", "bob@example.com")
CALENDAR_TIMEOUT_SECONDS = 60


@pytest.fixture(scope="module")
def issuer() -> Iterator[OidcIssuer]:
    issuer = OidcIssuer().start()
    yield issuer
    issuer.stop()


@pytest.fixture(scope="module")
def running_system(issuer) -> Iterator[RunningSystem]:
    system = RunningSystem("e2e-auth", extra_env=issuer.settings()).start()
    yield system
    system.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "chromium is missing: run `bash scripts/install_system_deps.sh`"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_the_api_logs_that_authentication_is_on(running_system):
    assert "auth enabled" in running_system.log("api")
    assert "auth disabled" not in running_system.log("api")


@pytest.mark.parametrize(
    ("case", "make_token", "error_code"),
    [
        ("no token", lambda issuer: None, None),
        ("bad signature", lambda issuer: issuer.token(ANN, key=new_signing_key()), "invalid_token"),
        ("wrong issuer", lambda issuer: issuer.token(ANN, iss="http://127.0.0.1:1/elsewhere"), "invalid_token"),
        ("wrong audience", lambda issuer: issuer.token(ANN, aud="another-client"), "invalid_token"),
        ("expired", lambda issuer: issuer.token(ANN, expires_in=-300), "invalid_token"),
        ("not a JWT", lambda issuer: "not.a.jwt", "invalid_token"),
    ],
)
def test_a_token_that_proves_nothing_answers_401_on_every_guarded_route(
    running_system, issuer, case, make_token, error_code
):
    token = make_token(issuer)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    api = f"{running_system.api_url}/api/v1"
    job = str(uuid.uuid4())
    for method, url in [
        ("GET", f"{api}/todos"),
        ("POST", f"{api}/todos"),
        ("GET", f"{api}/todos/1"),
        ("PUT", f"{api}/todos/1"),
        ("DELETE", f"{api}/todos/1"),
        ("POST", f"{api}/todos/ical"),
        ("GET", f"{api}/todos/ical/{job}/status"),
        ("GET", f"{api}/todos/ical/{job}/result"),
    ]:
        response = requests.request(method, url, headers=headers, json={"title": "x"}, timeout=10)
        assert response.status_code == 401, (case, method, url, response.text)
        assert response.json()["error"], case
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith("Bearer ")
        assert (f'error="{error_code}"' in challenge) if error_code else ("error=" not in challenge)


def test_health_the_documents_the_sign_in_config_and_the_page_need_no_token(running_system, issuer):
    base = running_system.api_url
    for path in ["/api/v1/health", "/api/v1/openapi.json", "/api/v1/asyncapi.json", "/", "/static/app.js"]:
        assert requests.get(f"{base}{path}", timeout=10).status_code == 200, path
    config = requests.get(f"{base}/api/v1/auth-config", timeout=10).json()
    assert config == {
        "enabled": True,
        "issuer": issuer.url,
        "client_id": issuer.audience,
        "scope": "openid email profile",
        "authorization_endpoint": f"{issuer.url}/authorize",
        "token_endpoint": f"{issuer.url}/token",
    }
    document = requests.get(f"{base}/api/v1/openapi.json", timeout=10).json()
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert document["paths"]["/api/v1/todos"]["get"]["security"] == [{"bearer": []}]
    assert document["paths"]["/api/v1/health"]["get"]["security"] == []


def test_users_see_change_and_export_only_their_own_todos(running_system, issuer):
    api = f"{running_system.api_url}/api/v1"
    ann, bob = issuer.session_for(ANN), issuer.session_for(BOB)
    anns_title = f"Ann's secret {uuid.uuid4().hex[:8]}"
    bobs_title = f"Bob's own {uuid.uuid4().hex[:8]}"
    anns = ann.post(f"{api}/todos", json={"title": anns_title, "deadline_at": "2030-01-02T09:00:00"}, timeout=10)
    assert anns.status_code == 201
    todo_id = anns.json()["id"]

    assert bob.get(f"{api}/todos", timeout=10).json() == []
    assert bob.get(f"{api}/todos/{todo_id}", timeout=10).status_code == 404
    assert bob.put(f"{api}/todos/{todo_id}", json={"completed": True}, timeout=10).status_code == 404
    assert bob.delete(f"{api}/todos/{todo_id}", timeout=10).status_code == 404
    assert [t["title"] for t in ann.get(f"{api}/todos", timeout=10).json()] == [anns_title]
    assert ann.get(f"{api}/todos/{todo_id}", timeout=10).json()["completed"] is False

    assert bob.post(f"{api}/todos", json={"title": bobs_title, "deadline_at": "2030-01-03T09:00:00"}, timeout=10).ok
    anns_job = ann.post(f"{api}/todos/ical", timeout=10).json()["task_id"]
    bobs_job = bob.post(f"{api}/todos/ical", timeout=10).json()["task_id"]
    assert bob.get(f"{api}/todos/ical/{anns_job}/status", timeout=10).status_code == 404
    assert bob.get(f"{api}/todos/ical/{anns_job}/result", timeout=10).status_code == 404

    calendars = {}
    for user, session, job in (("ann", ann, anns_job), ("bob", bob, bobs_job)):
        wait_until(
            lambda session=session, job=job: (
                session.get(f"{api}/todos/ical/{job}/status", timeout=10).json()["task_status"] == "SUCCESS"
            ),
            timeout=CALENDAR_TIMEOUT_SECONDS,
            message=f"{user}'s calendar",
        )
        calendars[user] = session.get(f"{api}/todos/ical/{job}/result", timeout=10).text
    assert f"SUMMARY:{anns_title}" in calendars["ann"] and bobs_title not in calendars["ann"]
    assert f"SUMMARY:{bobs_title}" in calendars["bob"] and anns_title not in calendars["bob"]
    assert bob.get(f"{api}/todos/ical/{anns_job}/result", timeout=10).status_code == 404


def test_calendar_mail_may_go_only_to_the_callers_verified_address(running_system, issuer):
    api = f"{running_system.api_url}/api/v1"
    ann = issuer.session_for(ANN)
    stranger = ann.post(f"{api}/todos/ical", json={"notify_email": "victim@example.com"}, timeout=10)
    assert stranger.status_code == 400 and "verified" in stranger.json()["error"]
    assert ann.post(f"{api}/todos/ical", json={"notify_email": ANN.email}, timeout=10).status_code == 202


# --- the web page, in Chromium -----------------------------------------------------------------


def signed_in_page(browser: Browser, running_system: RunningSystem, issuer: OidcIssuer) -> Page:
    """A fresh browser context (no session) that may reach only the system and the issuer."""
    context = browser.new_context(base_url=running_system.api_url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def only_the_system_and_its_issuer(route: Route) -> None:
        allowed = route.request.url.startswith((running_system.api_url, issuer.url))
        route.continue_() if allowed else route.abort()

    page.route("**/*", only_the_system_and_its_issuer)
    page.goto("/")
    expect(page.locator("#auth-banner")).to_contain_text("Signed in as")
    expect_list_loaded(page)
    assert errors == []
    return page


def test_the_page_signs_in_with_pkce_and_shows_each_user_only_their_todos(chromium, running_system, issuer):
    issuer.signed_in = IssuerUser("page-user-ann", "page-ann@example.com")
    page = signed_in_page(chromium, running_system, issuer)
    expect(page.locator("#auth-banner")).to_have_text("Signed in as page-ann@example.com.")
    assert "code=" not in page.url  # the code is spent and gone from the address bar
    title = f"Signed-in todo {uuid.uuid4().hex[:8]}"
    form = page.get_by_role("form", name="New todo")
    form.get_by_label("Title").fill(title)
    form.get_by_role("button", name="Add todo").click()
    expect(todo_named(page, title)).to_be_visible()
    page.context.close()

    issuer.signed_in = IssuerUser("page-user-bob", "page-bob@example.com")
    other = signed_in_page(chromium, running_system, issuer)
    expect(other.locator("#auth-banner")).to_have_text("Signed in as page-bob@example.com.")
    expect(other.locator("#list-summary")).to_have_text("No todos match.")
    expect(todo_named(other, title)).to_have_count(0)
    other.context.close()
