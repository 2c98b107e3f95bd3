"""`make run` as a developer starts it, with nothing set but the ports (tests.support.make_run):
everything it listens on is this machine's loopback, the API keeps answering while slow clients
hold connections, its metrics are not on its public port, and it has no rate limits and says so."""

from __future__ import annotations

import ipaddress
import time

import pytest
import requests

from tests.support.make_run import MakeRun, listening_sockets
from tests.support.slow_clients import SlowClients, health_seconds

SLOW_CLIENTS = 64
# Generous for a loaded two-core machine: with the slow clients holding the server's threads,
# /health does not answer at all.
PROMPT_SECONDS = 5.0


@pytest.fixture(scope="module")
def make_run(tmp_path_factory):
    run = MakeRun(tmp_path_factory.mktemp("make-run")).start()
    yield run
    run.stop()


def test_every_socket_make_run_listens_on_is_loopback(make_run):
    listening = listening_sockets(make_run.pids())

    assert {port for _, port in listening} >= set(make_run.ports.values()), listening
    assert all(ipaddress.ip_address(address).is_loopback for address, _ in listening), sorted(listening)


def test_health_answers_promptly_while_slow_clients_hold_connections(make_run):
    port = make_run.ports["API_PORT"]
    with SlowClients("127.0.0.1", port, SLOW_CLIENTS) as slow:
        for _ in range(3):
            assert slow.trickle() == SLOW_CLIENTS
            answered_in = health_seconds(make_run.api_url, timeout=PROMPT_SECONDS)
            assert answered_in is not None, f"/health did not answer within {PROMPT_SECONDS} s"


def test_metrics_are_served_on_the_metrics_port_only(make_run):
    assert requests.get(f"{make_run.api_url}/metrics", timeout=10).status_code == 404
    scrape = requests.get(f"http://127.0.0.1:{make_run.ports['API_METRICS_PORT']}/metrics", timeout=10)
    assert scrape.status_code == 200
    assert "taskoverflow_http_requests_total" in scrape.text


def test_make_run_has_no_rate_limits_and_says_so_at_start(make_run):
    api = f"{make_run.api_url}/api/v1"
    session = requests.Session()
    # Past the deployed limits (120 writes and 6 calendars a minute per client).
    created = [session.post(f"{api}/todos", json={"title": f"burst {n}"}, timeout=10).status_code for n in range(150)]
    calendars = [session.post(f"{api}/todos/ical", timeout=10).status_code for _ in range(10)]

    assert set(created) == {201}
    assert set(calendars) == {202}
    deadline = time.monotonic() + 30
    while "rate limits off" not in make_run.output and time.monotonic() < deadline:
        time.sleep(0.2)  # honcho's output reaches the log file on its own schedule
    assert "rate limits off" in make_run.output
