"""S3 refusing every connection for 20 s while clients write and ask for calendars (SNS and SQS
stay up): snapshots, calendars and the archive wait for it, and nothing is lost."""

from __future__ import annotations

import time

from tests.faults.invariants import assert_nothing_lost
from tests.faults.outage import Outage
from tests.faults.workload import Ledger, run_writes


def test_an_s3_outage_of_20_s_under_load_loses_nothing_and_answers_no_500(start_faulty_system):
    system = start_faulty_system("s3-outage", proxied_s3=True, extra_env={"CALENDAR_INLINE_TODOS_MAX_BYTES": "1024"})
    ledger = Ledger()
    outage = Outage(cut=system.s3_proxy.stop, restore=system.s3_proxy.start, seconds=20)

    outage.during(ledger, lambda: run_writes(system.api_url, ledger, writes=300, calendars=20), after_answers=30)
    summary = assert_nothing_lost(system, ledger, database_url=system.env["DATABASE_URL"])

    print(f"\nS3 outage 20 s: recovered {time.monotonic() - outage.restored_at:.1f} s after the restore; {summary}")
