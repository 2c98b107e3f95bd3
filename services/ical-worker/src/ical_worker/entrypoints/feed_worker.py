"""`ical-feed-worker`: keep every owner's live calendar feed current from TodoChanged until SIGTERM/SIGINT.

A second entrypoint of the ical-worker (docs/decisions/0008): same renderer, own queue. Exit
codes: 0 after a graceful stop (what was held is written or released), 1 when the queue cannot
be reached at start, 2 when the configuration is invalid.
"""

from __future__ import annotations

import sys

from ical_worker.bootstrap import bootstrap_feed
from ical_worker.config import FEED_SERVICE, FeedSettings
from taskoverflow_shared.worker_runtime import run_worker


def main() -> int:
    return run_worker(FEED_SERVICE, FeedSettings.from_environment, bootstrap_feed)


if __name__ == "__main__":
    sys.exit(main())
