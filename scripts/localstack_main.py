"""LocalStack's main (`python -m localstack.runtime.main`), its gateway bound to GATEWAY_LISTEN's host.

Run by scripts/emulator.sh with LocalStack's own interpreter (.venv-localstack). LocalStack 4.13.1's
twisted gateway (GATEWAY_SERVER=twisted) listens on every IPv4 address whatever host GATEWAY_LISTEN
names: localstack/runtime/server/twisted.py makes `TCP4ServerEndpoint(reactor, port)` without the
`interface` (marked "TODO: interface = host?" there). So `GATEWAY_LISTEN=127.0.0.1:4566` still
answered on 0.0.0.0:4566. The hypercorn gateway honours the host but closes every connection (see
emulator.sh). Here each IPv4 endpoint LocalStack makes for a port of GATEWAY_LISTEN gets that
entry's host as its interface; nothing else of LocalStack changes.
"""

from __future__ import annotations

import runpy
from typing import Any

from twisted.internet import endpoints

_tcp4_endpoint = endpoints.TCP4ServerEndpoint


def _on_the_configured_host(reactor: Any, port: int, backlog: int = 50, interface: str = "") -> Any:
    if not interface:
        # Imported here: LocalStack's main prepares the environment its config reads.
        from localstack import config

        interface = next((listen.host for listen in config.GATEWAY_LISTEN if listen.port == port), "")
    return _tcp4_endpoint(reactor, port, backlog, interface)


endpoints.TCP4ServerEndpoint = _on_the_configured_host  # type: ignore[assignment,misc]
runpy.run_module("localstack.runtime.main", run_name="__main__", alter_sys=True)
