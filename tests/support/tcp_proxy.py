"""A TCP forwarder that can be switched off and on, or made to hang: an outage, on demand, for tests.

`stop()` is a dead peer: connections are refused and cut. `hang()` is a stuck one: connections
are accepted and what clients send is swallowed, so they wait for an answer that never comes,
until `resume()`, which cuts the connections held meanwhile and forwards again. Nothing sent
during a hang reaches the target, and what the target already received is answered as usual.
"""

from __future__ import annotations

import contextlib
import socket
import threading

from tests.support.moto import free_port


class TcpProxy:
    def __init__(self, target_port: int, port: int | None = None) -> None:
        self.target_port = target_port
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._listener: socket.socket | None = None
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self._forwarding = threading.Event()
        self._forwarding.set()

    def start(self) -> TcpProxy:
        listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Refuse new connections and cut open ones, as a dead broker would."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            for connection in self._connections:
                # shutdown() first: close() alone leaves the socket open while a pipe thread
                # is blocked reading it, and the client would hang instead of seeing it drop.
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            self._connections.clear()

    def hang(self) -> None:
        """Accept connections but answer nothing: requests are swallowed until `resume()`."""
        self._forwarding.clear()

    def resume(self) -> None:
        """Cut the connections held during the hang and forward again."""
        self._forwarding.set()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if not self._forwarding.is_set():
                threading.Thread(target=self._hold, args=(client,), daemon=True).start()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()  # the target itself is down: the client sees the connection drop
                continue
            with self._lock:
                self._connections += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _hold(self, client: socket.socket) -> None:
        """A connection accepted during a hang: it never reaches the target, and is cut on resume."""
        self._forwarding.wait()
        with contextlib.suppress(OSError):
            client.shutdown(socket.SHUT_RDWR)
        client.close()

    def _pipe(self, source: socket.socket, sink: socket.socket, towards_target: bool) -> None:
        try:
            while chunk := source.recv(65536):
                if towards_target and not self._forwarding.is_set():
                    self._forwarding.wait()  # swallowed: the request never arrives, then the cut
                    break
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
