"""The todo-api's settings, read once at start by the shared reader (taskoverflow_shared.settings).

The API, the relay and the consumer read the same variables; the two workers add the shared
runtime's (HEARTBEAT_FILE, TODO_API_STARTUP_WAIT_SECONDS, TODO_API_RECEIVE_WAIT_SECONDS).
AWS_* are boto3's, TASKOVERFLOW_TOPIC_ARN is shared/addresses.py's, LOG_LEVEL logging_setup's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from limits import parse_many
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from taskoverflow_shared.settings import ConsumerSettings, ServiceSettings, WorkerSettings

SERVICE = "todo-api"
DEFAULT_SQLITE_PATH = Path("data") / "todo-api.sqlite3"
# Inline todos ride inside the CalendarRequested message, whose envelope adds a few KiB: above
# this the message could pass SQS's 256 KiB limit and the relay could never publish it.
MAX_INLINE_TODOS_BYTES = 240 * 1024
RATE_LIMIT_OFF = "off"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TODO_API_", validate_by_name=True)
    service = SERVICE

    database_url: str = Field(
        f"sqlite:///{DEFAULT_SQLITE_PATH}",
        min_length=1,
        validation_alias="DATABASE_URL",
        description="the database; or `postgresql+psycopg2://user:pass@host/db`",
    )
    public_base_url: str | None = Field(
        None,
        validation_alias="PUBLIC_BASE_URL",
        description="the address clients reach the API at, base of `task_url` / `result_url` and e-mailed "
        "links. Unset: the request's host",
    )
    calendar_job_deadline_seconds: float = Field(
        300.0,
        gt=0,
        validation_alias="CALENDAR_JOB_DEADLINE_SECONDS",
        description="after this, the sweeper fails an unfinished calendar job",
    )
    # Finished jobs hold e-mail addresses, hence their retention.
    calendar_sweep_interval_seconds: float = Field(
        10.0,
        gt=0,
        le=3600,
        validation_alias="CALENDAR_SWEEP_INTERVAL_SECONDS",
        description="how often the sweeper (in todo-api-consumer) looks for overdue and expired jobs",
    )
    calendar_sweep_batch_size: int = Field(
        200, gt=0, le=10_000, validation_alias="CALENDAR_SWEEP_BATCH_SIZE", description="jobs per sweeper transaction"
    )
    calendar_job_retention_days: float = Field(
        7.0, gt=0, validation_alias="CALENDAR_JOB_RETENTION_DAYS", description="finished jobs are deleted after this"
    )
    # Far longer than any client goes on retrying one request.
    idempotency_key_retention_hours: float = Field(
        24.0,
        gt=0,
        validation_alias="IDEMPOTENCY_KEY_RETENTION_HOURS",
        description="the sweeper forgets `Idempotency-Key`s older than this",
    )
    inline_todos_max_bytes: int = Field(
        128 * 1024,
        gt=0,
        le=MAX_INLINE_TODOS_BYTES,
        validation_alias="CALENDAR_INLINE_TODOS_MAX_BYTES",
        description="a calendar request's todos up to this size travel inline in the event; larger sets go "
        "by S3 snapshot (claim check)",
    )
    relay_poll_interval_seconds: float = Field(
        0.1,
        gt=0,
        validation_alias="OUTBOX_RELAY_POLL_SECONDS",
        description="idle wait between outbox polls of each lane (bounds the outbox lag)",
    )
    relay_batch_size: int = Field(
        100, gt=0, le=10_000, validation_alias="OUTBOX_RELAY_BATCH_SIZE", description="rows per relay transaction"
    )
    relay_publish_threads: int = Field(
        4,
        gt=0,
        le=32,
        validation_alias="OUTBOX_RELAY_PUBLISH_THREADS",
        description="concurrent `PublishBatch` streams per claimed batch (a subject stays in one)",
    )
    outbox_max_attempts: int = Field(
        20,
        gt=0,
        le=1000,
        validation_alias="OUTBOX_MAX_ATTEMPTS",
        description="a row that keeps failing on its own (not in an outage) is parked after this many tries",
    )
    outbox_retention_hours: float = Field(
        168.0,
        gt=0,
        validation_alias="OUTBOX_RETENTION_HOURS",
        description="published outbox rows are deleted by the relay once older than this; pending and "
        "parked rows never",
    )
    status_long_polls: int = Field(
        3,
        gt=0,
        le=64,
        validation_alias="CALENDAR_STATUS_LONG_POLLS",
        description="`?wait=` long polls one API process holds at once (more answer at once); keep below "
        "the server's threads (`todo-api-serve --threads`, 8)",
    )
    # Terraform passes the three from the Cognito user pool; `make run` sets none.
    auth_jwks_url: str | None = Field(
        None,
        validation_alias="AUTH_JWKS_URL",
        description="the OIDC issuer's key set. `AUTH_JWKS_URL`, `AUTH_ISSUER` and `AUTH_AUDIENCE`: all "
        "three (bearer tokens required) or none (no authentication); a start with some is refused",
    )
    auth_issuer: str | None = Field(None, validation_alias="AUTH_ISSUER", description="the `iss` tokens must carry")
    auth_audience: str | None = Field(
        None,
        validation_alias="AUTH_AUDIENCE",
        description="the audience tokens must name (`aud`, or `client_id` in a token without `aud`)",
    )
    auth_client_id: str | None = Field(
        None,
        validation_alias="AUTH_CLIENT_ID",
        description="the OAuth client the web page signs in as, when it is not `AUTH_AUDIENCE`",
    )
    # Flask-Limiter's notation, or "off": `make run` runs without them, since load tests, the
    # benchmarks and a 3,000-todo calendar go past any limit a person would hit; compose and
    # Terraform set them. entrypoints/request_limits.py says how they count.
    rate_limit_writes: str = Field(
        "120/minute",
        validation_alias="RATE_LIMIT_WRITES",
        description="creates, changes and deletes of todos per client (the signed-in user, else the client "
        "address), e.g. `1000 per hour; 20/second`, or `off`; past it 429 with `Retry-After`",
    )
    rate_limit_calendars: str = Field(
        "6/minute", validation_alias="RATE_LIMIT_CALENDARS", description="`POST /todos/ical` per client, or `off`"
    )
    rate_limit_storage_uri: str = Field(
        "memory://",
        min_length=1,
        validation_alias="RATE_LIMIT_STORAGE_URI",
        description="where the limits count: `memory://` counts in each API process (each "
        "task), so a client gets up to N times the limit; `redis://…` or `memcached://…` share one count",
    )
    trusted_proxy_count: int = Field(
        0,
        ge=0,
        le=5,
        validation_alias="TRUSTED_PROXY_COUNT",
        description="proxies in front of the API that append to `X-Forwarded-For` (1 behind the ALB; "
        "Terraform sets it); 0 believes no header",
    )

    @field_validator("rate_limit_writes", "rate_limit_calendars")
    @classmethod
    def _a_rate_limit(cls, limit: str) -> str:
        if limit.strip().lower() == RATE_LIMIT_OFF:
            return RATE_LIMIT_OFF
        try:
            parse_many(limit)
        except ValueError:
            raise ValueError(f"{limit!r} is not a rate limit such as '120/minute' (or 'off')") from None
        return limit

    @field_validator("public_base_url")
    @classmethod
    def _without_trailing_slash(cls, url: str | None) -> str | None:
        return url.rstrip("/") or None if url else None

    @model_validator(mode="after")
    def _all_auth_settings_or_none(self) -> Settings:
        given = {
            "AUTH_JWKS_URL": self.auth_jwks_url,
            "AUTH_ISSUER": self.auth_issuer,
            "AUTH_AUDIENCE": self.auth_audience,
        }
        missing = [name for name, value in given.items() if not value]
        if len(missing) not in (0, len(given)):
            # Half an issuer would verify tokens against nothing: refuse to start instead.
            raise ValueError("\n".join(f"{name} is required when any AUTH_* is set" for name in missing))
        if self.auth_client_id and not self.auth_jwks_url:
            raise ValueError("AUTH_CLIENT_ID needs AUTH_JWKS_URL, AUTH_ISSUER and AUTH_AUDIENCE")
        return self

    @property
    def auth_enabled(self) -> bool:
        return self.auth_jwks_url is not None

    @property
    def page_client_id(self) -> str | None:
        """The OAuth client the web page signs in as."""
        return self.auth_client_id or self.auth_audience


class MigrationSettings(Settings):
    """`todo-api-migrate`: the API's settings (DATABASE_URL as the owner) plus the application's
    role to create or update; unset, none is (SQLite, compose and `make run` connect as the owner)."""

    app_db_username: str = Field(
        "",
        validation_alias="APP_DB_USERNAME",
        description="on PostgreSQL, the application role the migration creates or updates with its grants "
        "(infra/terraform/README.md); unset under `make run` and compose",
    )
    app_db_password: SecretStr = Field(
        SecretStr(""), validation_alias="APP_DB_PASSWORD", description="that role's password"
    )

    @model_validator(mode="after")
    def _password_with_username(self) -> Self:
        if self.app_db_username and not self.app_db_password.get_secret_value():
            raise ValueError("APP_DB_PASSWORD is required when APP_DB_USERNAME is set")
        return self


class RelaySettings(Settings, WorkerSettings):
    """The outbox relay: the API's settings plus the shared worker runtime's."""

    # Named again: otherwise WorkerSettings' configuration, merged last, drops the prefix.
    model_config = Settings.model_config


class ConsumerProcessSettings(Settings, ConsumerSettings):
    """The consumer of calendar outcomes: the API's settings plus the shared consumer loop's."""

    model_config = Settings.model_config
