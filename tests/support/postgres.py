"""A private PostgreSQL cluster for the tests, from the installed initdb/pg_ctl.

initdb refuses to run as root (CI runs as root), so as root the cluster belongs to the
`postgres` system user, run through runuser.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.moto import free_port


class PostgresCluster:
    def __init__(self) -> None:
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="taskoverflow-pg-"))
        self.data = self.directory / "data"
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.directory, user="postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> PostgresCluster:
        initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
        self._run([initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"])
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run([pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.directory / "log"), "-w", "start"])
        return self

    def stop(self) -> None:
        self._run([_binary("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])
        shutil.rmtree(self.directory, ignore_errors=True)

    def _run(self, command: list[str]) -> None:
        subprocess.run(self.as_owner + command, check=True, capture_output=True, cwd=self.directory)


def _binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))), None)
    if not found:
        raise RuntimeError(f"{name} not found: install PostgreSQL's server binaries")
    return str(found)
