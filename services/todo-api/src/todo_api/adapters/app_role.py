"""The application's own PostgreSQL role: data privileges only, never the owner's.

The migration runs as the master user, who owns every table; the API, relay and consumer connect
as this role. `grant_app_role` creates it if need be and, on every run, sets its attributes, its
password and its grants, exactly as infra/terraform/README.md ("The migration step") specifies:
it can read and write rows, use the id sequences, read the Alembic revision, take row locks
(`FOR UPDATE SKIP LOCKED`) and advisory locks; it cannot create, alter, drop or truncate
anything, nor change the revision.

The password travels as a SCRAM-SHA-256 verifier computed here, never in clear: the RDS parameter
group logs every DDL statement. Names are quoted by psycopg2, never by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from psycopg2 import sql
from psycopg2.extensions import encrypt_password
from sqlalchemy import Connection

ROLE_ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS"
_STATEMENTS = (
    "REVOKE ALL ON DATABASE {database} FROM PUBLIC",
    "GRANT CONNECT ON DATABASE {database} TO {role}",
    "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
    "GRANT USAGE ON SCHEMA public TO {role}",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
    # It may read the revision (nothing needs more), never change it.
    "REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {role}",
    "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
    # For the tables and sequences later migrations add (created by this same owner).
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}",
)


@dataclass(frozen=True)
class AppRole:
    username: str
    password: str = field(repr=False)


def grant_app_role(connection: Connection, role: AppRole) -> None:
    """Create or update `role` and its grants, in the caller's transaction (PostgreSQL only)."""
    raw = connection.connection.driver_connection
    assert raw is not None
    name = sql.Identifier(role.username)
    with raw.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role.username,))
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE ROLE {role} LOGIN").format(role=name))
        verifier = encrypt_password(role.password, role.username, raw, "scram-sha-256")
        cursor.execute(
            sql.SQL("ALTER ROLE {role} WITH " + ROLE_ATTRIBUTES + " PASSWORD {verifier}").format(
                role=name, verifier=sql.Literal(verifier)
            )
        )
        cursor.execute("SELECT current_database()")
        (database,) = cursor.fetchone()
        for statement in _STATEMENTS:
            cursor.execute(sql.SQL(statement).format(role=name, database=sql.Identifier(database)))
