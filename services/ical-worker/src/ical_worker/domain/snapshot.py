"""The claim-check snapshot format: NDJSON, one TodoState JSON object per line, UTF-8.

The todo-api writes it and puts its size and SHA-256 into the CalendarRequested event; here the
bytes are checked against both before one line is trusted. The shape of a line is the message
contract's TodoState, so it is validated by that one schema from shared/ (pure: no I/O).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache

from pydantic import ValidationError

from ical_worker.domain.calendar import DEFAULT_CACHE_SIZE
from ical_worker.domain.errors import InvalidSnapshot
from taskoverflow_shared.events import S3ObjectRef, TodoState, first_problem


class SnapshotDecoder:
    """Checks and decodes snapshots, remembering the todo parsed from each distinct line.

    Repeated exports of a mostly unchanged todo list carry mostly the same lines; JSON parsing
    and validation is then the biggest cost of a job, so a line seen before is not parsed again.
    A hit is exact (the key is the whole line) and safe to share (TodoState is frozen).
    `cache_size=0` turns the cache off.
    """

    def __init__(self, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        parse = TodoState.model_validate_json
        self._parse_line: Callable[[bytes], TodoState] = lru_cache(maxsize=cache_size)(parse) if cache_size else parse

    def decode(self, body: bytes, ref: S3ObjectRef) -> list[TodoState]:
        """The todos in a snapshot, after checking its size and SHA-256 against the reference.

        Raises InvalidSnapshot naming the first thing wrong: size, checksum, or the line number
        of a line that is not a TodoState (a blank line too; only a final newline is allowed).
        """
        if len(body) != ref.size_bytes:
            raise InvalidSnapshot(f"snapshot {ref.key} is {len(body)} bytes, the request says {ref.size_bytes}")
        digest = hashlib.sha256(body).hexdigest()
        if digest != ref.sha256:
            raise InvalidSnapshot(f"snapshot {ref.key} has sha256 {digest}, the request says {ref.sha256}")
        if not body:
            return []
        lines = body.split(b"\n")
        if lines[-1] == b"":
            lines.pop()
        todos = []
        for number, line in enumerate(lines, start=1):
            try:
                todos.append(self._parse_line(line))
            except ValidationError as invalid:
                detail = first_problem(invalid, whole=None)
                raise InvalidSnapshot(f"snapshot {ref.key} line {number} is not a todo ({detail})") from invalid
        return todos
