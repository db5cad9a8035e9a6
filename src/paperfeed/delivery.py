"""Sending digests and confirmation mails exactly once, and deciding which digest is due for whom and when.

Exactly once, step by step. For each (subscriber, kind, period) a ``deliveries`` row is written "pending" with its
deterministic Message-ID before anything is sent (one transaction per batch of subscribers); just before a message
goes to the SMTP server its row becomes "sending" (own transaction); once the server has accepted it (250 after
DATA) the row becomes "sent" (own transaction). A run that is killed leaves every row either final (sent, skipped,
failed), "pending" (never handed over: sent next run), or "sending": the message in flight on each SMTP connection
(one by default; ``connections`` for more). Only one process sends digests at a time (``store.sender_lock``: a file
lock on SQLite, an advisory lock on PostgreSQL, both released by the operating system or the server when their
holder dies), so a run that holds the lock knows any "sending" row is an orphan of a run that is gone, and sends it
again **with the same Message-ID** at once: no lease to wait out, and no second run can send it concurrently.

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
rest owed. ``send_due`` gives up on owed digests older than a day. A permanent one (5xx) marks the row failed and
counts against the address; three in a row bounce it (nothing more is sent). A failure that is about us and not the
recipient (authentication refused, TLS not offered) stops the run without counting against anyone.

When: ``send_due(now)`` sends each active subscriber the latest complete period due at their send hour in their time
zone: daily, the latest announcement day (a day with papers in the feed) on or before their local date, once the
send hour has come on that date (so non-announcement days send nothing, and a late ingest is sent at the next run);
weekly, the previous ISO week, from Monday at the send hour (a run that missed Monday catches up during the week).
``send_period(period)`` sends one period to every subscriber of its frequency who has not had it. Both are
idempotent: however often they run, each subscriber gets each period once. ``dry_run`` composes and reports and
neither sends nor records anything.
"""

from __future__ import annotations

import functools
import itertools
import threading
import time
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

from paperfeed.config import Config
from paperfeed.digests import check_period, compose_period, paper_count
from paperfeed.errors import StoreError
from paperfeed.mail import Digest, Mailer, PermanentFailure, TemporaryFailure, compose_confirmation, compose_digest
from paperfeed.mail.smtp import MailError, Sender, send_with_retry
from paperfeed.periods import Period, day_period, parse_period, week_period
from paperfeed.store import Store
from paperfeed.store.subscriptions import FINAL_STATUSES, Subscriber
from paperfeed.subscriptions import confirm_url, message_id, site_url
from paperfeed.tokens import instance_secret

BATCH = 500  # subscribers whose rows are written per transaction before their messages go out
DAILY_MAX_AGE_DAYS = 7  # a daily digest of an older day is not news (e.g. the feed stopped): none is due
PREVIEWS = 100  # dry runs list this many of the messages they would send
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


class _Clock:
    """``now`` as given, moving forward with real time: decisions use the run's start, timestamps the moment."""

    def __init__(self, now: datetime) -> None:
        self.start = now
        self._t0 = time.monotonic()

    def __call__(self) -> datetime:
        moment: datetime = self.start + timedelta(seconds=time.monotonic() - self._t0)
        return moment


# -- when -----------------------------------------------------------------------------------------------------------
def due_period(subscriber: Subscriber, now: datetime, latest_feed_day: Callable[[date], date | None]) -> Period | None:
    """The period whose digest ``subscriber`` is due at ``now`` (sent or not), or None."""
    local = _aware(now).astimezone(zoneinfo.ZoneInfo(subscriber.timezone))
    cutoff = local.date() if local.hour >= subscriber.send_hour else local.date() - timedelta(days=1)
    if subscriber.frequency == "weekly":
        return week_period(cutoff).shift(-1)
    day = latest_feed_day(cutoff)
    if day is None or (cutoff - day).days > DAILY_MAX_AGE_DAYS:
        return None
    return day_period(day)


def send_due(
    store: Store,
    config: Config,
    mailer: Sender | None,
    now: datetime,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    retry: RetryPolicy = RetryPolicy(),
    connections: int = 1,
    mailer_factory: Callable[[], Sender] | None = None,
) -> DeliveryReport:
    """Send every active subscriber the digest due at ``now`` (see the module docstring); meant to run often.

    With ``connections`` above 1, messages go over that many SMTP connections at once, each opened with
    ``mailer_factory`` (default ``Mailer.from_config``); ``mailer`` is then unused, and may be None."""
    clock = _Clock(_aware(now))
    stamp = _iso(clock.start)
    days: dict[date, date | None] = {}

    def latest(cutoff: date) -> date | None:
        if cutoff not in days:
            found = store.latest_feed_day(until=cutoff.isoformat())
            days[cutoff] = date.fromisoformat(found) if found else None
        return days[cutoff]

    active = {s.id: s for s in store.subscribers()}
    plan: dict[Period, dict[int, Subscriber]] = {}
    for subscriber in active.values():
        period = due_period(subscriber, clock.start, latest)
        if period is not None:
            plan.setdefault(period, {})[subscriber.id] = subscriber
    if not dry_run:
        store.give_up_deliveries("digest", _iso(clock.start - retry.give_up_after), "gave up: failing for a day")
    for sid, key, _ in store.owed_deliveries("digest", stamp):  # retries of earlier periods
        if sid in active:
            plan.setdefault(parse_period(key), {})[sid] = active[sid]
    return _run(store, config, mailer, plan, clock, _Options(dry_run, progress, retry, connections, mailer_factory))


def send_period(
    store: Store,
    config: Config,
    mailer: Sender | None,
    period: Period,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    retry: RetryPolicy = RetryPolicy(),
    connections: int = 1,
    mailer_factory: Callable[[], Sender] | None = None,
) -> DeliveryReport:
    """Send ``period``'s digest to every active subscriber of its frequency who has not had it yet (``connections``
    as for ``send_due``)."""
    frequency = check_period(period)
    clock = _Clock(_aware(now or datetime.now(UTC)))
    if period.kind == "day" and store.latest_feed_day(until=period.first.isoformat()) != period.first.isoformat():
        return DeliveryReport(dry_run=dry_run, notes=[f"{period.key} is not an announcement day: nothing to send"])
    plan = {period: {s.id: s for s in store.subscribers(frequency=frequency)}}
    return _run(store, config, mailer, plan, clock, _Options(dry_run, progress, retry, connections, mailer_factory))


# -- how ------------------------------------------------------------------------------------------------------------
def _run(
    store: Store,
    config: Config,
    mailer: Sender | None,
    plan: dict[Period, dict[int, Subscriber]],
    clock: _Clock,
    options: _Options,
) -> DeliveryReport:
    report = DeliveryReport(dry_run=options.dry_run)
    if options.dry_run:
        _deliver_plan(store, config, None, plan, clock, report, options.progress)
        return report
    with store.sender_lock("digests") as got:
        if not got:
            raise SenderBusy("another digest run is sending from this store; try again when it is done")
        factory = options.mailer_factory or (lambda: Mailer.from_config(config))
        outbox = _Outbox(store, mailer, clock, report, options.retry, options.connections, factory, options.progress)
        with outbox:
            _deliver_plan(store, config, outbox, plan, clock, report, options.progress)
        report.stopped = report.stopped or outbox.stopped
    return report


@dataclass(frozen=True)
class _Options:
    dry_run: bool
    progress: Progress | None
    retry: RetryPolicy
    connections: int
    mailer_factory: Callable[[], Sender] | None


def _deliver_plan(
    store: Store,
    config: Config,
    outbox: _Outbox | None,
    plan: dict[Period, dict[int, Subscriber]],
    clock: _Clock,
    report: DeliveryReport,
    progress: Progress | None,
) -> None:
    """Everything ``plan`` owes and has not had, period by period; ``outbox`` None is a dry run."""
    stamp = _iso(clock.start)
    work: list[tuple[Period, list[Subscriber]]] = []
    for period in sorted(plan, key=lambda p: (p.first, p.kind)):
        subscribers = list(plan[period].values())
        report.periods[period.key] = len(subscribers)
        states = store.delivery_states("digest", period.key, [s.id for s in subscribers])
        todo = []
        for subscriber in subscribers:
            state = states.get(subscriber.id)
            if state is None:
                todo.append(subscriber)
            elif state.status == "sent":
                report.already_sent += 1
            elif state.status in FINAL_STATUSES:
                report.already_done += 1
            elif state.next_attempt_at is not None and state.next_attempt_at > stamp:
                report.deferred += 1
            else:
                todo.append(subscriber)
        work.append((period, todo))
    if progress is not None:
        progress.start(sum(len(todo) for _, todo in work))
    for period, todo in work:
        _deliver_period(store, config, outbox, period, todo, clock, report, progress)


def _deliver_period(
    store: Store,
    config: Config,
    outbox: _Outbox | None,
    period: Period,
    subscribers: list[Subscriber],
    clock: _Clock,
    report: DeliveryReport,
    progress: Progress | None,
) -> None:
    for batch in _batched(compose_period(store, config, period, subscribers), BATCH):
        if outbox is not None and outbox.stopped:
            return
        if outbox is not None:
            rows = [(s.id, "pending" if paper_count(d) else "skipped", _digest_id(config, s, period)) for s, d in batch]
            store.record_deliveries("digest", period.key, rows, _iso(clock()))
        for subscriber, digest in batch:
            count = paper_count(digest)
            if not count:
                report.skipped += 1
            elif outbox is None:
                report.sent += 1
                if len(report.previews) < PREVIEWS:
                    preview = {"email": subscriber.email, "period": period.key, "papers": count}
                    report.previews.append({**preview, "subject": digest.subject})
            else:
                outbox.put("digest", subscriber, period.key, "active", _renderer(config, subscriber, digest, period))
                continue  # the outbox advances the progress when the message is done
            if progress is not None:
                progress.advance()
        if outbox is not None:
            outbox.drain()


def digest_message(
    config: Config, subscriber: Subscriber, digest: Digest, period: Period, date: datetime
) -> EmailMessage:
    return compose_digest(
        digest,
        to=subscriber.email,
        mail_from=str(config.mail_from),
        reply_to=str(config.reply_to) or None,
        message_id=_digest_id(config, subscriber, period),
        date=date,
        unsubscribe_post_url=digest.unsubscribe_url,
    )


def _digest_id(config: Config, subscriber: Subscriber, period: Period) -> str:
    return message_id(config, "digest", subscriber.id, subscriber.email, period.key)


def _renderer(
    config: Config, subscriber: Subscriber, digest: Digest, period: Period
) -> Callable[[datetime], EmailMessage]:
    return lambda moment: digest_message(config, subscriber, digest, period, moment)


class _Outbox:
    """Claims, sends and records owed messages, over one SMTP connection or several (a thread each).

    Rendering happens in the sending thread too, so with several connections one message renders while another
    waits for the server. Each message still goes claim → send → mark on its own; a killed run leaves at most one
    row "sending" per connection. The first reason to stop (``stopped``) makes every thread leave the rest owed."""

    def __init__(
        self,
        store: Store,
        mailer: Sender | None,
        clock: _Clock,
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

    def __enter__(self) -> _Outbox:
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
        claimed = store.claim_delivery(subscriber.id, kind, period, status, _iso(clock()))
        if claimed is None:
            self._count("cancelled")
            return
        previous, attempts = claimed
        if previous == "sending":
            self._count("resent")
        try:
            send_with_retry(mailer, message, attempts=retry.attempts, sleep=retry.sleep, base_delay=retry.base_delay)
        except TemporaryFailure as exc:
            store.mark_deferred(subscriber.id, kind, period, _iso(retry.next_attempt(clock(), attempts)), str(exc))
            self._count("deferred", "temporary", exc)
            return
        except PermanentFailure as exc:
            if exc.code is None or exc.code in _SETUP_CODES:
                store.mark_deferred(subscriber.id, kind, period, _iso(clock()), str(exc), count=False)
                with self._lock:
                    self.stopped = self.stopped or f"stopped: the mail server refused us, not the recipient: {exc}"
                return
            bounced = store.mark_failed(subscriber.id, kind, period, str(exc), bounce_after=retry.bounce_after)
            if bounced:
                self._count("bounced")
            self._count("failed", "permanent", exc)
            return
        store.mark_sent(subscriber.id, kind, period, _iso(clock()))
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


def send_confirmations(
    store: Store, config: Config, mailer: Sender, *, now: datetime | None = None, retry: RetryPolicy = RetryPolicy()
) -> int:
    """Send every queued confirmation mail; returns how many went out (0 when another process is sending them)."""
    clock = _Clock(_aware(now or datetime.now(UTC)))
    report = DeliveryReport()
    with store.sender_lock("confirmations") as got:
        if not got:
            return 0
        store.give_up_deliveries("confirm", _iso(clock.start - retry.give_up_after), "gave up: failing for a day")
        secret, site = instance_secret(config), site_url(config)
        with _Outbox(store, mailer, clock, report, retry) as outbox:
            for sid, period, _ in store.owed_deliveries("confirm", _iso(clock.start)):
                subscriber = store.subscriber(sid)
                if subscriber is None or outbox.stopped:
                    continue
                url = confirm_url(config, subscriber, secret)
                mid = message_id(config, "confirm", subscriber.id, subscriber.email, period)
                render = functools.partial(
                    _confirmation, to=subscriber.email, url=url, site=site, mail_from=str(config.mail_from), mid=mid
                )
                outbox.put("confirm", subscriber, period, "pending", render)
    return report.sent


def _confirmation(moment: datetime, *, to: str, url: str, site: str, mail_from: str, mid: str) -> EmailMessage:
    return compose_confirmation(to=to, confirm_url=url, site_url=site, mail_from=mail_from, message_id=mid, date=moment)


def _batched(items: Iterable[tuple[Subscriber, Digest]], size: int) -> Iterator[list[tuple[Subscriber, Digest]]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")
