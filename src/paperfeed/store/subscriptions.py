"""Digest subscriptions in SQL: subscribers, their topics, the deliveries they are owed, and the sender lock.

A ``deliveries`` row is one message a subscriber is owed: a digest for a period (``kind`` "digest", ``period``
"2026-11-20" or "2026-W47") or a confirmation (``kind`` "confirm", ``period`` the time it was asked for). Its
``status`` moves pending → sending → sent, or to skipped (nothing new), failed (refused for good, or given up on),
cancelled (the subscriber left before it went out). Every step is its own transaction; ``paperfeed.digests.outbox``
explains why and what a run killed between two steps leaves behind. Rules (who may subscribe, which status follows
which) live in ``paperfeed.digests.subscriptions``; this module only reads and writes.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from paperfeed.store.db import Database

TopicKind = Literal["foryou", "cat", "author", "query"]
TOPIC_KINDS: tuple[TopicKind, ...] = ("foryou", "cat", "author", "query")
FINAL_STATUSES = ("sent", "skipped", "failed", "cancelled")
OWED_STATUSES = ("pending", "sending")
_LOCK_SPACE = 0x70617065  # the first key of paperfeed's two-key advisory locks on PostgreSQL ("pape")
_SUB_COLS = (
    "id, email, status, frequency, include_trending, max_papers, send_hour, timezone, user_id, created_at, "
    "confirmed_at, unsubscribed_at, permanent_failures, last_sent_at"
)


@dataclass(frozen=True)
class Topic:
    """What a subscriber follows: a category (``cat``), an author, a saved search (``query``), or the papers that fit
    the member's own library (``foryou``, value ``library``)."""

    kind: TopicKind
    value: str

    @property
    def text(self) -> str:
        """The form ``parse_topic`` reads back: ``cat:cs.LG``, ``author:Ada Lovelace``, ``query:diffusion models``."""
        return f"{self.kind}:{self.value}"

    @property
    def reason(self) -> str:
        """Why a paper is in a digest because of this topic, as the digest shows it."""
        if self.kind == "foryou":
            return "for you"
        return f"query: {self.value}" if self.kind == "query" else self.text


@dataclass(frozen=True)
class Settings:
    """What a subscriber chose; validated by ``paperfeed.digests.subscriptions`` before it gets here."""

    frequency: str = "daily"
    include_trending: bool = True
    max_papers: int = 10
    send_hour: int = 8
    timezone: str = "UTC"
    topics: tuple[Topic, ...] = ()


@dataclass(frozen=True)
class Subscriber:
    id: int
    email: str
    status: str  # pending | active | unsubscribed | bounced
    frequency: str  # daily | weekly
    include_trending: bool
    max_papers: int
    send_hour: int
    timezone: str
    user_id: int | None = None
    created_at: str = ""
    confirmed_at: str | None = None
    unsubscribed_at: str | None = None
    permanent_failures: int = 0
    last_sent_at: str | None = None
    topics: tuple[Topic, ...] = ()

    @property
    def settings(self) -> Settings:
        return Settings(
            self.frequency, self.include_trending, self.max_papers, self.send_hour, self.timezone, self.topics
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "status": self.status,
            "frequency": self.frequency,
            "include_trending": self.include_trending,
            "max_papers": self.max_papers,
            "send_hour": self.send_hour,
            "timezone": self.timezone,
            "topics": [t.text for t in self.topics],
            "user_id": self.user_id,
            "created_at": self.created_at,
            "confirmed_at": self.confirmed_at,
            "unsubscribed_at": self.unsubscribed_at,
            "permanent_failures": self.permanent_failures,
            "last_sent_at": self.last_sent_at,
        }


@dataclass(frozen=True)
class DeliveryState:
    status: str
    message_id: str
    attempts: int
    next_attempt_at: str | None
    created_at: str


def sort_topics(topics: Sequence[Topic]) -> tuple[Topic, ...]:
    """Topics in the order digests show them: For you, categories, authors, queries, each alphabetically."""
    return tuple(sorted(set(topics), key=lambda t: (TOPIC_KINDS.index(t.kind), t.value.casefold(), t.value)))


def _subscriber(row: tuple[Any, ...], topics: tuple[Topic, ...]) -> Subscriber:
    return Subscriber(
        id=int(row[0]),
        email=row[1],
        status=row[2],
        frequency=row[3],
        include_trending=bool(row[4]),
        max_papers=int(row[5]),
        send_hour=int(row[6]),
        timezone=row[7],
        user_id=row[8],
        created_at=row[9],
        confirmed_at=row[10],
        unsubscribed_at=row[11],
        permanent_failures=int(row[12]),
        last_sent_at=row[13],
        topics=topics,
    )


class SubscriptionStoreMixin:
    db: Database

    def delivery_counts(self) -> dict[tuple[str, str], int]:
        """How many messages there are of each (kind, status): what operators watch (sent, failed, still owed)."""
        rows = self.db.query("SELECT kind, status, count(*) FROM deliveries GROUP BY kind, status")
        return {(str(r[0]), str(r[1])): int(r[2]) for r in rows}

    # -- subscribers ---------------------------------------------------------------------------------------------
    def subscriber(self, subscriber_id: int) -> Subscriber | None:
        found = self._subscribers_where("id = ?", [subscriber_id])
        return found[0] if found else None

    def subscriber_by_email(self, email: str) -> Subscriber | None:
        found = self._subscribers_where("lower(email) = lower(?)", [email])
        return found[0] if found else None

    def subscribers(
        self,
        *,
        statuses: Sequence[str] = ("active",),
        frequency: str | None = None,
        ids: Sequence[int] | None = None,
        user_id: int | None = None,
    ) -> list[Subscriber]:
        """Subscribers (with their topics) in any of ``statuses``, optionally of one frequency, ids or member."""
        where = f"status IN ({Database.placeholders(len(statuses))})"
        params: list[Any] = list(statuses)
        if frequency is not None:
            where += " AND frequency = ?"
            params.append(frequency)
        if user_id is not None:
            where += " AND user_id = ?"
            params.append(user_id)
        if ids is None:
            return self._subscribers_where(where, params)
        found: list[Subscriber] = []
        wanted = list(dict.fromkeys(ids))
        for start in range(0, len(wanted), 900):
            chunk = wanted[start : start + 900]
            found += self._subscribers_where(f"{where} AND id IN ({Database.placeholders(len(chunk))})", params + chunk)
        return sorted(found, key=lambda s: s.id)

    def _subscribers_where(self, where: str, params: Sequence[Any]) -> list[Subscriber]:
        rows = self.db.query(f"SELECT {_SUB_COLS} FROM subscribers WHERE {where} ORDER BY id", params)
        if not rows:
            return []
        topics: dict[int, list[Topic]] = {}
        ids = [int(r[0]) for r in rows]
        # Few rows: look their topics up by id. Many (a digest run): read the whole table once, it is small.
        if len(ids) <= 900:
            topic_rows = self.db.query(
                "SELECT subscriber_id, kind, value FROM subscription_topics "
                f"WHERE subscriber_id IN ({Database.placeholders(len(ids))})",
                ids,
            )
        else:
            topic_rows = self.db.query("SELECT subscriber_id, kind, value FROM subscription_topics")
        for sid, kind, value in topic_rows:
            topics.setdefault(int(sid), []).append(Topic(kind, value))
        return [_subscriber(r, sort_topics(topics.get(int(r[0]), ()))) for r in rows]

    def save_subscriber(
        self,
        email: str,
        settings: Settings,
        *,
        user_id: int | None,
        status_for: Callable[[str | None], str],
        now: str,
        request: str,
        trusted: bool = False,
        confirm_message_id: Callable[[int], str],
    ) -> tuple[Subscriber, bool]:
        """Create or update the subscriber for ``email`` with ``settings``, in one transaction.

        ``status_for(current status or None)`` says the status after this request. When it is "pending", a
        confirmation is queued under the period ``request`` (unique per request; older queued ones are cancelled);
        returns the subscriber and whether one was. ``user_id`` is linked to an existing row that has no member
        yet only when the address will be proven again (pending) or the caller vouches for it (``trusted``): else
        anyone could attach someone else's subscription to their account."""
        with self.db.transaction():
            row = self.db.query_one(
                "SELECT id, status, user_id FROM subscribers WHERE lower(email) = lower(?)", (email,)
            )
            status = status_for(row[1] if row else None)
            values = (
                settings.frequency,
                int(settings.include_trending),
                settings.max_papers,
                settings.send_hour,
                settings.timezone,
            )
            if row is None:
                created = self.db.query_one(
                    "INSERT INTO subscribers (email, user_id, status, frequency, include_trending, max_papers, "
                    "send_hour, timezone, created_at, confirmed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (email, user_id, status, *values, now, now if status == "active" else None),
                )
                assert created is not None
                subscriber_id = int(created[0])
            else:
                subscriber_id = int(row[0])
                link = user_id if trusted or status == "pending" else None
                self.db.execute(
                    "UPDATE subscribers SET frequency = ?, include_trending = ?, max_papers = ?, send_hour = ?, "
                    "timezone = ?, status = ?, user_id = COALESCE(user_id, ?), "
                    "confirmed_at = CASE WHEN ? = 'active' AND status <> 'active' THEN ? ELSE confirmed_at END, "
                    "permanent_failures = CASE WHEN status = ? THEN permanent_failures ELSE 0 END "
                    "WHERE id = ?",
                    (*values, status, link, status, now, status, subscriber_id),
                )
            self._replace_topics(subscriber_id, settings.topics)
            queued = status == "pending"
            if queued:
                self.db.execute(
                    "UPDATE deliveries SET status = 'cancelled', error = 'superseded by a newer request' "
                    "WHERE subscriber_id = ? AND kind = 'confirm' AND status = 'pending'",
                    (subscriber_id,),
                )
                self.db.execute(
                    "INSERT INTO deliveries (subscriber_id, kind, period, status, message_id, created_at) "
                    "VALUES (?, 'confirm', ?, 'pending', ?, ?) ON CONFLICT (subscriber_id, kind, period) DO NOTHING",
                    (subscriber_id, request, confirm_message_id(subscriber_id), now),
                )
        found = self.subscriber(subscriber_id)
        assert found is not None
        return found, queued

    def update_subscriber(self, subscriber_id: int, settings: Settings) -> None:
        with self.db.transaction():
            self.db.execute(
                "UPDATE subscribers SET frequency = ?, include_trending = ?, max_papers = ?, send_hour = ?, "
                "timezone = ? WHERE id = ?",
                (
                    settings.frequency,
                    int(settings.include_trending),
                    settings.max_papers,
                    settings.send_hour,
                    settings.timezone,
                    subscriber_id,
                ),
            )
            self._replace_topics(subscriber_id, settings.topics)

    def _replace_topics(self, subscriber_id: int, topics: Sequence[Topic]) -> None:
        self.db.execute("DELETE FROM subscription_topics WHERE subscriber_id = ?", (subscriber_id,))
        self.db.executemany(
            "INSERT INTO subscription_topics (subscriber_id, kind, value) VALUES (?, ?, ?) "
            "ON CONFLICT (subscriber_id, kind, value) DO NOTHING",
            [(subscriber_id, t.kind, t.value) for t in topics],
        )

    def set_subscriber_status(self, subscriber_id: int, status: str, now: str) -> None:
        """Confirm ("active": the failure count starts again), unsubscribe or bounce a subscriber."""
        with self.db.transaction():
            if status == "active":
                self.db.execute(
                    "UPDATE subscribers SET status = 'active', confirmed_at = ?, unsubscribed_at = NULL, "
                    "permanent_failures = 0 WHERE id = ?",
                    (now, subscriber_id),
                )
            elif status == "unsubscribed":
                self.db.execute(
                    "UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = ? WHERE id = ?",
                    (now, subscriber_id),
                )
            else:
                self.db.execute("UPDATE subscribers SET status = ? WHERE id = ?", (status, subscriber_id))

    # -- deliveries ----------------------------------------------------------------------------------------------
    def delivery_states(self, kind: str, period: str, subscriber_ids: Sequence[int]) -> dict[int, DeliveryState]:
        found: dict[int, DeliveryState] = {}
        for start in range(0, len(subscriber_ids), 900):
            chunk = list(subscriber_ids[start : start + 900])
            rows = self.db.query(
                "SELECT subscriber_id, status, message_id, attempts, next_attempt_at, created_at FROM deliveries "
                f"WHERE kind = ? AND period = ? AND subscriber_id IN ({Database.placeholders(len(chunk))})",
                (kind, period, *chunk),
            )
            found.update((int(r[0]), DeliveryState(r[1], r[2], int(r[3]), r[4], r[5])) for r in rows)
        return found

    def record_deliveries(self, kind: str, period: str, rows: Sequence[tuple[int, str, str]], now: str) -> None:
        """Write (subscriber id, "pending" or "skipped", Message-ID) rows in one transaction.

        A row that exists is left alone, except that an owed one becomes skipped when there is now nothing to
        send (trending moved on since the run that wrote it)."""
        with self.db.transaction():
            self.db.executemany(
                "INSERT INTO deliveries (subscriber_id, kind, period, status, message_id, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (subscriber_id, kind, period) DO UPDATE SET status = "
                "excluded.status WHERE deliveries.status IN ('pending', 'sending') AND excluded.status = 'skipped'",
                [(sid, kind, period, status, message_id, now) for sid, status, message_id in rows],
            )

    def claim_delivery(
        self, subscriber_id: int, kind: str, period: str, subscriber_status: str, now: str
    ) -> tuple[str, int] | None:
        """Mark an owed row "sending" just before it goes to the server; returns the status it had ("pending", or
        "sending" for one a killed run left behind) and the attempts so far, this one included, or None when it is
        not owed now. A row whose subscriber is no
        longer in ``subscriber_status`` (unsubscribed meanwhile) is cancelled instead."""
        with self.db.transaction():
            row = self.db.query_one(
                "SELECT d.status, d.next_attempt_at, s.status, d.attempts FROM deliveries d JOIN subscribers s "
                "ON s.id = d.subscriber_id WHERE d.subscriber_id = ? AND d.kind = ? AND d.period = ?",
                (subscriber_id, kind, period),
            )
            if row is None or row[0] not in OWED_STATUSES or (row[1] is not None and row[1] > now):
                return None
            if row[2] != subscriber_status:
                self.db.execute(
                    "UPDATE deliveries SET status = 'cancelled', error = ? WHERE subscriber_id = ? AND kind = ? "
                    "AND period = ?",
                    (f"subscriber is {row[2]}", subscriber_id, kind, period),
                )
                return None
            self.db.execute(
                "UPDATE deliveries SET status = 'sending', attempts = attempts + 1 WHERE subscriber_id = ? "
                "AND kind = ? AND period = ?",
                (subscriber_id, kind, period),
            )
        return str(row[0]), int(row[3]) + 1

    def mark_sent(self, subscriber_id: int, kind: str, period: str, now: str) -> None:
        with self.db.transaction():
            self.db.execute(
                "UPDATE deliveries SET status = 'sent', sent_at = ?, next_attempt_at = NULL, error = NULL "
                "WHERE subscriber_id = ? AND kind = ? AND period = ?",
                (now, subscriber_id, kind, period),
            )
            # A delivered message ends a run of refusals: only consecutive ones bounce an address.
            self.db.execute(
                "UPDATE subscribers SET permanent_failures = 0"
                + (", last_sent_at = ?" if kind == "digest" else "")
                + " WHERE id = ?",
                (now, subscriber_id) if kind == "digest" else (subscriber_id,),
            )

    def mark_deferred(
        self, subscriber_id: int, kind: str, period: str, next_attempt_at: str, error: str, *, count: bool = True
    ) -> None:
        """Back to pending until ``next_attempt_at``; ``count=False`` also takes back the attempt (never tried)."""
        with self.db.transaction():
            self.db.execute(
                "UPDATE deliveries SET status = 'pending', next_attempt_at = ?, error = ?"
                + ("" if count else ", attempts = attempts - 1")
                + " WHERE subscriber_id = ? AND kind = ? AND period = ?",
                (next_attempt_at, error[:500], subscriber_id, kind, period),
            )

    def mark_failed(
        self, subscriber_id: int, kind: str, period: str, error: str, *, bounce_after: int | None = None
    ) -> bool:
        """The server refused the message for good. With ``bounce_after``, it counts against the address, which
        bounces (nothing more is sent to it) at that many failures in a row; returns True when it just did."""
        with self.db.transaction():
            self.db.execute(
                "UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, error = ? "
                "WHERE subscriber_id = ? AND kind = ? AND period = ?",
                (error[:500], subscriber_id, kind, period),
            )
            if bounce_after is None:
                return False
            row = self.db.query_one(
                "UPDATE subscribers SET permanent_failures = permanent_failures + 1 WHERE id = ? "
                "RETURNING permanent_failures, status",
                (subscriber_id,),
            )
            if row is not None and int(row[0]) >= bounce_after and row[1] in ("active", "pending"):
                self.db.execute("UPDATE subscribers SET status = 'bounced' WHERE id = ?", (subscriber_id,))
                return True
        return False

    def owed_deliveries(self, kind: str, now: str) -> list[tuple[int, str, str]]:
        """(subscriber id, period, created_at) of rows still owed and due by ``now``, oldest first."""
        rows = self.db.query(
            "SELECT subscriber_id, period, created_at FROM deliveries WHERE kind = ? AND status IN ('pending', "
            "'sending') AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY created_at, subscriber_id",
            (kind, now),
        )
        return [(int(r[0]), r[1], r[2]) for r in rows]

    def latest_delivery(self, kind: str, subscriber_id: int) -> tuple[str, str | None] | None:
        """(status, last error) of the newest ``kind`` row of the subscriber, or None when there is none."""
        row = self.db.query_one(
            "SELECT status, error FROM deliveries WHERE kind = ? AND subscriber_id = ? "
            "ORDER BY created_at DESC, period DESC LIMIT 1",
            (kind, subscriber_id),
        )
        return (row[0], row[1]) if row is not None else None

    def give_up_deliveries(self, kind: str, created_before: str, error: str) -> int:
        """Owed rows older than ``created_before`` become failed (not held against the address)."""
        with self.db.transaction():
            return self.db.execute(
                "UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, error = ? WHERE kind = ? "
                "AND status IN ('pending', 'sending') AND created_at < ?",
                (error, kind, created_before),
            )

    # -- one sender at a time ------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def sender_lock(self, name: str) -> Iterator[bool]:
        """Try to become the only process sending ``name`` mail; yields whether it did, without waiting.

        The lock dies with its holder (a file lock on SQLite, a session advisory lock on PostgreSQL, released when
        the process or its connection goes), so whoever holds it knows that any row left "sending" belongs to a run
        that is gone."""
        if self.db.dialect == "sqlite":
            import fcntl

            assert self.db.path is not None
            path = self.db.path.with_name(f"{self.db.path.name}.{name}.lock")
            with path.open("a") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    yield False
                    return
                try:
                    yield True
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
            return
        import psycopg

        key = zlib.crc32(name.encode()) & 0x7FFFFFFF
        # A connection of its own: the lock is held for the whole run whatever the store's connection does.
        with psycopg.connect(self.db.url, autocommit=True) as conn:
            row = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (_LOCK_SPACE, key)).fetchone()
            got = bool(row and row[0])
            try:
                yield got
            finally:
                if got:
                    conn.execute("SELECT pg_advisory_unlock(%s, %s)", (_LOCK_SPACE, key))
