"""The notifier's record of announced calendar jobs, on a real SQLite file."""

from datetime import timedelta

from notifier.adapters.calendar_jobs import RequestedJob, SqliteCalendarJobs


def test_a_job_is_remembered_across_a_restart_and_its_first_address_wins(tmp_path):
    path = tmp_path / "deliveries.sqlite3"
    jobs = SqliteCalendarJobs(path)
    jobs.record(RequestedJob("job-1", "ann@example.com"))
    jobs.record(RequestedJob("job-1", "stranger@example.com"))
    jobs.record(RequestedJob("job-2", None))
    jobs.close()

    reopened = SqliteCalendarJobs(path)

    assert reopened.get("job-1") == RequestedJob("job-1", "ann@example.com")
    assert reopened.get("job-2") == RequestedJob("job-2", None)
    assert reopened.get("job-3") is None


def test_pruning_forgets_only_jobs_older_than_the_retention(tmp_path):
    jobs = SqliteCalendarJobs(tmp_path / "deliveries.sqlite3")
    jobs.record(RequestedJob("job-1", None))

    assert jobs.prune(timedelta(days=1)) == 0
    assert jobs.prune(timedelta(seconds=-1)) == 1
    assert jobs.get("job-1") is None
