"""The recurring jobs and when each is due: harvest arXiv after each announcement, read the day's listing feeds,
index what came in, refresh Hugging Face signals (trending's external votes), and send the digests that are due.

arXiv announces Sunday to Thursday at 20:00 US Eastern and its OAI-PMH data is complete about 22:30, so the harvest
is due once per announcement evening after 22:30 Eastern (a worker that was down catches up at its next tick).
Every job runs under a lease in the store, so two workers — threads, processes or machines sharing the store —
never run the same job at once, and every job is safe to re-run (harvests resume from their checkpoint, ingest is
idempotent, deliveries are recorded per subscriber and period). ``tick`` runs whatever is due; the worker
(``paperfeed.jobs.worker``) calls it on a schedule.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from paperfeed.config import Config
from paperfeed.errors import PaperfeedError
from paperfeed.ingest.writer import ingest
from paperfeed.papers import Paper
from paperfeed.sources import Batch, hf_daily, oai
from paperfeed.sources.http import PoliteClient
from paperfeed.sources.registry import SOURCES, FetchRequest
from paperfeed.store import Store

log = logging.getLogger("paperfeed.jobs")

ARXIV_TZ = ZoneInfo("America/New_York")
OAI_READY = time(22, 30)
ANNOUNCEMENT_WEEKDAYS = frozenset({6, 0, 1, 2, 3})  # Sunday to Thursday (Monday is 0)
HF_REFRESH = timedelta(hours=1)
LISTINGS_STATE = "job:listings"
FEED_GIVE_UP = time(6, 0)  # a listing feed not rebuilt by then (Eastern) is taken as no listing that day
# A job's lease is short and renewed while the job runs, so a worker killed mid-job (SIGKILL, a lost machine) holds
# it for at most LEASE_SECONDS; the next tick after that runs the job again, from its checkpoint.
LEASE_SECONDS = 600
LEASE_RENEW_SECONDS = 60


def latest_announcement(now: datetime) -> date:
    """The (US Eastern) evening of the latest announcement whose OAI-PMH data should be complete at ``now``."""
    local = now.astimezone(ARXIV_TZ)
    day = local.date() if local.time() >= OAI_READY else local.date() - timedelta(days=1)
    while day.weekday() not in ANNOUNCEMENT_WEEKDAYS:
        day -= timedelta(days=1)
    return day


@dataclass
class JobResult:
    name: str
    status: str  # ran | not-due | busy | failed
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"job": self.name, "status": self.status, **self.detail}


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_leased(store: Store, name: str, owner: str, job: Callable[[], dict[str, Any] | None], now: float) -> JobResult:
    """Run ``job`` only if this owner gets the job's lease; ``None`` from the job means it was not due."""
    if not store.acquire_lease(name, owner, LEASE_SECONDS, now):
        return JobResult(name, "busy")
    done = threading.Event()

    def renew() -> None:  # moves with the real clock (``now`` may be a replayed moment)
        offset = now - _time.time()
        while not done.wait(LEASE_RENEW_SECONDS):
            try:
                store.acquire_lease(name, owner, LEASE_SECONDS, _time.time() + offset)
            except Exception:  # the store is away for a moment: the next renewal tries again
                log.warning("job %s: lease renewal failed", name, exc_info=True)

    renewer = threading.Thread(target=renew, name=f"lease {name}", daemon=True)
    renewer.start()
    try:
        detail = job()
    except PaperfeedError as exc:
        log.error("job %s failed: %s", name, exc)
        return JobResult(name, "failed", {"error": str(exc)})
    finally:
        done.set()
        renewer.join()
        store.release_lease(name, owner)
    return JobResult(name, "not-due") if detail is None else JobResult(name, "ran", detail)


def harvest(store: Store, config: Config, now: datetime, client: PoliteClient | None = None) -> dict[str, Any] | None:
    """Harvest the configured OAI sets since the last harvest if an announcement came since; then index."""
    from paperfeed.search.indexes import indexes_for

    if not config.arxiv_sets:  # no sets configured: this instance is fed some other way
        return None
    due = latest_announcement(now).isoformat()
    last = store.get_state("job:harvest")
    if last and last.get("announcement", "") >= due:
        return None
    from_date = last["from"] if last else (now.date() - timedelta(days=config.harvest_days)).isoformat()
    request = FetchRequest(sets=tuple(config.arxiv_sets), from_date=from_date, state=store.get_state)
    report = ingest(store, SOURCES[oai.SOURCE].fetch_batches(config, request, client))
    indexed = indexes_for(store).sync().to_dict()
    # Next time, ask for records changed since today (UTC, OAI datestamps' zone): overlap is harmless.
    store.set_state("job:harvest", {"announcement": due, "from": now.astimezone(UTC).date().isoformat()})
    return {
        "announcement": due,
        "from": from_date,
        "new": report.new,
        "updated": report.updated,
        "rejected": report.rejected,
        "indexed": indexed,
    }


def listing_categories(sets: list[str]) -> list[str]:
    """The listing feeds of the harvested OAI sets: ``cs:cs:LG`` → ``cs.LG``, ``physics:cond-mat`` → ``cond-mat``,
    ``math`` → ``math`` (a whole archive has a feed of its own)."""
    categories = []
    for spec in sets:
        parts = [p for p in spec.split(":") if p]
        name = f"{parts[1]}.{parts[2]}" if len(parts) >= 3 else parts[-1] if parts else ""
        if name and name not in categories:
            categories.append(name)
    return categories


def read_listings(
    store: Store, config: Config, now: datetime, client: PoliteClient | None = None
) -> dict[str, Any] | None:
    """Read each harvested category's listing feed once per listing day: the only source that says a paper was
    announced new or cross-listed, and on which day (a day derived from a harvest gives way to it).

    The feeds are rebuilt shortly after midnight Eastern. Each category's papers are written together with the
    checkpoint that marks it read for the day, so a re-run reads only what is left. A feed still showing an older
    day (not rebuilt yet) is not marked read before 06:00 Eastern, so a later tick tries again; after that, the day
    is taken as one without a listing (a holiday)."""
    from paperfeed.search.indexes import indexes_for
    from paperfeed.sources.announcements import ARXIV_TZ, latest_feed_day

    categories = listing_categories(list(config.arxiv_sets))
    if not categories:
        return None
    due = latest_feed_day(now).isoformat()
    state = store.get_state(LISTINGS_STATE) or {}
    done = set(state.get("read", [])) if state.get("day") == due else set()
    todo = [c for c in categories if c not in done]
    if not todo:
        return None
    local = now.astimezone(ARXIV_TZ)
    give_up = local.date().isoformat() > due or local.time() >= FEED_GIVE_UP
    counts = {"new": 0, "updated": 0, "rejected": 0}
    stale = []
    # One batch per category, in order, all through one client (one request every request_interval seconds).
    fetched = SOURCES["arxiv-rss"].fetch_batches(config, FetchRequest(args=tuple(todo)), client)
    for category, batch in zip(todo, fetched, strict=True):
        days = {day for item in batch.items if isinstance(item, Paper) for day in item.listing_days}
        if due in days or give_up:
            done.add(category)
        else:
            stale.append(category)
        checkpoint = (LISTINGS_STATE, {"day": due, "read": sorted(done)})
        report = ingest(store, [Batch(batch.items, checkpoint=checkpoint, meta=batch.meta)])
        counts = {k: counts[k] + getattr(report, k) for k in counts}
    indexed = indexes_for(store).sync().to_dict()
    return {"day": due, "categories": todo, "stale": stale, **counts, "indexed": indexed}


def refresh_hf_signals(
    store: Store, config: Config, now: datetime, client: PoliteClient | None = None
) -> dict[str, Any] | None:
    """Re-read today's and yesterday's Hugging Face Daily Papers (upvotes, comments) at most once an hour."""
    if not config.hf_signals:
        return None
    last = store.get_state("job:hf-signals")
    if last and datetime.fromisoformat(last["at"]) + HF_REFRESH > now:
        return None
    days = [(now.date() - timedelta(days=n)).isoformat() for n in (1, 0)]
    report = ingest(store, SOURCES[hf_daily.SOURCE].fetch_batches(config, FetchRequest(days=tuple(days)), client))
    store.set_state("job:hf-signals", {"at": now.isoformat()})
    return {"days": days, "new": report.new, "updated": report.updated}


def send_digests(store: Store, config: Config, now: datetime) -> dict[str, Any] | None:
    """Send every digest that is due at ``now`` (each subscriber's hour, in their time zone)."""
    from paperfeed.digests.outbox import SenderBusy
    from paperfeed.digests.schedule import send_due
    from paperfeed.digests.subscriptions import send_confirmations
    from paperfeed.digests.transport import open_mailer

    try:
        with open_mailer(config) as mailer:
            confirmations = send_confirmations(store, config, mailer)
            report = send_due(store, config, mailer, now, connections=config.smtp_connections)
    except SenderBusy as exc:  # a `paperfeed digest send` run is at it: it sends what is due
        return {"skipped": str(exc)}
    return {"confirmations": confirmations, **report.to_dict()}


JOBS: dict[str, Callable[[Store, Config, datetime], dict[str, Any] | None]] = {
    "harvest": harvest,
    "listings": read_listings,
    "hf-signals": refresh_hf_signals,
    "digests": send_digests,
}


def tick(
    store: Store, config: Config, now: datetime | None = None, *, only: str | None = None, owner: str | None = None
) -> list[JobResult]:
    """Run every job that is due (or just ``only``), each under its lease; returns what each did."""
    now = now or datetime.now(UTC)
    owner = owner or worker_id()
    results = []
    for name, job in JOBS.items():
        if only and name != only:
            continue

        def run(job: Callable[[Store, Config, datetime], dict[str, Any] | None] = job) -> dict[str, Any] | None:
            return job(store, config, now)

        results.append(run_leased(store, name, owner, run, now.timestamp()))
    return results
