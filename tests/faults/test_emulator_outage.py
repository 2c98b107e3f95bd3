"""The AWS emulator unreachable for 20 s while clients write 500 times and ask for 20 calendars."""

from __future__ import annotations

import time

from tests.faults.invariants import assert_nothing_lost
from tests.faults.outage import Outage
from tests.faults.workload import Ledger, run_writes


def test_an_emulator_outage_of_20_s_under_load_loses_nothing_and_answers_no_500(start_faulty_system):
    system = start_faulty_system("emulator-outage")
    ledger = Ledger()
    outage = Outage(cut=system.aws_proxy.stop, restore=system.aws_proxy.start, seconds=20)

    outage.during(ledger, lambda: run_writes(system.api_url, ledger, writes=500, calendars=20))
    summary = assert_nothing_lost(system, ledger, database_url=system.env["DATABASE_URL"])

    recovered = time.monotonic() - outage.restored_at
    print(f"\nemulator outage 20 s: idle {recovered:.1f} s after the restore; {summary}")
    assert summary["acknowledged_todos"] > 0
