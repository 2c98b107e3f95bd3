"""The live feeds' handlers: a batch of TodoChanged events becomes at most one feed write per owner.

The shared consumer loop (batch mode) holds TodoChanged messages and hands them over together;
`update_feeds` groups them by owner and brings each owner's feed up to date once, so a burst of
thousands of changes by one user rewrites that feed once per batch, not once per change. A
message is acknowledged only once its owner's feed and state are stored.

Writing one owner's feed: read the state (and its ETag), apply the changes, put the calendar,
then put the state on condition that it is still the one read. When another writer got there
first, all of it is done again on the state it wrote. The calendar goes first so that every
successful state write follows a calendar rendered from exactly that state: whichever writer
wins last, the feed matches the stored state.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import structlog

from ical_worker.domain import CalendarRenderer, FeedChange, FeedConflict, FeedState
from ical_worker.ports import FeedStore
from taskoverflow_shared.batch_mode import HeldMessage
from taskoverflow_shared.logging_setup import bound_trace
from taskoverflow_shared.topology import FeedKeys

log = structlog.get_logger("ical_worker.feed_handlers")

# Two writers of one owner conflict only while both hold changes of that owner (a redelivery, or
# two feed workers sharing a burst); a handful of rounds settles it, else the batch is retried.
MAX_WRITE_ATTEMPTS = 5


@dataclass(frozen=True)
class FeedUpdate:
    """What bringing one owner's feed up to date did: which changes were news, and the S3 writes."""

    applied: list[bool]
    puts: int
    conflicts: int


def update_feeds(
    held: Sequence[HeldMessage[FeedChange]],
    *,
    feeds: FeedStore,
    renderer: CalendarRenderer,
    keys_of: Callable[[str | None], FeedKeys],
    concurrency: int = 1,
    progress: Callable[[], None] = lambda: None,
) -> set[str]:
    """Bring the feed of every owner in the batch up to date; return the ids of the messages of
    owners whose feed could not be written (they come back after the visibility timeout)."""
    by_owner: dict[str | None, list[HeldMessage[FeedChange]]] = defaultdict(list)
    for message in held:
        by_owner[message.item.change.owner].append(message)
    failed: set[str] = set()
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(by_owner)))) as pool:
        futures = {
            owner: pool.submit(update_feed, keys_of(owner), [m.item for m in messages], feeds=feeds, renderer=renderer)
            for owner, messages in by_owner.items()
        }
        for owner, future in futures.items():
            try:
                future.result()
            except Exception:
                log.exception("feed_update_failed", feed=keys_of(owner).calendar, messages=len(by_owner[owner]))
                failed.update(m.message_id for m in by_owner[owner])
            progress()
    return failed


def update_feed(
    keys: FeedKeys, items: Sequence[FeedChange], *, feeds: FeedStore, renderer: CalendarRenderer
) -> FeedUpdate:
    """Apply one owner's changes to their feed, writing it once (more only after a conflict).

    Changes that are all old news (redeliveries, a replay over an up-to-date feed) write nothing.
    """
    started = time.perf_counter()
    changes = [item.change for item in items]
    puts = conflicts = 0
    for _ in range(MAX_WRITE_ATTEMPTS):
        stored = feeds.read_state(keys.state)
        state = FeedState() if stored is None else FeedState.from_bytes(stored.body)
        applied = state.apply_all(changes)
        # After a lost race the calendar written was rendered from a state that never got stored:
        # it must be written again even if the winner had already taken in every change.
        if not any(applied) and puts == 0:
            break
        feeds.put_calendar(keys.calendar, state.render(renderer).body)
        puts += 1
        try:
            feeds.put_state(keys.state, state.to_bytes(), None if stored is None else stored.tag)
        except FeedConflict:
            conflicts += 1
            log.info("feed_write_conflict", feed=keys.calendar, attempt=conflicts)
            continue
        puts += 1
        break
    else:
        raise FeedConflict(f"{keys.state} kept changing for {MAX_WRITE_ATTEMPTS} attempts")
    update = FeedUpdate(applied=applied, puts=puts, conflicts=conflicts)
    _log_update(keys, items, update, time.perf_counter() - started)
    return update


def _log_update(keys: FeedKeys, items: Sequence[FeedChange], update: FeedUpdate, seconds: float) -> None:
    # One line per event, as every consumer writes: a trace by event id or correlation id finds
    # whether the event changed the feed (`applied`) or was old news.
    for item, applied in zip(items, update.applied, strict=True):
        with bound_trace(item.envelope.id, item.envelope.correlation_id):
            log.info(
                "feed_event_handled",
                applied=applied,
                event_type=item.envelope.type,
                todo_id=item.change.todo.id,
                version=item.change.version,
                feed=keys.calendar,
            )
    with bound_trace(None, None):
        log.info(
            "feed_written" if update.puts else "feed_unchanged",
            feed=keys.calendar,
            events=len(items),
            applied=sum(update.applied),
            s3_puts=update.puts,
            conflicts=update.conflicts,
            duration_ms=round(seconds * 1000, 2),
        )
