"""When a digest is due, and sending the due ones: which period each subscriber is owed at a moment, composing
those digests in batches, recording what is owed and handing it to the outbox.

``send_due(now)`` sends each active subscriber the latest complete period due at their send hour in their time
zone: daily, the latest announcement day (a day with papers in the feed) on or before their local date, once the
send hour has come on that date (so non-announcement days send nothing, and a late ingest is sent at the next run);
weekly, the previous ISO week, from Monday at the send hour (a run that missed Monday catches up during the week).
``send_period(period)`` sends one period to every subscriber of its frequency who has not had it. Both are
idempotent: however often they run, each subscriber gets each period once. ``dry_run`` composes and reports and
neither sends nor records anything.

Each digest is recorded as owed ("pending", or "skipped" when nothing was new) with its Message-ID before any of
its batch is sent; ``outbox`` sends the owed ones exactly once. ``send_due`` also gives up on owed digests that
have been failing for a day.
"""

from __future__ import annotations

import itertools
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

from paperfeed.config import Config
from paperfeed.digests.compose import check_period, compose_period, paper_count
from paperfeed.digests.emails import Digest, compose_digest
from paperfeed.digests.links import message_id
from paperfeed.digests.outbox import (
    Clock,
    DeliveryReport,
    Outbox,
    Progress,
    RetryPolicy,
    SenderBusy,
    aware,
    iso,
)
from paperfeed.digests.smtp import Sender
from paperfeed.digests.transport import open_mailer
from paperfeed.periods import Period, day_period, parse_period, week_period
from paperfeed.store import Store
from paperfeed.store.subscriptions import FINAL_STATUSES, Subscriber

BATCH = 500  # subscribers whose rows are written per transaction before their messages go out
DAILY_MAX_AGE_DAYS = 7  # a daily digest of an older day is not news (e.g. the feed stopped): none is due
PREVIEWS = 100  # dry runs list this many of the messages they would send


def due_period(subscriber: Subscriber, now: datetime, latest_feed_day: Callable[[date], date | None]) -> Period | None:
    """The period whose digest ``subscriber`` is due at ``now`` (sent or not), or None."""
    local = aware(now).astimezone(zoneinfo.ZoneInfo(subscriber.timezone))
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
    ``mailer_factory`` (default ``transport.open_mailer``: SMTP or the local outbox); ``mailer`` is then unused,
    and may be None."""
    clock = Clock(aware(now))
    stamp = iso(clock.start)
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
        store.give_up_deliveries("digest", iso(clock.start - retry.give_up_after), "gave up: failing for a day")
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
    clock = Clock(aware(now or datetime.now(UTC)))
    if period.kind == "day" and store.latest_feed_day(until=period.first.isoformat()) != period.first.isoformat():
        return DeliveryReport(dry_run=dry_run, notes=[f"{period.key} is not an announcement day: nothing to send"])
    plan = {period: {s.id: s for s in store.subscribers(frequency=frequency)}}
    return _run(store, config, mailer, plan, clock, _Options(dry_run, progress, retry, connections, mailer_factory))


# -- sending what is due ---------------------------------------------------------------------------------------------
def _run(
    store: Store,
    config: Config,
    mailer: Sender | None,
    plan: dict[Period, dict[int, Subscriber]],
    clock: Clock,
    options: _Options,
) -> DeliveryReport:
    report = DeliveryReport(dry_run=options.dry_run)
    if options.dry_run:
        _deliver_plan(store, config, None, plan, clock, report, options.progress)
        return report
    with store.sender_lock("digests") as got:
        if not got:
            raise SenderBusy("another digest run is sending from this store; try again when it is done")
        factory = options.mailer_factory or (lambda: open_mailer(config))
        outbox = Outbox(store, mailer, clock, report, options.retry, options.connections, factory, options.progress)
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
    outbox: Outbox | None,
    plan: dict[Period, dict[int, Subscriber]],
    clock: Clock,
    report: DeliveryReport,
    progress: Progress | None,
) -> None:
    """Everything ``plan`` owes and has not had, period by period; ``outbox`` None is a dry run."""
    stamp = iso(clock.start)
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
    outbox: Outbox | None,
    period: Period,
    subscribers: list[Subscriber],
    clock: Clock,
    report: DeliveryReport,
    progress: Progress | None,
) -> None:
    for batch in _batched(compose_period(store, config, period, subscribers), BATCH):
        if outbox is not None and outbox.stopped:
            return
        if outbox is not None:
            rows = [(s.id, "pending" if paper_count(d) else "skipped", _digest_id(config, s, period)) for s, d in batch]
            store.record_deliveries("digest", period.key, rows, iso(clock()))
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
        mail_from=config.mail_from,
        reply_to=config.reply_to or None,
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


def _batched(items: Iterable[tuple[Subscriber, Digest]], size: int) -> Iterator[list[tuple[Subscriber, Digest]]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch
