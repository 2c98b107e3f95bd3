"""The web page in a real browser: Debian's chromium, driven by Playwright, against the running system.

Playwright's own browser downloads are not used (no network beyond the package registries):
scripts/install_system_deps.sh installs chromium, which `make test` runs before pytest.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from tests.support.system import ARTIFACTS, RunningSystem

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = ARTIFACTS / "web-page.png"
# The export waits for the relay, the ical-worker and the consumer; allow for a busy machine.
CALENDAR_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def running_system() -> Iterator[RunningSystem]:
    """A system of the page's own: the session's holds thousands of other tests' todos, and the
    page shows the list whole."""
    system = RunningSystem("e2e-web-page").start()
    yield system
    system.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "chromium is missing: run `bash scripts/install_system_deps.sh`"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, running_system) -> Iterator[Page]:
    """A fresh page that may talk only to the system, as it would have to offline (no CDN)."""
    context = browser.new_context(
        base_url=running_system.api_url, accept_downloads=True, viewport={"width": 1280, "height": 1100}
    )
    page = context.new_page()
    page_errors: list[str] = []
    outside: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))

    def only_the_system(route: Route) -> None:
        if route.request.url.startswith(running_system.api_url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_system)
    yield page
    context.close()
    assert page_errors == [], f"the page's JavaScript failed: {page_errors}"
    assert outside == [], f"the page asked the outside world for {outside}"


def unique_title(words: str) -> str:
    # Short and free of ",;\" so the calendar's SUMMARY line is neither folded nor escaped.
    return f"{words} {uuid.uuid4().hex[:8]}"


def expect_list_loaded(page: Page) -> None:
    """The page marks the list aria-busy while it reloads it; an item clicked then is replaced."""
    expect(page.get_by_role("list", name="Todos")).to_have_attribute("aria-busy", "false")


def todo_named(page: Page, title: str):
    return page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=title, exact=True))


def test_a_todo_from_the_form_to_the_calendar_file_then_completed_edited_and_deleted(page: Page, running_system):
    page.goto("/")
    expect_list_loaded(page)
    title = unique_title("Water the plants")
    form = page.get_by_role("form", name="New todo")
    form.get_by_label("Title").fill(title)
    form.get_by_label("Description").fill("the ones on the balcony")
    form.get_by_label("Deadline").fill("2030-05-17T08:30:15")
    form.get_by_role("button", name="Add todo").click()

    todo = todo_named(page, title)
    expect(todo).to_be_visible()
    expect(todo).to_contain_text("the ones on the balcony")
    expect(page.get_by_role("status").filter(has_text="Added")).to_have_text(f"Added “{title}”.")
    expect(form.get_by_label("Title")).to_have_value("")
    stored = [
        t for t in requests.get(f"{running_system.api_url}/api/v1/todos", timeout=10).json() if t["title"] == title
    ]
    assert [t["deadline_at"] for t in stored] == ["2030-05-17T08:30:15"]

    page.get_by_role("button", name="Export calendar").click()
    export_status = page.locator("#export-status")
    expect(export_status).to_have_text("Calendar export: SUCCESS", timeout=CALENDAR_TIMEOUT_MS)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download calendar (.ics)").click()
    calendar = Path(download.value.path()).read_bytes().decode()
    assert calendar.startswith("BEGIN:VCALENDAR")
    assert f"SUMMARY:{title}\r\n" in calendar
    assert "DTSTART:20300517T083015\r\n" in calendar
    SCREENSHOT.parent.mkdir(exist_ok=True)
    # The viewport, not the full page: other tests' todos may make the list very long.
    page.screenshot(path=SCREENSHOT)

    todo.get_by_role("button", name="Mark complete").click()
    expect(todo).to_have_class(re.compile(r"\bcompleted\b"))
    expect(todo.get_by_role("button", name="Reopen")).to_be_visible()
    page.get_by_label("Show").select_option("Open")
    expect(todo).to_have_count(0)
    page.get_by_label("Show").select_option("Completed")
    expect(todo).to_be_visible()
    page.get_by_label("Show").select_option("All")
    expect_list_loaded(page)

    todo.get_by_role("button", name="Edit").click()
    editor = page.get_by_role("form", name=f"Edit “{title}”")
    renamed = unique_title("Water the balcony plants")
    editor.get_by_label("Title").fill(renamed)
    editor.get_by_label("Deadline").fill("")
    editor.get_by_role("button", name="Save").click()
    todo = todo_named(page, renamed)
    expect(todo).to_contain_text("No deadline")

    todo.get_by_role("button", name="Delete").click()
    expect(todo).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="Deleted")).to_have_text(f"Deleted “{renamed}”.")


def test_a_create_whose_answer_is_lost_is_sent_again_with_its_key_and_made_once(page: Page, running_system):
    """The request reaches the API and is committed, but the page gets a 503 instead of the answer
    (as when the database connection drops at COMMIT): the page retries, with the same key."""
    keys: list[str | None] = []

    def lose_the_first_answer(route: Route) -> None:
        if route.request.method != "POST":
            route.fallback()
            return
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) > 1:
            route.fallback()
            return
        committed = route.fetch()
        assert committed.status == 201
        route.fulfill(
            status=503,
            headers={"Retry-After": "1", "Content-Type": "application/json"},
            body='{"error": "the database is unavailable; try again shortly"}',
        )

    page.route("**/api/v1/todos", lose_the_first_answer)
    page.goto("/")
    expect_list_loaded(page)
    title = unique_title("Call the plumber")
    form = page.get_by_role("form", name="New todo")
    form.get_by_label("Title").fill(title)
    form.get_by_role("button", name="Add todo").click()

    expect(page.get_by_role("status").filter(has_text="Added")).to_have_text(f"Added “{title}”.")
    expect(todo_named(page, title)).to_have_count(1)
    assert len(keys) == 2 and keys[0] is not None and keys[0] == keys[1]
    listed = requests.get(f"{running_system.api_url}/api/v1/todos", timeout=10).json()
    assert [todo["title"] for todo in listed].count(title) == 1


def test_the_page_says_that_authentication_is_off(page: Page, running_system):
    page.goto("/")
    expect(page.get_by_role("note")).to_have_text("Authentication is off: every visitor sees and changes every todo.")
    assert "auth disabled" in running_system.log("api")


def test_the_apis_errors_are_shown_not_swallowed(page: Page):
    page.goto("/")
    alert = page.get_by_role("alert")
    form = page.get_by_role("form", name="New todo")
    form.get_by_label("Title").fill("   ")  # passes the browser's `required`; the API refuses it
    form.get_by_role("button", name="Add todo").click()
    expect(alert).to_have_text("title must not be empty")

    page.get_by_label("Deadline within (days)").fill("99999")
    page.get_by_label("Deadline within (days)").press("Enter")
    expect(alert).to_have_text("window must be a whole number of days between 0 and 36500")

    page.get_by_label("Deadline within (days)").fill("")
    page.get_by_label("Deadline within (days)").press("Enter")
    expect(alert).to_be_hidden()


def test_the_api_documentation_renders_every_operation_offline(page: Page):
    page.goto("/api/v1/docs")
    expect(page.get_by_role("heading", name=re.compile("TaskOverflow API"))).to_be_visible()
    for path in ("/api/v1/todos", "/api/v1/todos/{todo_id}", "/api/v1/todos/ical/{task_id}/result"):
        expect(page.get_by_text(path, exact=True).first).to_be_visible()
    # The API's ten, its three calendar feed operations, the AsyncAPI document, and how the page
    # signs in (auth-config).
    expect(page.locator(".opblock")).to_have_count(15)


def test_the_subscribe_link_is_shown_once_copied_and_replaced(page: Page, running_system):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=running_system.api_url)
    page.goto("/")
    page.get_by_role("button", name="Show subscribe link").click()
    address = page.get_by_label("Feed address")
    expect(address).to_have_value(re.compile(r"^http://127\.0\.0\.1:\d+/api/v1/calendar/feeds/[A-Za-z0-9_-]{43}\.ics$"))
    first = address.input_value()
    webcal = "webcal://" + first.removeprefix("http://")
    expect(page.get_by_role("link", name="Subscribe in your calendar app")).to_have_attribute("href", webcal)
    assert requests.get(first, timeout=10).headers["Content-Type"] == "text/calendar; charset=utf-8"

    page.get_by_role("button", name="Copy").click()
    expect(page.locator("#feed-status")).to_have_text("Link copied.")
    assert page.evaluate("navigator.clipboard.readText()") == first

    page.reload()
    page.get_by_role("button", name="Show subscribe link").click()
    expect(page.locator("#feed-status")).to_contain_text("shown when it was made")
    expect(address).to_be_hidden()

    page.get_by_role("button", name="New subscribe link").click()
    expect(address).not_to_have_value(first)
    expect(address).to_have_value(re.compile(r"/api/v1/calendar/feeds/[A-Za-z0-9_-]{43}\.ics$"))
    assert requests.get(address.input_value(), timeout=10).status_code == 200
    assert requests.get(first, timeout=10).status_code == 404
