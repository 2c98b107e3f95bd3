"""The CalendarJob state machine: PENDING until a report or its deadline, then SUCCESS or FAILURE."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from todo_api.domain.model import (
    DEADLINE_PASSED,
    CalendarJob,
    CalendarJobFailedByDeadline,
    CalendarJobRequested,
    CalendarResult,
    JobStatus,
    Report,
)

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
DEADLINE = 300.0
RESULT = CalendarResult("bucket", "calendars/j.ics", 9, "b" * 64, 1)


def test_opening_a_job_records_a_calendar_request():
    job = CalendarJob.open("j", "me@example.com", NOW)

    assert job.status == JobStatus.PENDING
    assert job.release_events() == [CalendarJobRequested("j", "me@example.com")]


def test_a_result_makes_the_job_succeed():
    job = CalendarJob.open("j", None, NOW)

    assert job.report(RESULT, NOW + timedelta(seconds=5)) is Report.RECORDED

    assert (job.status, job.result_key, job.event_count, job.error) == (JobStatus.SUCCESS, "calendars/j.ics", 1, None)
    assert job.finished_at == NOW + timedelta(seconds=5)


def test_a_failure_report_keeps_its_reason():
    job = CalendarJob.open("j", None, NOW)

    job.report("bad deadline", NOW)

    assert (job.status, job.error) == (JobStatus.FAILURE, "bad deadline")


def test_duplicate_calendar_outcome_is_ignored():
    job = CalendarJob.open("j", None, NOW)
    job.report(RESULT, NOW)

    second = CalendarResult("bucket", "calendars/other.ics", 9, "b" * 64, 1)
    assert job.report(second, NOW) is Report.ALREADY_FINISHED
    assert job.report("late failure", NOW) is Report.ALREADY_FINISHED

    assert (job.status, job.result_key, job.error) == (JobStatus.SUCCESS, "calendars/j.ics", None)


def test_a_job_within_its_deadline_is_left_alone():
    job = CalendarJob.open("j", None, NOW)
    job.release_events()

    assert not job.fail_if_overdue(NOW + timedelta(seconds=DEADLINE), DEADLINE)

    assert (job.status, job.release_events()) == (JobStatus.PENDING, [])


def test_an_unfinished_job_past_its_deadline_fails_and_announces_it():
    job = CalendarJob.open("j", "me@example.com", NOW)
    job.release_events()
    late = NOW + timedelta(seconds=DEADLINE + 1)

    assert job.fail_if_overdue(late, DEADLINE)

    assert (job.status, job.error, job.finished_at) == (JobStatus.FAILURE, DEADLINE_PASSED, late)
    assert job.release_events() == [CalendarJobFailedByDeadline("j", "me@example.com")]


def test_a_finished_job_never_becomes_overdue():
    job = CalendarJob.open("j", None, NOW)
    job.report(RESULT, NOW)

    assert not job.fail_if_overdue(NOW + timedelta(days=1), DEADLINE)
    assert job.status == JobStatus.SUCCESS


def test_a_result_after_the_deadline_failure_wins():
    job = CalendarJob.open("j", None, NOW)
    job.fail_if_overdue(NOW + timedelta(seconds=DEADLINE + 1), DEADLINE)

    assert job.report(RESULT, NOW + timedelta(seconds=DEADLINE + 2)) is Report.SUPERSEDED_FAILURE

    assert (job.status, job.error, job.result_key) == (JobStatus.SUCCESS, None, "calendars/j.ics")


def test_a_failure_after_the_deadline_failure_changes_nothing():
    job = CalendarJob.open("j", None, NOW)
    job.fail_if_overdue(NOW + timedelta(seconds=DEADLINE + 1), DEADLINE)

    assert job.report("worker gave up", NOW + timedelta(seconds=DEADLINE + 2)) is Report.ALREADY_FINISHED

    assert (job.status, job.error) == (JobStatus.FAILURE, DEADLINE_PASSED)


def test_a_naive_request_time_from_sqlite_is_read_as_utc():
    job = CalendarJob(id="j", requested_at=NOW.replace(tzinfo=None))
    assert not job.is_overdue(NOW, DEADLINE)
    assert job.is_overdue(NOW + timedelta(seconds=DEADLINE + 1), DEADLINE)
