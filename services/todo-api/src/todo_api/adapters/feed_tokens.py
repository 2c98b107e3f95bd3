"""The calendar feed tokens' table: which owner a token digest belongs to (only digests are stored)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from todo_api.adapters.orm import calendar_feed_tokens
from todo_api.domain.model import as_utc

# Without authentication every caller shares one feed, stored under '' (a key cannot be NULL).
_NO_OWNER = ""


@dataclass(frozen=True)
class FeedOwner:
    """The owner a token belongs to (a token `sub`, or None for the shared feed), and when it was issued."""

    owner: str | None
    issued_at: datetime


@dataclass
class SqlFeedTokens:
    engine: Engine

    def issue_first(self, owner: str | None, digest: str, now: datetime) -> bool:
        """Store `digest` as `owner`'s token unless they have one; whether it was stored."""
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(calendar_feed_tokens).values(owner=_key(owner), token_sha256=digest, issued_at=now)
                )
        except IntegrityError:
            # The owner has a token (perhaps issued by a request racing this one): it stays.
            return False
        return True

    def replace(self, owner: str | None, digest: str, now: datetime) -> None:
        """Make `digest` `owner`'s only token: the previous one stops opening the feed."""
        values = {"token_sha256": digest, "issued_at": now}
        for _ in range(2):
            with self.engine.begin() as connection:
                changed = connection.execute(
                    update(calendar_feed_tokens).where(calendar_feed_tokens.c.owner == _key(owner)).values(**values)
                ).rowcount
            if changed or self.issue_first(owner, digest, now):
                return
        raise RuntimeError("the feed token could be neither replaced nor issued")

    def owner_of(self, digest: str) -> FeedOwner | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(calendar_feed_tokens.c.owner, calendar_feed_tokens.c.issued_at).where(
                    calendar_feed_tokens.c.token_sha256 == digest
                )
            ).one_or_none()
        if row is None:
            return None
        return FeedOwner(None if row.owner == _NO_OWNER else row.owner, as_utc(row.issued_at))

    def issued_at(self, owner: str | None) -> datetime | None:
        with self.engine.connect() as connection:
            issued: datetime | None = connection.execute(
                select(calendar_feed_tokens.c.issued_at).where(calendar_feed_tokens.c.owner == _key(owner))
            ).scalar_one_or_none()
        return None if issued is None else as_utc(issued)


def _key(owner: str | None) -> str:
    return _NO_OWNER if owner is None else owner
