"""Sending owed mail exactly once: each message's claim → send → mark steps, retries, bounces, and when a run stops.

What is owed is decided elsewhere (``schedule`` for digests, ``subscriptions`` for confirmation mails): they record a
``deliveries`` row per message and hand each one to ``Outbox.put`` with a function that renders it. The outbox owns
what happens from there, and the report of what it did.

Exactly once, step by step. For each (subscriber, kind, period) a ``deliveries`` row is written "pending" with its
deterministic Message-ID before anything is sent (one transaction per batch of subscribers); just before a message
goes to the SMTP server its row becomes "sending" (own transaction); once the server has accepted it (250 after
DATA) the row becomes "sent" (own transaction). A run that is killed leaves every row either final (sent, skipped,
failed), "pending" (never handed over: sent next run), or "sending": the message in flight on each SMTP connection
(one by default; ``connections`` for more). Only one process sends each kind at a time: the caller holds
``store.sender_lock`` ("digests" or "confirmations": a file lock on SQLite, an advisory lock on PostgreSQL, both
released by the operating system or the server when their holder dies) around the outbox, so a run that holds it
knows any "sending" row is an orphan of a run that is gone, and sends it again **with the same Message-ID** at once:
no lease to wait out, and no second run can send it concurrently.

The residual window, honestly: SMTP cannot tell a client that died whether its last message was accepted. If a run
dies after the server accepted a message but before the "sent" commit (one network round trip plus one commit: about
a millisecond on loopback, per connection), that subscriber gets the digest twice, with identical Message-IDs (Gmail
shows one; clients that do not deduplicate show both). If it dies before acceptance (any earlier moment, including
while a slow server is still answering), the message is sent exactly once. The other choice, never re-sending an
orphan, turns that same window into a digest silently lost; a rare visible duplicate that clients can collapse is
the lesser harm.

Failures: a temporary one (4xx, refused, timeout) is retried with backoff within the run (``send_with_retry``); if
it still fails the row goes back to pending with ``next_attempt_at`` (15 min, doubling, at most 6 h) for a later
run; after a few such messages in a row the server is taken to be down and the run stops (``stopped``), leaving the
rest owed (the callers give up on messages still owed after a day). A permanent one (5xx) marks the row failed and
counts against the address; three in a row bounce it (nothing more is sent). A failure that is about us and not the
recipient (authentication refused, TLS not offered) stops the run without counting against anyone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

from paperfeed.digests.smtp import MailError, PermanentFailure, Sender, TemporaryFailure, send_with_retry
from paperfeed.errors import StoreError
from paperfeed.store import Store
from paperfeed.store.subscriptions import Subscriber

# Refusals that are about our account or connection, not the recipient: holding them against addresses would
# bounce every subscriber of a misconfigured site.
_SETUP_CODES = frozenset({530, 534, 535, 538})


class SenderBusy(StoreError):
    """Another process is sending digests (or confirmations) from this store right now."""


class Progress(Protocol):
    def start(self, total: int) -> None: ...

    def advance(self) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3  # tries per message within a run
    base_delay: float = 1.0  # seconds before the second try; doubles
    sleep: Callable[[float], None] = time.sleep
    defer: timedelta = timedelta(minutes=15)  # wait before a later run tries again; doubles per attempt
    max_defer: timedelta = timedelta(hours=6)
    give_up_after: timedelta = timedelta(hours=24)
    bounce_after: int = 3  # permanent failures in a row before an address bounces
    stop_after_temporary: int = 3  # messages in a row failing temporarily: the server is down, stop the run
    stop_after_permanent: int = 20  # messages in a row refused: more likely us than all of them

    def next_attempt(self, now: datetime, attempts: int) -> datetime:
        wait: timedelta = min(self.defer * 2 ** max(attempts - 1, 0), self.max_defer)
        return now + wait


@dataclass
class DeliveryReport:
    dry_run: bool = False
    periods: dict[str, int] = field(default_factory=dict)  # period -> subscribers considered
    sent: int = 0  # in a dry run: would be sent
    skipped: int = 0  # nothing new
    failed: int = 0  # refused for good this run
    already_sent: int = 0
    already_done: int = 0  # skipped, failed or cancelled by an earlier run
    deferred: int = 0  # failed temporarily, or still waiting for their retry time
    bounced: int = 0  # addresses that bounced this run
    resent: int = 0  # left "sending" by a killed run, sent again with their Message-ID
    cancelled: int = 0  # the subscriber left between composing and sending
    stopped: str | None = None  # why the run stopped early, if it did
    notes: list[str] = field(default_factory=list)
    previews: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class _Stop(Exception):
    pass


class Clock:
    """``now`` as given, moving forward with real time: decisions use the run's start, timestamps the moment."""

    def __init__(self, now: datetime) -> None:
        self.start = now
        self._t0 = time.monotonic()

    def __call__(self) -> datetime:
        moment: datetime = self.start + timedelta(seconds=time.monotonic() - self._t0)
        return moment


class Outbox:
    """Claims, sends and records owed messages, over one SMTP connection or several (a thread each).

    Rendering happens in the sending thread too, so with several connections one message renders while another
    waits for the server. Each message still goes claim → send → mark on its own; a killed run leaves at most one
    row "sending" per connection. The first reason to stop (``stopped``) makes every thread leave the rest owed."""

    def __init__(
        self,
        store: Store,
        mailer: Sender | None,
        clock: Clock,
        report: DeliveryReport,
        retry: RetryPolicy,
        connections: int = 1,
        factory: Callable[[], Sender] | None = None,
        progress: Progress | None = None,
    ) -> None:
        if connections < 1:
            raise ValueError(f"connections must be at least 1, got {connections}")
        self.store, self.clock, self.report, self.retry = store, clock, report, retry
        self.stopped: str | None = None
        self.progress = progress
        self._factory = factory
        self._opened: list[Sender] = []
        if mailer is None and connections == 1:
            assert factory is not None
            mailer = factory()
            self._opened.append(mailer)
        self._mailer = mailer
        self._streak = _Streak(retry)
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(connections, "digest-smtp") if connections > 1 else None
        self._local = threading.local()
        self._futures: list[Future[None]] = []

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
        finally:
            for opened in self._opened:
                close = getattr(opened, "close", None)
                if close is not None:
                    close()

    def put(
        self, kind: str, subscriber: Subscriber, period: str, status: str, render: Callable[[datetime], EmailMessage]
    ) -> None:
        if self._pool is None:
            assert self._mailer is not None
            self._deliver(self._mailer, kind, subscriber, period, status, render)
        else:
            self._futures.append(self._pool.submit(self._in_thread, kind, subscriber, period, status, render))

    def drain(self) -> None:
        """Wait for what was put; a bug in a thread is raised here."""
        futures, self._futures = self._futures, []
        for future in futures:
            future.result()

    def _in_thread(
        self, kind: str, subscriber: Subscriber, period: str, status: str, render: Callable[[datetime], EmailMessage]
    ) -> None:
        mailer = getattr(self._local, "mailer", None)
        if mailer is None:
            assert self._factory is not None
            mailer = self._local.mailer = self._factory()
            with self._lock:
                self._opened.append(mailer)
        self._deliver(mailer, kind, subscriber, period, status, render)

    def _count(self, name: str, outcome: str | None = None, error: MailError | None = None) -> None:
        with self._lock:
            setattr(self.report, name, getattr(self.report, name) + 1)
            if outcome is not None:
                try:
                    self._streak.record(outcome, error)
                except _Stop as stop:
                    self.stopped = self.stopped or str(stop)

    def _deliver(
        self,
        mailer: Sender,
        kind: str,
        subscriber: Subscriber,
        period: str,
        status: str,
        render: Callable[[datetime], EmailMessage],
    ) -> None:
        """Claim, send and record one owed message."""
        try:
            if not self.stopped:
                self._send(mailer, kind, subscriber, period, status, render)
        finally:
            if self.progress is not None:
                self.progress.advance()

    def _send(
        self,
        mailer: Sender,
        kind: str,
        subscriber: Subscriber,
        period: str,
        status: str,
        render: Callable[[datetime], EmailMessage],
    ) -> None:
        store, clock, retry = self.store, self.clock, self.retry
        message = render(clock())  # before the claim: a message that cannot be rendered stays pending
        claimed = store.claim_delivery(subscriber.id, kind, period, status, iso(clock()))
        if claimed is None:
            self._count("cancelled")
            return
        previous, attempts = claimed
        if previous == "sending":
            self._count("resent")
        try:
            send_with_retry(mailer, message, attempts=retry.attempts, sleep=retry.sleep, base_delay=retry.base_delay)
        except TemporaryFailure as exc:
            store.mark_deferred(subscriber.id, kind, period, iso(retry.next_attempt(clock(), attempts)), str(exc))
            self._count("deferred", "temporary", exc)
            return
        except PermanentFailure as exc:
            if exc.code is None or exc.code in _SETUP_CODES:
                store.mark_deferred(subscriber.id, kind, period, iso(clock()), str(exc), count=False)
                with self._lock:
                    self.stopped = self.stopped or f"stopped: the mail server refused us, not the recipient: {exc}"
                return
            bounced = store.mark_failed(subscriber.id, kind, period, str(exc), bounce_after=retry.bounce_after)
            if bounced:
                self._count("bounced")
            self._count("failed", "permanent", exc)
            return
        store.mark_sent(subscriber.id, kind, period, iso(clock()))
        self._count("sent", "sent")


class _Streak:
    """Counts messages failing the same way in a row, and stops the run when it is the server, not the addresses."""

    def __init__(self, retry: RetryPolicy) -> None:
        self.retry = retry
        self.temporary = 0
        self.permanent = 0

    def record(self, outcome: str, error: MailError | None = None) -> None:
        self.temporary = self.temporary + 1 if outcome == "temporary" else 0
        self.permanent = self.permanent + 1 if outcome == "permanent" else 0
        if self.temporary >= self.retry.stop_after_temporary:
            raise _Stop(f"stopped after {self.temporary} messages in a row failed temporarily: {error}")
        if self.permanent >= self.retry.stop_after_permanent:
            raise _Stop(f"stopped after {self.permanent} messages in a row were refused: {error}")


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")
