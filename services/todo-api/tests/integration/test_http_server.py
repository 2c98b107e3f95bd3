"""todo-api-serve's waitress server, on a real socket: what reaches the app, and slow clients."""

from __future__ import annotations

import threading

import pytest
import requests

from tests.support.slow_clients import SlowClients
from todo_api.entrypoints.http_server import THREADS, http_server


def echo_forwarded_for(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ.get("HTTP_X_FORWARDED_FOR", "").encode()]


@pytest.fixture
def server():
    serving = http_server(echo_forwarded_for, "127.0.0.1", 0)
    thread = threading.Thread(target=serving.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{serving.effective_port}", serving.effective_port
    serving.close()
    serving.task_dispatcher.shutdown()


def test_x_forwarded_for_reaches_the_app_for_its_proxy_fix_to_judge(server):
    url, _ = server
    answer = requests.get(url, headers={"X-Forwarded-For": "198.51.100.9, 203.0.113.1"}, timeout=10)

    assert answer.text == "198.51.100.9, 203.0.113.1"


def test_more_slow_clients_than_threads_leave_every_thread_free(server):
    url, port = server
    with SlowClients("127.0.0.1", port, THREADS * 4) as slow:
        slow.trickle()
        answers = [requests.get(url, timeout=5).status_code for _ in range(THREADS + 1)]

    assert answers == [200] * (THREADS + 1)
