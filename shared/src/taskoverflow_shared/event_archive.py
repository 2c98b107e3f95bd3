"""The event archive's format in S3: written by the event-archiver, read by operators (replay, query).

Layout — one prefix per hour of the events' own `time` (UTC), one object per archiver flush:

    event-archive/2026/11/27/23/1795820701123-3f2a9c0d1e4b5a69.ndjson
    └ prefix ────┘└ event hour ┘└ first arrival ┘└ content hash ┘

- Partitioning by event time (not by arrival) means a query for a time window lists and reads
  only the hours of that window. Two copies of one event share its `time`, hence its hour, so
  de-duplicating within the hours a query reads is complete.
- The file name starts with the earliest arrival in the object (milliseconds since the epoch, 13
  digits, so names sort by it) and ends with a hash of the content: an archiver that crashed
  after a PutObject and stores the same batch again rewrites the same object instead of adding one.
- Each line is one event, in arrival order: `{"arrived_at": "<ISO 8601, ms, Z>", "envelope": {...}}`.
  `arrived_at` is when SQS received the message (SentTimestamp); `envelope` is the envelope exactly
  as it was delivered (byte for byte, but for line breaks between JSON tokens, which NDJSON cannot hold).

Delivery is at least once, so an event may be stored twice (a redelivery after a crash or a
failed delete). `read_archive` yields every event once, in arrival order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from taskoverflow_shared.events import Envelope, UnprocessableEvent, first_problem

ARCHIVE_CONTENT_TYPE = "application/x-ndjson"
OBJECT_SUFFIX = ".ndjson"
_HASH_CHARACTERS = 16
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_END_OF_TIME = datetime.max.replace(tzinfo=UTC)


class ArchiveFormatError(ValueError):
    """An archive object holds a line this module did not write; `key` and `line` say where."""

    def __init__(self, key: str, line: int, reason: str) -> None:
        super().__init__(f"{key}:{line}: {reason}")
        self.key = key
        self.line = line


# --- writing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchiveEntry:
    """One event on its way into the archive: its envelope text as received and when it arrived."""

    envelope_json: str
    envelope: Envelope
    arrived_at: datetime

    @classmethod
    def from_envelope_json(cls, envelope_json: str, arrived_at: datetime) -> ArchiveEntry:
        """Raises UnprocessableEvent, with the first problem as its reason, when the text is not an envelope.

        Any well-formed envelope is kept, whatever its type or schema version: the archive records
        what was published, it does not judge whether a consumer can handle it.
        """
        try:
            envelope = Envelope.model_validate_json(envelope_json)
        except ValidationError as invalid:
            raise UnprocessableEvent(f"invalid envelope: {first_problem(invalid)}") from invalid
        return cls(envelope_json, envelope, _utc(arrived_at))

    @property
    def event_id(self) -> str:
        return self.envelope.id

    @property
    def event_time(self) -> datetime:
        return _utc(self.envelope.time)

    def line(self) -> str:
        # JSON strings cannot hold raw line breaks, so any in the text lie between tokens and
        # can become spaces: the envelope stays what was delivered, and one line.
        single_line = self.envelope_json.replace("\r", " ").replace("\n", " ")
        return f'{{"arrived_at":"{_iso_milliseconds(self.arrived_at)}","envelope":{single_line}}}\n'


@dataclass(frozen=True)
class ArchiveObject:
    """One NDJSON object to put: the events of one event-time hour, in arrival order."""

    key: str
    body: bytes
    event_count: int


def archive_objects(entries: Iterable[ArchiveEntry], prefix: str) -> list[ArchiveObject]:
    """Group `entries` into one object per event hour; an event id given twice is written once."""
    by_hour: dict[datetime, dict[str, ArchiveEntry]] = {}
    for entry in sorted(entries, key=lambda entry: entry.arrived_at):
        hour = entry.event_time.replace(minute=0, second=0, microsecond=0)
        by_hour.setdefault(hour, {}).setdefault(entry.event_id, entry)
    objects = []
    for hour, unique_entries in sorted(by_hour.items()):
        lines = list(unique_entries.values())
        body = "".join(entry.line() for entry in lines).encode()
        objects.append(
            ArchiveObject(key=object_key(prefix, hour, lines[0].arrived_at, body), body=body, event_count=len(lines))
        )
    return objects


def hour_prefix(prefix: str, moment: datetime) -> str:
    """The partition holding events whose `time` falls in the hour of `moment`: `<prefix>YYYY/MM/DD/HH/`."""
    return f"{prefix}{_utc(moment):%Y/%m/%d/%H}/"


def object_key(prefix: str, event_hour: datetime, first_arrival: datetime, body: bytes) -> str:
    return _key_in_partition(hour_prefix(prefix, event_hour), first_arrival, body)


def _key_in_partition(partition: str, first_arrival: datetime, body: bytes) -> str:
    arrival_ms = _epoch_milliseconds(first_arrival)
    content_hash = hashlib.sha256(body).hexdigest()[:_HASH_CHARACTERS]
    return f"{partition}{arrival_ms:013d}-{content_hash}{OBJECT_SUFFIX}"


# --- rewriting (erasure) -----------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectRewrite:
    """An archive object without the events an erasure covers.

    Apply it by putting `body` at `key` (unless `key` is None: nothing is left), then deleting
    `old_key`. The new name follows the same rule as every object's (first arrival, content
    hash), so a rewrite interrupted between the two steps and run again puts the same object
    again and then deletes the old one; meanwhile readers see each kept event twice and, as
    with any redelivery, list it once.
    """

    old_key: str
    key: str | None
    body: bytes
    removed: int
    kept: int


def object_without(key: str, body: bytes, erased: Callable[[Envelope], bool]) -> ObjectRewrite | None:
    """The object at `key` without the events `erased` covers; None when it holds none of them.

    Kept lines stay byte for byte as they were; the object stays in its hour partition.
    """
    lines = body.split(b"\n")
    kept: list[tuple[bytes, datetime]] = []
    removed = 0
    for number, event in _parse_object(key, body):
        if erased(event.envelope):
            removed += 1
        else:
            kept.append((lines[number - 1], event.arrived_at))
    if not removed:
        return None
    if not kept:
        return ObjectRewrite(old_key=key, key=None, body=b"", removed=removed, kept=0)
    new_body = b"".join(line + b"\n" for line, _ in kept)
    partition = key.rsplit("/", 1)[0] + "/"
    first_arrival = min(arrived_at for _, arrived_at in kept)
    new_key = _key_in_partition(partition, first_arrival, new_body)
    return ObjectRewrite(old_key=key, key=new_key, body=new_body, removed=removed, kept=len(kept))


def archive_object_keys(s3: Any, bucket: str, prefix: str) -> Iterator[str]:
    """Every archive object's key, partition by partition, oldest first."""
    for partition in archive_partitions(s3, bucket, prefix):
        yield from _object_keys(s3, bucket, partition)


# --- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchivedEvent:
    envelope: Envelope
    arrived_at: datetime
    key: str


@dataclass(frozen=True)
class ArchiveScan:
    """What a query found: the events (each once, in arrival order) and what it skipped or read."""

    events: list[ArchivedEvent]
    duplicates_skipped: int
    objects_read: int


def archived_events(s3: Any, bucket: str, prefix: str) -> Iterator[ArchivedEvent]:
    """Every archived event, object by object, as stored: duplicates included, one object held at
    a time. For a pass over the whole archive that needs neither order nor a window."""
    for key in archive_object_keys(s3, bucket, prefix):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        for _number, event in _parse_object(key, body):
            yield event


def read_archive(
    s3: Any,
    bucket: str,
    prefix: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    types: Collection[str] | None = None,
    subject: str | None = None,
) -> list[ArchivedEvent]:
    """The archived events with `since <= time < until`, of one of `types`, about `subject`.

    Each event once, in arrival order. None means "no limit"; naive datetimes are taken as UTC.
    """
    return scan_archive(s3, bucket, prefix, since=since, until=until, types=types, subject=subject).events


def scan_archive(
    s3: Any,
    bucket: str,
    prefix: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    types: Collection[str] | None = None,
    subject: str | None = None,
    objects_from: datetime | None = None,
) -> ArchiveScan:
    """`read_archive`, also counting the duplicate copies it skipped and the objects it read.

    `objects_from` skips, unread, every object whose first event arrived before it (the object's
    name says when): a reader after recent arrivals, such as `taskoverflow status`, then reads a
    few objects instead of the whole hour. The caller picks a bound early enough for the batches
    it wants; a batch's events arrive within its writer's buffering time of its first.
    """
    since_utc = _utc(since) if since else None
    first_arrival_from_ms = _epoch_milliseconds(objects_from) if objects_from else None
    until_utc = _utc(until) if until else None
    wanted_types = set(types) if types is not None else None
    found: list[tuple[int, str, int, ArchivedEvent]] = []
    objects_read = 0
    for partition in archive_partitions(s3, bucket, prefix, since=since_utc, until=until_utc):
        for key in _object_keys(s3, bucket, partition):
            if first_arrival_from_ms is not None and _first_arrival_ms(key) < first_arrival_from_ms:
                continue
            objects_read += 1
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            for number, event in _parse_object(key, body):
                envelope = event.envelope
                time = _utc(envelope.time)
                if (since_utc and time < since_utc) or (until_utc and time >= until_utc):
                    continue
                if wanted_types is not None and envelope.type not in wanted_types:
                    continue
                if subject is not None and envelope.subject != subject:
                    continue
                found.append((_epoch_milliseconds(event.arrived_at), key, number, event))
    # Objects are read in key order, but a late event of an earlier hour may have arrived after
    # an event of a later one: arrival order needs one sort over the window.
    found.sort(key=lambda item: item[:3])
    seen: set[str] = set()
    events = []
    for *_, event in found:
        if event.envelope.id not in seen:
            seen.add(event.envelope.id)
            events.append(event)
    return ArchiveScan(events=events, duplicates_skipped=len(found) - len(events), objects_read=objects_read)


def archive_partitions(
    s3: Any, bucket: str, prefix: str, *, since: datetime | None = None, until: datetime | None = None
) -> list[str]:
    """The hour prefixes that exist and overlap `[since, until)`, oldest first.

    Walks year → month → day → hour with delimiter listings, descending only into the periods
    that overlap the window, so a narrow query never lists the rest of the archive.
    """
    since = _utc(since) if since else None
    until = _utc(until) if until else None
    periods = [prefix]
    for _level in range(4):  # year, month, day, hour
        overlapping = []
        for period in periods:
            for child in _child_prefixes(s3, bucket, period):
                bounds = _period_bounds(child[len(prefix) :])
                if bounds is None:
                    continue  # not a partition this module wrote
                start, end = bounds
                if (until is None or start < until) and (since is None or end > since):
                    overlapping.append(child)
        periods = sorted(overlapping)
    return periods


def _parse_object(key: str, body: bytes) -> Iterator[tuple[int, ArchivedEvent]]:
    # Split on "\n" only: str.splitlines would also break at U+2028, which JSON strings may hold.
    for number, raw_line in enumerate(body.split(b"\n"), start=1):
        if not raw_line.strip():
            continue
        try:
            record = json.loads(raw_line)
            event = ArchivedEvent(
                envelope=Envelope.model_validate(record["envelope"]),
                arrived_at=_utc(datetime.fromisoformat(record["arrived_at"])),
                key=key,
            )
        except (ValueError, KeyError, TypeError) as unreadable:
            raise ArchiveFormatError(key, number, str(unreadable).splitlines()[0]) from unreadable
        yield number, event


def _child_prefixes(s3: Any, bucket: str, prefix: str) -> list[str]:
    children: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        children.extend(common["Prefix"] for common in page.get("CommonPrefixes", []))
    return children


def _object_keys(s3: Any, bucket: str, partition: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=partition, Delimiter="/"):
        keys.extend(item["Key"] for item in page.get("Contents", []) if item["Key"].endswith(OBJECT_SUFFIX))
    return sorted(keys)


def _first_arrival_ms(key: str) -> int:
    """The first arrival an object's name records (see object_key); 0 for a name this module did not write."""
    stem = key.rsplit("/", 1)[-1].split("-", 1)[0]
    return int(stem) if stem.isdigit() else 0


def _period_bounds(relative_prefix: str) -> tuple[datetime, datetime] | None:
    """`2026/` → that year, `2026/11/` → that month, … `2026/11/27/23/` → that hour; else None."""
    parts = relative_prefix.rstrip("/").split("/")
    if not 1 <= len(parts) <= 4 or not all(part.isdigit() for part in parts):
        return None
    numbers = [int(part) for part in parts]
    year, month, day, hour = numbers + [1, 1, 0][len(numbers) - 1 :]
    try:
        start = datetime(year, month, day, hour, tzinfo=UTC)
    except ValueError:
        return None
    try:
        if len(parts) == 1:
            end = start.replace(year=year + 1)
        elif len(parts) == 2:
            end = start.replace(year=year + month // 12, month=month % 12 + 1)
        elif len(parts) == 3:
            end = start + timedelta(days=1)
        else:
            end = start + timedelta(hours=1)
    except (OverflowError, ValueError):
        # The last period of year 9999 ends past what datetime can hold: it runs to the end of time.
        end = _END_OF_TIME
    return start, end


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _epoch_milliseconds(moment: datetime) -> int:
    # Integer arithmetic: float timestamps * 1000 can land on .999 and name the wrong millisecond.
    return (_utc(moment) - _EPOCH) // timedelta(milliseconds=1)


def _iso_milliseconds(moment: datetime) -> str:
    return _utc(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")
