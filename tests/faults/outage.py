"""Run a fault for a while under load: cut, hold, restore, and time the recovery."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from tests.faults.workload import Ledger
from tests.support.moto import wait_until


@dataclass
class Outage:
    cut: Callable[[], None]
    restore: Callable[[], None]
    seconds: float
    restored_at: float = 0.0

    def during(self, ledger: Ledger, load: Callable[[], None], *, after_answers: int = 50) -> None:
        """Start `load`, cut once `after_answers` requests were answered, hold the fault for
        `seconds` (the scenario's length, not a wait for an event), restore; return when the
        load finished. `restored_at` (monotonic) is when the fault ended."""
        worker = threading.Thread(target=load, name="load")
        worker.start()
        wait_until(lambda: sum(ledger.statuses.values()) >= after_answers or not worker.is_alive(), timeout=120)
        self.cut()
        try:
            time.sleep(self.seconds)
        finally:
            self.restore()
            self.restored_at = time.monotonic()
        worker.join()
