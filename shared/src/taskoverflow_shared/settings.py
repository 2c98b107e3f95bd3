"""One way for every service to read its settings from the environment (pydantic-settings).

A service declares its settings as a `ServiceSettings` subclass: one typed field per variable,
with its default and its bounds, named `<env_prefix><FIELD NAME>` (or by a `validation_alias`
for a variable shared by several services, like `PUBLIC_BASE_URL`). `from_environment()` reads
them once at start and either returns valid settings or raises `SettingsError`, which lists
every problem at once, each naming its variable, so a misconfigured deployment fails fast with
one readable message instead of at the first event.

Rules that span several variables belong in `model_validator(mode="after")`: they run once the
variables they read are valid (a variable that is not is left out and its default used for
them), so their problems are reported together with the others.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from taskoverflow_shared.topology import QueueSpec, load_topology


class SettingsError(Exception):
    """The environment does not describe a runnable service; `problems` lists every reason, by variable."""

    def __init__(self, service: str, problems: list[str]) -> None:
        super().__init__(f"invalid {service} configuration:\n" + "\n".join(f"  - {p}" for p in problems))
        self.service = service
        self.problems = problems


class ServiceSettings(BaseSettings):
    """Base of every service's settings; subclasses set `service` and `env_prefix`."""

    # Empty variables count as unset (compose and Terraform write `NAME=` for "no value").
    model_config = SettingsConfigDict(frozen=True, env_ignore_empty=True, extra="ignore")

    service: ClassVar[str]

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The settings `environ` (the process environment when None) describes; SettingsError if invalid."""
        variables = {name: value.strip() for name, value in (os.environ if environ is None else environ).items()}
        problems: list[str] = []
        # Each round leaves out the variables the one before refused, so the rules spanning several
        # variables still run on the valid ones and every problem is found in one start.
        while True:
            try:
                settings = cls._validated(variables)
            except ValidationError as invalid:
                refused = cls._problems(invalid, variables, problems)
                if not refused:
                    raise SettingsError(cls.service, problems) from None
                variables = {name: value for name, value in variables.items() if name not in refused}
                continue
            if problems:
                raise SettingsError(cls.service, problems)
            return settings

    @classmethod
    def variable(cls, field_name: str) -> str:
        """The environment variable a field is read from."""
        field = cls.model_fields[field_name]
        if isinstance(field.validation_alias, str):
            return field.validation_alias
        return f"{cls.model_config.get('env_prefix', '')}{field_name.upper()}"

    @classmethod
    def _validated(cls, variables: Mapping[str, str]) -> Self:
        return cls(**_MappingSource(cls, variables)())

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # `from_environment` reads the environment it was given and passes it in: no other source.
        return (init_settings,)

    @classmethod
    def _problems(cls, invalid: ValidationError, variables: Mapping[str, str], problems: list[str]) -> set[str]:
        """Add the new problems to `problems`; return the variables to leave out of the next round."""
        refused: set[str] = set()
        # An error names a field by its name, or by its alias when it has one.
        fields_by_key = {key: name for name in cls.model_fields for key in (name, cls.variable(name))}
        for error in invalid.errors():
            field_name = fields_by_key.get(str(error["loc"][0])) if error["loc"] else None
            if field_name is None:
                # A rule spanning several variables reports each broken one on a line of its own.
                new = _message(error).splitlines()
            else:
                name = cls.variable(field_name)
                new = [_field_problem(name, cls.model_fields[field_name], error)]
                if name in variables:
                    refused.add(name)
            problems.extend(problem for problem in new if problem not in problems)
        return refused


class WorkerSettings(ServiceSettings):
    """What the shared worker runtime reads, under the service's prefix (see worker_runtime.py)."""

    # `make run` bootstraps the topology beside the workers, hence the wait.
    startup_wait_seconds: int = Field(
        60, ge=0, le=3600, description="how long to wait at start for the emulator and the queues"
    )
    heartbeat_file: Path | None = Field(
        None,
        validation_alias="HEARTBEAT_FILE",
        description="touched every few seconds while the loop shows progress (each receive, each message, "
        "each archive put); `taskoverflow-healthcheck` checks its age. Unset: no heartbeat",
    )
    heartbeat_max_silence_seconds: float = Field(
        30.0,
        gt=0,
        validation_alias="HEARTBEAT_MAX_SILENCE_SECONDS",
        description="the longest one step of the loop may take; after that the heartbeat stops, so the "
        "health check replaces a stuck worker",
    )


class ConsumerSettings(WorkerSettings):
    """A worker that drains a queue with the shared consumer loop."""

    receive_wait_seconds: int = Field(
        default_factory=lambda: load_topology().receive_wait_time_seconds,
        ge=0,
        le=20,
        description="SQS long-poll wait; a stop that cannot cut a poll short waits this long at most",
    )

    @property
    def queue(self) -> QueueSpec:
        """The service's queue in the topology (its name, DLQ, visibility timeout)."""
        return load_topology().queue_for(self.service)


class _MappingSource(EnvSettingsSource):
    """pydantic-settings' environment source, on a mapping a caller (or a test) passes in."""

    def __init__(self, settings_cls: type[BaseSettings], variables: Mapping[str, str]) -> None:
        self._variables = variables
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # The hook pydantic-settings' own .env source overrides, for the same purpose. Names
        # match whatever their case (as the source does by default); an empty value is unset.
        return {name.lower(): value for name, value in self._variables.items() if value}


_TYPE_WORDS = {
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_parsing": "a number",
    "bool_parsing": "true or false",
}
_BOUND_WORDS = {
    "greater_than_equal": ("at least", "ge"),
    "greater_than": ("more than", "gt"),
    "less_than_equal": ("at most", "le"),
    "less_than": ("less than", "lt"),
}


def _field_problem(name: str, field: FieldInfo, error: Any) -> str:
    """`NAME must be …, not 'value'`: what the variable must be, in words an operator reads."""
    value = error.get("input")
    if error["type"] in _TYPE_WORDS:
        return f"{name} must be {_TYPE_WORDS[error['type']]}, not {value!r}"
    if error["type"] in _BOUND_WORDS:
        low, high = _constraint(field, "ge"), _constraint(field, "le")
        if low is not None and high is not None:
            return f"{name} must be between {low:g} and {high:g}, not {value}"
        words, key = _BOUND_WORDS[error["type"]]
        return f"{name} must be {words} {error['ctx'][key]:g}, not {value}"
    message = _message(error)
    return message if name in message else f"{name}: {message}"


def _constraint(field: FieldInfo, key: str) -> float | None:
    return next((getattr(c, key) for c in field.metadata if getattr(c, key, None) is not None), None)


def _message(error: Any) -> str:
    """A validator's own words: ValueError("X") reaches pydantic as "Value error, X"."""
    return str(error["msg"]).removeprefix("Value error, ")
