"""`event-archiver`: archive every event of the topic to S3 until SIGTERM/SIGINT.

Exit codes: 0 after a graceful stop (what was held is stored or released), 1 when the queue
cannot be reached at start, 2 when the configuration is invalid. A stop lets the current long
poll end (within EVENT_ARCHIVER_RECEIVE_WAIT_SECONDS) rather than abandon its messages.
"""

from __future__ import annotations

import sys

from event_archiver.bootstrap import bootstrap
from event_archiver.config import SERVICE, Settings
from taskoverflow_shared.worker_runtime import run_worker


def main() -> int:
    return run_worker(SERVICE, Settings.from_environment, bootstrap)


if __name__ == "__main__":
    sys.exit(main())
