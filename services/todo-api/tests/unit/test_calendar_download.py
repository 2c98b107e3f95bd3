"""Downloading a job's calendar: only the job's own object, and only the bytes recorded for it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from structlog.testing import capture_logs

from todo_api.adapters.calendar_storage import CalendarExpired
from todo_api.domain.model import CalendarCorrupt, CalendarLocations, JobStatus, verified_calendar
from todo_api.views import CalendarJobView, calendar_download

from ..conftest import FakeCalendarFiles

LOCATIONS = CalendarLocations("calendars-bucket", "calendars/")
MINE = b"BEGIN:VCALENDAR\r\nSUMMARY:mine\r\nEND:VCALENDAR\r\n"
THEIRS = b"BEGIN:VCALENDAR\r\nSUMMARY:someone else's\r\nEND:VCALENDAR\r\n"
TAMPERED = MINE.replace(b"mine", b"evil")  # the same size as MINE


def succeeded(job_id: str, body: bytes, *, bucket: str = "calendars-bucket", key: str | None = None) -> CalendarJobView:
    """A SUCCESS job as the view reads it, recording `body`'s size and SHA-256."""
    return CalendarJobView(
        job_id,
        JobStatus.SUCCESS,
        None,
        bucket,
        key or f"calendars/{job_id}.ics",
        len(body),
        hashlib.sha256(body).hexdigest(),
    )


def files_with(**calendars: bytes) -> FakeCalendarFiles:
    files = FakeCalendarFiles()
    for job_id, body in calendars.items():
        files.calendars[LOCATIONS.of(job_id)] = body
    return files


def test_the_download_is_the_jobs_own_calendar():
    files = files_with(mine=MINE, theirs=THEIRS)

    assert b"".join(calendar_download(files, LOCATIONS, succeeded("mine", MINE))) == MINE


def test_a_job_recording_another_object_still_opens_only_its_own():
    # A job whose row names another user's calendar (recorded from a forged event) and that
    # object's digest: the download opens the job's own location, which holds nothing.
    files = files_with(theirs=THEIRS)
    job = succeeded("mine", THEIRS, key="calendars/theirs.ics")

    with pytest.raises(CalendarExpired):
        calendar_download(files, LOCATIONS, job)


def test_a_calendar_that_is_not_the_recorded_one_is_refused_before_any_byte_and_logged():
    files = files_with(mine=TAMPERED)  # what sits at the job's location is not what was recorded

    with capture_logs() as logs, pytest.raises(CalendarCorrupt, match="SHA-256"):
        calendar_download(files, LOCATIONS, succeeded("mine", MINE))

    assert [entry["event"] for entry in logs if entry["log_level"] == "error"] == ["calendar_download_refused"]
    assert logs[-1]["job_id"] == "mine"


def test_a_calendar_of_another_size_than_recorded_is_refused():
    files = files_with(mine=MINE + b"more")

    with pytest.raises(CalendarCorrupt, match="longer"):
        calendar_download(files, LOCATIONS, succeeded("mine", MINE))


def chunks_of(body: bytes, size: int) -> Iterator[bytes]:
    return (body[start : start + size] for start in range(0, len(body), size))


def test_a_long_calendar_that_turns_out_wrong_never_arrives_whole():
    recorded = b"A" * 100
    stored = b"A" * 99 + b"B"
    passed_on = []

    with pytest.raises(CalendarCorrupt):
        for chunk in verified_calendar(chunks_of(stored, 10), len(recorded), hashlib.sha256(recorded).hexdigest()):
            passed_on.append(chunk)

    assert b"".join(passed_on) == stored[:90], "the last chunk is held back until the whole is checked"


def test_a_long_calendar_that_matches_arrives_whole():
    body = bytes(range(256)) * 4

    assert b"".join(verified_calendar(chunks_of(body, 100), len(body), hashlib.sha256(body).hexdigest())) == body
