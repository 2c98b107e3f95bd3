"""The CalendarJob state machine: PENDING until a report, then SUCCESS or FAILURE for good."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from todo_api.domain.model import CalendarJob, CalendarJobRequested, CalendarResult, JobStatus, Report, seen_status

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
DEADLINE = 300.0
RESULT = CalendarResult("bucket", "calendars/j.ics", 9, "b" * 64, 1)


def test_opening_a_job_records_a_calendar_request():
    job = CalendarJob.open("j", "me@example.com", NOW)

    assert job.status == JobStatus.PENDING
    assert job.release_events() == [CalendarJobRequested("j", "me@example.com")]


def test_a_result_in_time_makes_the_job_succeed():
    job = CalendarJob.open("j", None, NOW)

    assert job.report(RESULT, NOW + timedelta(seconds=5), DEADLINE) is Report.RECORDED

    assert (job.status, job.result_key, job.event_count, job.error) == (JobStatus.SUCCESS, "calendars/j.ics", 1, None)


def test_a_failure_report_keeps_its_reason():
    job = CalendarJob.open("j", None, NOW)

    job.report("bad deadline", NOW, DEADLINE)

    assert (job.status, job.error) == (JobStatus.FAILURE, "bad deadline")


def test_duplicate_calendar_outcome_is_ignored():
    job = CalendarJob.open("j", None, NOW)
    job.report(RESULT, NOW, DEADLINE)

    second = CalendarResult("bucket", "calendars/other.ics", 9, "b" * 64, 1)
    assert job.report(second, NOW, DEADLINE) is Report.ALREADY_FINISHED
    assert job.report("late failure", NOW, DEADLINE) is Report.ALREADY_FINISHED

    assert (job.status, job.result_key, job.error) == (JobStatus.SUCCESS, "calendars/j.ics", None)


def test_a_report_after_the_deadline_keeps_the_failure_clients_were_shown():
    job = CalendarJob.open("j", None, NOW)

    assert job.report(RESULT, NOW + timedelta(seconds=DEADLINE + 1), DEADLINE) is Report.LATE

    assert (job.status, job.error) == (JobStatus.FAILURE, "calendar not finished within 300 seconds")
    assert job.result_key is None


def test_an_unfinished_job_reads_as_failure_once_overdue_and_a_finished_one_never_does():
    late = NOW + timedelta(seconds=DEADLINE + 1)
    assert seen_status(JobStatus.PENDING, None, NOW, NOW, DEADLINE) == (JobStatus.PENDING, None)
    assert seen_status(JobStatus.PENDING, None, NOW, late, DEADLINE) == (
        JobStatus.FAILURE,
        "calendar not finished within 300 seconds",
    )
    assert seen_status(JobStatus.SUCCESS, None, NOW, late, DEADLINE) == (JobStatus.SUCCESS, None)


def test_a_naive_request_time_from_sqlite_is_read_as_utc():
    naive = NOW.replace(tzinfo=None)
    assert seen_status(JobStatus.PENDING, None, naive, NOW, DEADLINE) == (JobStatus.PENDING, None)
