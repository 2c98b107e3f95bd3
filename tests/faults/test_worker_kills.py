"""kill -9 of each worker mid-batch, 3 times in a row, while clients keep writing."""

from __future__ import annotations

import threading
import time

from tests.faults.invariants import DONE_LINES, assert_nothing_lost
from tests.faults.workload import Ledger, run_writes
from tests.support.moto import wait_until

KILLS_EACH = 3
# What a process logs when it has just done work: mid-batch is right after one of these.
WORK_LINES = {**DONE_LINES, "relay": "outbox_published"}


def work_done(system, process: str) -> int:
    return system.log(process).count(f'"event": "{WORK_LINES[process]}"')


def test_kill_9_of_every_worker_mid_batch_three_times_loses_nothing(start_faulty_system):
    system = start_faulty_system("worker-kills")
    ledger = Ledger()
    stop = threading.Event()

    def keep_writing():
        rounds = 0
        while not stop.is_set():
            run_writes(system.api_url, ledger, writes=20, calendars=1, clients=2, seed=rounds)
            rounds += 1

    load = threading.Thread(target=keep_writing, name="load")
    load.start()
    try:
        for process in WORK_LINES:
            for _kill in range(KILLS_EACH):
                before = work_done(system, process)
                wait_until(
                    lambda process=process, before=before: work_done(system, process) > before,
                    timeout=120,
                    message=f"{process} to be working",
                )
                system.restart(process)
    finally:
        stop.set()
        load.join()
    killed_at = time.monotonic()
    summary = assert_nothing_lost(system, ledger, database_url=system.env["DATABASE_URL"])

    print(f"\n{KILLS_EACH} kills of each worker: idle {time.monotonic() - killed_at:.1f} s after the last; {summary}")
