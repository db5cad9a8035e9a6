"""/healthz and /metrics on a running site over the test's real store (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

from paperfeed.store.migrations import LATEST
from web_support import Site, paper


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_healthz_reports_store_schema_and_index_lag(site: Site) -> None:
    site.add(paper("2601.00001", "Alpha", "2026-01-05"), paper("2601.00002", "Beta", "2026-01-05"))
    answer = site.browser().get("/healthz")
    assert answer.status_code == 200
    assert "set-cookie" not in answer.headers and answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["status"] == "ok"
    assert body["store"]["ok"] is True and body["store"]["seq"] == site.store.max_seq()
    assert body["schema"] == {"version": LATEST, "expected": LATEST, "current": True}
    keyword = body["index"]["keyword"]
    assert keyword["seq"] + keyword["lag"] >= 2 or keyword["lag"] == 0  # lag counts papers not yet indexed
    site.caught_up()
    keyword = site.browser().get("/healthz").json()["index"]["keyword"]
    assert keyword == {"seq": site.store.max_seq(), "lag": 0, "error": None}


def test_healthz_is_503_when_the_index_lags_past_the_bound(site_with: Callable[..., Site]) -> None:
    site = site_with(PAPERFEED_HEALTH_MAX_INDEX_LAG="1", PAPERFEED_INDEX_FOLLOW_SECONDS="0")
    site.caught_up()
    from paperfeed.search.indexes import indexes_for

    indexes_for(site.store).close()  # no catch-up thread follows the store from here on
    site.add(*(paper(f"2601.0001{i}", f"Paper {i}", "2026-01-06") for i in range(3)))
    answer = site.browser().get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["status"] == "failing" and answer.json()["index"]["ok"] is False
    assert answer.json()["index"]["keyword"]["lag"] == 3


def test_healthz_is_503_when_the_schema_is_behind(site: Site) -> None:
    site.store.db.execute("DELETE FROM schema_migrations WHERE version = ?", (LATEST,))
    try:
        answer = site.browser().get("/healthz")
        assert answer.status_code == 503
        assert answer.json()["schema"] == {"version": LATEST - 1, "expected": LATEST, "current": False}
    finally:
        site.store.db.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'back', 'now')", (LATEST,)
        )


def test_healthz_is_503_when_the_store_is_unreachable(site: Site) -> None:
    site.store.close()
    real = site.store.db._connect

    def refuse() -> object:
        raise OSError("connection refused")

    site.store.db._connect = refuse  # type: ignore[method-assign]
    try:
        answer = site.browser().get("/healthz")
    finally:
        site.store.db._connect = real  # type: ignore[method-assign]
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "failing" and body["store"]["ok"] is False
    assert "connection refused" in body["store"]["error"]


def test_metrics_label_requests_by_route_template_not_path(site: Site) -> None:
    site.add(*(paper(f"2601.0002{i}", f"Paper {i}", "2026-01-07") for i in range(3)))
    browser = site.browser()
    for i in range(3):
        assert browser.get(f"/papers/2601.0002{i}").status_code == 200
    for i in range(5):
        assert browser.get(f"/no/such/page/{i}").status_code == 404
    answer = browser.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    assert "set-cookie" not in answer.headers
    samples = _samples(answer.text)
    paper_route = (
        "paperfeed_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "/papers/{paper_id:path}"), ("status", "2xx")),
    )
    assert samples[paper_route] >= 3
    unmatched = (("method", "GET"), ("route", "unmatched"), ("status", "4xx"))
    assert samples[("paperfeed_http_request_duration_seconds_count", unmatched)] >= 5
    routes = {dict(labels).get("route") for name, labels in samples if name.startswith("paperfeed_http_request")}
    assert not any(route and "2601." in route for route in routes)  # raw paths never become labels
    assert samples[("paperfeed_store_up", ())] == 1
    assert samples[("paperfeed_store_seq", ())] == site.store.max_seq()
    assert ("paperfeed_index_lag_changes", (("index", "keyword"),)) in samples


def test_metrics_count_digest_deliveries_and_the_queue(site: Site) -> None:
    from paperfeed.jobs.worker import make_queue

    browser = site.browser()
    answer = browser.post("/subscribe", {"email": "reader@example.org", "frequency": "daily"}, csrf=browser.csrf("/"))
    assert answer.status_code in (200, 303)
    site.store.db.execute("UPDATE deliveries SET status = 'sent'")
    queue = make_queue(site.app.state.site.config)  # a worker's queue file on this machine, one job waiting
    queue.enqueue(queue.task(name="noop")(lambda: None).s())
    samples = _samples(site.browser().get("/metrics").text)
    assert samples[("paperfeed_digest_deliveries", (("kind", "confirm"), ("status", "sent")))] == 1
    assert samples[("paperfeed_job_queue_up", ())] == 1
    assert samples[("paperfeed_job_queue_depth", ())] == 1
