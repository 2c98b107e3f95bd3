#!/usr/local/bin/python
"""Container entrypoint of the todo-api image: provide DATABASE_URL, then run the command.

On AWS the database password is generated and rotated by RDS and kept in Secrets Manager. ECS can
inject a secret only as a whole environment variable, not splice it into a URL, so the task gets
the parts (DB_HOST, DB_PORT, DB_NAME, DB_USERNAME, DB_PASSWORD, and optionally DB_SSLMODE and
DB_SSLROOTCERT) and this script assembles the URL the application reads, quoting the credentials
(a generated password may contain URL syntax) and verifying the server's certificate by default.

Where DATABASE_URL is already set (compose, `make run`) it is left alone. The command replaces
this process (exec), so signals reach it directly.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from urllib.parse import quote, urlencode

DRIVER = "postgresql+psycopg2"
PARTS = ("DB_HOST", "DB_NAME", "DB_USERNAME", "DB_PASSWORD")
# Where the image keeps the RDS certificate authorities (every region's, in one PEM file).
RDS_CA_BUNDLE = "/etc/ssl/certs/rds-global-bundle.pem"


def database_url(environ: Mapping[str, str]) -> str | None:
    """The URL to export, or None when DATABASE_URL is set already or the parts are absent."""
    if environ.get("DATABASE_URL") or not all(environ.get(part) for part in PARTS):
        return None
    user = quote(environ["DB_USERNAME"], safe="")
    password = quote(environ["DB_PASSWORD"], safe="")
    host = environ["DB_HOST"]
    port = environ.get("DB_PORT", "5432")
    name = quote(environ["DB_NAME"], safe="")
    # The RDS parameter group refuses plain connections (rds.force_ssl), and encryption alone
    # would still talk to whoever answers at DB_HOST: verify-full checks that the server's
    # certificate is signed by the RDS CA and names that host.
    query = {"sslmode": environ.get("DB_SSLMODE") or "verify-full"}
    if query["sslmode"].startswith("verify-"):
        query["sslrootcert"] = environ.get("DB_SSLROOTCERT") or RDS_CA_BUNDLE
    return f"{DRIVER}://{user}:{password}@{host}:{port}/{name}?{urlencode(query, safe='/')}"


def main(argv: list[str]) -> None:
    if not argv:
        sys.exit("usage: taskoverflow-entrypoint COMMAND [ARG...]")
    url = database_url(os.environ)
    if url is not None:
        os.environ["DATABASE_URL"] = url
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
