"""Prometheus metrics of a web process: request latency by route template, and the store's numbers at scrape time.

Request latency is labelled by the route's *template* (``/papers/{paper_id:path}``, never the raw path), the method
and the status class, so the number of series is bounded by the routes, whatever visitors ask for; requests that
match no route share one label. Everything that is not about this process (index lag, job queue depth, digests
sent and failed) is read from the store and the queue when Prometheus scrapes, so every node reports the same truth
and a restarted process loses no count. With several worker processes behind one socket (``serve --workers N``)
the request metrics go through prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set by
``web/serve.py``), so a scrape sees all workers, not whichever one answered.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.process_collector import ProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paperfeed.config import Config
from paperfeed.store import Store
from paperfeed.web.health import check

log = logging.getLogger("paperfeed.web")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
ROUTE_KEY = "paperfeed.route"  # a scope key: the route template when the router did not run (a cached answer)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# The process's own metrics; the app's registry forwards them (or, in multiprocess mode, reads every worker's files).
PROCESS = CollectorRegistry(auto_describe=True)
REQUEST_SECONDS = Histogram(
    "paperfeed_http_request_duration_seconds",
    "Time from request to the last byte of the answer, by route template, method and status class.",
    ["route", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=PROCESS,
)
PAGE_CACHE = Counter(
    "paperfeed_page_cache_requests",
    "Requests for cacheable pages by what the page cache did: hit, not_modified (304), miss (rendered and kept), "
    "uncacheable (rendered, not kept: an error, a redirect), bypass (a signed-in member or an API token).",
    ["result"],
    registry=PROCESS,
)
if MULTIPROC_ENV not in os.environ:
    ProcessCollector(registry=PROCESS)


def route_template(scope: Scope) -> str:
    """The matched route's template, ``/static`` for static files, else ``unmatched`` (bounded either way)."""
    known = scope.get(ROUTE_KEY)
    if known:
        return str(known)
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    if str(scope.get("path", "")).startswith("/static/"):
        return "/static"
    return "unmatched"


class RequestMetrics:
    """ASGI middleware timing every HTTP request (outermost, so cached answers are timed too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            method = scope.get("method", "GET")
            REQUEST_SECONDS.labels(
                route_template(scope), method if method in METHODS else "other", f"{status // 100}xx"
            ).observe(time.perf_counter() - start)


class _Forward:
    """Lets a registry include another registry's metrics (the process's, in the app's)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()


class StoreCollector:
    """What the store and the job queue say, read at scrape time."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config
        self._queue: Any = None

    def collect(self) -> Iterator[Metric]:
        report = check(self.store)
        up = GaugeMetricFamily("paperfeed_store_up", "1 when the store answers and its schema is current.")
        up.add_metric([], 1.0 if report.healthy else 0.0)
        yield up
        if report.store_seq is not None:
            yield GaugeMetricFamily("paperfeed_store_seq", "The store's latest change number.", report.store_seq)
        if report.keyword_seq is not None and report.keyword_lag is not None:
            seq = GaugeMetricFamily("paperfeed_index_seq", "The last store change an index applied.", labels=["index"])
            seq.add_metric(["keyword"], report.keyword_seq)
            yield seq
            lag = GaugeMetricFamily(
                "paperfeed_index_lag_changes", "Store changes an index has not applied yet.", labels=["index"]
            )
            lag.add_metric(["keyword"], report.keyword_lag)
            yield lag
        if report.store_ok:
            yield from self._deliveries()
        yield from self._queue_depth()

    def _deliveries(self) -> Iterator[Metric]:
        try:
            counts = self.store.delivery_counts()
        except Exception as exc:  # a scrape must never fail on one number
            log.warning("metrics: delivery counts unavailable: %s", exc)
            return
        family = GaugeMetricFamily(
            "paperfeed_digest_deliveries",
            "Messages owed to subscribers by kind (digest frequency, confirm) and status (sent, failed, pending, …).",
            labels=["kind", "status"],
        )
        for (kind, status), n in sorted(counts.items()):
            family.add_metric([kind, status], n)
        yield family

    def _queue_depth(self) -> Iterator[Metric]:
        from paperfeed.jobs.worker import make_queue

        queue_file = self.config.data_path / "worker-queue.db"
        if not self.config.worker_queue.startswith("redis://") and not queue_file.exists():
            return  # no worker has run on this machine: do not create its queue file from here
        up = GaugeMetricFamily("paperfeed_job_queue_up", "1 when the worker queue answered.")
        try:
            if self._queue is None:
                self._queue = make_queue(self.config)
            depth = int(self._queue.pending_count())
        except Exception as exc:
            log.warning("metrics: worker queue unavailable: %s", exc)
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield up
        yield GaugeMetricFamily("paperfeed_job_queue_depth", "Jobs waiting in the worker queue.", depth)


def app_registry(store: Store, config: Config) -> CollectorRegistry:
    """The registry ``/metrics`` renders: this process's (or all workers') request metrics plus the store's."""
    registry = CollectorRegistry(auto_describe=False)
    directory = os.environ.get(MULTIPROC_ENV)
    if directory and os.path.isdir(directory):
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Forward(PROCESS))
    registry.register(StoreCollector(store, config))
    return registry
