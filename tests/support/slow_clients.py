"""Slow clients (slowloris): sockets that send a request's headers a few bytes at a time and never
finish them, holding whatever the server gives a connection while it reads a request.

    with SlowClients("127.0.0.1", 6400, count=16) as slow:
        ...  # the server has 16 half-sent requests open
        slow.trickle()  # one more header line on each, as a slowloris does every few seconds
"""

from __future__ import annotations

import socket
import time
from types import TracebackType

import requests


class SlowClients:
    """`count` connections, each with a request line and one header sent, the rest never."""

    def __init__(self, host: str, port: int, count: int) -> None:
        self.host, self.port, self.count = host, port, count
        self.sockets: list[socket.socket] = []
        self._lines = 0

    def __enter__(self) -> SlowClients:
        for _ in range(self.count):
            connection = socket.create_connection((self.host, self.port), timeout=5)
            connection.sendall(f"GET /api/v1/health HTTP/1.1\r\nHost: {self.host}\r\n".encode())
            self.sockets.append(connection)
        return self

    def trickle(self) -> int:
        """One more header line on every socket the server has not closed; how many are still open."""
        self._lines += 1
        still_open = []
        for connection in self.sockets:
            try:
                connection.sendall(f"X-Slow-{self._lines}: {'a' * 8}\r\n".encode())
                still_open.append(connection)
            except OSError:
                connection.close()
        self.sockets = still_open
        return len(still_open)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        for connection in self.sockets:
            connection.close()


def health_seconds(api_url: str, timeout: float) -> float | None:
    """How long `GET /api/v1/health` took to answer 200, or None if it did not within `timeout`."""
    started = time.perf_counter()
    try:
        answer = requests.get(f"{api_url}/api/v1/health", timeout=timeout)
    except requests.RequestException:
        return None
    return time.perf_counter() - started if answer.status_code == 200 else None
