"""The scheduled jobs: when a harvest is due, leases that keep two workers from running a job at once, a harvest
against recorded arXiv responses, and the Huey wiring of ``paperfeed worker``."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from paperfeed.config import load_config
from paperfeed.jobs.tasks import JobResult, latest_announcement, run_leased, tick
from paperfeed.jobs.worker import build_worker
from paperfeed.search.registry import SearchSettings, register
from paperfeed.store import Store, open_store

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Monday 2026-11-23: before 22:30 Eastern (03:30 UTC next day) the latest complete one is Sunday's.
        ("2026-11-24T03:00:00+00:00", "2026-11-22"),
        ("2026-11-24T03:45:00+00:00", "2026-11-23"),
        # Friday and Saturday evenings have no announcement: Thursday's stays the latest until Sunday 22:30.
        ("2026-11-28T12:00:00+00:00", "2026-11-26"),
        ("2026-11-29T20:00:00+00:00", "2026-11-26"),
        ("2026-11-30T04:00:00+00:00", "2026-11-29"),
        # Summer time: 22:30 EDT is 02:30 UTC.
        ("2026-07-07T02:40:00+00:00", "2026-07-06"),
        ("2026-07-07T02:20:00+00:00", "2026-07-05"),
    ],
)
def test_harvest_is_due_after_each_announcement(now: str, expected: str) -> None:
    assert latest_announcement(datetime.fromisoformat(now)) == date.fromisoformat(expected)


def test_a_lease_keeps_a_second_owner_out_until_released(store: Store) -> None:
    started, finish = threading.Event(), threading.Event()
    results: list[JobResult] = []

    def slow() -> dict[str, int]:
        started.set()
        finish.wait(10)
        return {"done": 1}

    first = threading.Thread(target=lambda: results.append(run_leased(store, "job", "a", slow, time.time())))
    first.start()
    assert started.wait(10)
    assert run_leased(store, "job", "b", lambda: {"done": 2}, time.time()).status == "busy"
    finish.set()
    first.join()
    assert results[0].status == "ran" and results[0].detail == {"done": 1}
    assert run_leased(store, "job", "b", lambda: {"done": 2}, time.time()).status == "ran"
    # A crashed holder's lease expires: owner c takes over once the lease time has passed.
    assert store.acquire_lease("job", "crashed", 60, 1000.0)
    assert not store.acquire_lease("job", "c", 60, 1030.0)
    assert store.acquire_lease("job", "c", 60, 1061.0)


@pytest.fixture
def slow_arxiv() -> Iterator[str]:
    """Recorded OAI-PMH pages served slowly (0.5 s each), so two concurrent harvests overlap."""
    page = (FIXTURES / "oai" / "mikesaelim_arXivOAIHarvester" / "ListRecordsResponse.xml").read_bytes()
    page = page.replace(b">726959|1001</resumptionToken>", b"></resumptionToken>")
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            time.sleep(0.5)
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _env(store_url: str, tmp_path: Path, arxiv: str) -> dict[str, str]:
    return {
        "PAPERFEED_DATABASE_URL": store_url,
        "PAPERFEED_DATA_DIR": str(tmp_path),
        "PAPERFEED_CACHE_DIR": str(tmp_path / "cache"),
        "PAPERFEED_ARXIV_OAI_URL": f"{arxiv}/oai",
        "PAPERFEED_ARXIV_SETS": "physics:cond-mat",
        "PAPERFEED_REQUEST_INTERVAL": "0",
        "PAPERFEED_HF_SIGNALS": "false",
    }


def test_harvest_job_ingests_indexes_and_is_then_not_due(store_url: str, tmp_path: Path, slow_arxiv: str) -> None:
    config = load_config(env=_env(store_url, tmp_path, slow_arxiv))
    now = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)
    with open_store(config.store_url) as store:
        register(store, SearchSettings.from_config(config))  # as the worker does
        (result,) = tick(store, config, now, only="harvest")
        assert result.status == "ran", result
        assert result.detail["new"] >= 5 and result.detail["announcement"] == "2026-11-23"
        assert result.detail["from"] == "2026-11-21"  # harvest_days (3) back on the first run
        assert result.detail["indexed"]["keyword_updated"] == result.detail["new"]
        assert store.count_papers() == result.detail["new"]
        again = tick(store, config, now, only="harvest")
        assert [r.status for r in again] == ["not-due"]
        # The next announcement makes it due again, from the day of the last harvest.
        later = tick(store, config, datetime(2026, 11, 25, 4, 0, tzinfo=UTC), only="harvest")
        assert later[0].status == "ran" and later[0].detail["from"] == "2026-11-24"


@pytest.mark.slow
def test_two_workers_at_once_run_the_harvest_once(store_url: str, tmp_path: Path, slow_arxiv: str) -> None:
    outside = {k: v for k, v in os.environ.items() if not k.startswith("PAPERFEED_")}  # e.g. PAPERFEED_TEST_PG
    env = {**outside, **_env(store_url, tmp_path, slow_arxiv)}
    cmd = [sys.executable, "-m", "paperfeed", "worker", "--once", "--job", "harvest", "--json"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(out for out, _ in outputs), [err.decode()[-2000:] for _, err in outputs]
    statuses = sorted(json.loads(out)[0]["status"] for out, _ in outputs)
    # One ran; the other found the lease taken, or (if it started after the first finished) nothing due.
    assert statuses in (["busy", "ran"], ["not-due", "ran"]), outputs


def test_the_worker_queue_runs_each_job_through_huey(store_url: str, tmp_path: Path, slow_arxiv: str) -> None:
    config = load_config(env=_env(store_url, tmp_path, slow_arxiv))
    huey, tasks = build_worker(config)
    assert set(tasks) == {"harvest", "listings", "hf-signals", "digests", "schedule"}
    assert (tmp_path / "worker-queue.db").exists()
    huey.immediate = True  # run tasks in this process as they are enqueued
    results = tasks["hf-signals"]().get()
    assert results == [{"job": "hf-signals", "status": "not-due"}]  # hf_signals is off in this configuration
