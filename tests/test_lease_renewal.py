"""A running job renews its lease, so the lease can be short: a worker killed mid-job blocks the job for at most
LEASE_SECONDS, not for as long as the longest job might run."""

from __future__ import annotations

import time

import pytest

from paperfeed.jobs import tasks
from paperfeed.store import Store


def test_a_running_job_renews_its_lease_and_releases_it(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks, "LEASE_SECONDS", 2)
    monkeypatch.setattr(tasks, "LEASE_RENEW_SECONDS", 0.2)
    seen: list[float] = []

    def job() -> dict[str, int]:
        for _ in range(6):
            time.sleep(0.25)
            held = store.get_state("lease:slow")
            assert held is not None and held["owner"] == "a"
            seen.append(float(held["expires"]))
        # Past the first lease's end (2 s after the start, here 1.5 s in), another owner is still kept out.
        assert not store.acquire_lease("slow", "b", 2, time.time())
        return {"done": 1}

    started = time.time()
    result = tasks.run_leased(store, "slow", "a", job, started)
    assert result.status == "ran"
    assert seen[-1] > seen[0] >= started + 2  # renewed while it ran
    assert store.get_state("lease:slow") is None  # released at the end


def test_a_killed_holders_lease_ends_after_lease_seconds(store: Store) -> None:
    start = 1_000_000.0
    assert store.acquire_lease("harvest", "killed-worker", tasks.LEASE_SECONDS, start)
    assert (
        tasks.run_leased(store, "harvest", "other", lambda: {"x": 1}, start + tasks.LEASE_SECONDS - 1).status == "busy"
    )
    taken = tasks.run_leased(store, "harvest", "other", lambda: {"x": 1}, start + tasks.LEASE_SECONDS + 1)
    assert taken.status == "ran"
    assert tasks.LEASE_SECONDS <= 900  # a killed worker's job waits minutes, not hours
