"""``paperfeed worker``: Huey runs the recurring jobs of ``paperfeed.jobs.tasks`` on a schedule.

Huey keeps its queue and schedule in a SQLite file in the data directory by default, or in Redis
(``PAPERFEED_WORKER_QUEUE=redis://…``) when workers run on several machines. A periodic task fires every five
minutes and enqueues one task per job; each job decides itself whether it is due and runs under a lease in the
store, so two workers never run a job twice at once, and Huey's own lock keeps one consumer's threads apart.
"""

from __future__ import annotations

import logging
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey, crontab

from paperfeed.config import Config
from paperfeed.jobs.tasks import JOBS, tick
from paperfeed.search.registry import SearchSettings, register
from paperfeed.store import open_store

log = logging.getLogger("paperfeed.worker")
TICK_MINUTES = 5


def make_queue(config: Config) -> Huey:
    url = config.worker_queue
    if url.startswith("redis://"):
        return RedisHuey("paperfeed", url=url, utc=True)
    path = config.data_path / "worker-queue.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("paperfeed", filename=str(path), utc=True)


def build_worker(config: Config) -> tuple[Huey, dict[str, Any]]:
    """The queue with one task per job and the periodic task that enqueues them; returns (huey, tasks)."""
    huey = make_queue(config)
    tasks: dict[str, Any] = {}

    def make_task(name: str) -> Any:
        def run_job() -> list[dict[str, Any]]:
            with open_store(config.store_url) as store:
                register(store, SearchSettings.from_config(config))
                results = [r.to_dict() for r in tick(store, config, only=name)]
            for result in results:
                level = logging.WARNING if result["status"] == "failed" else logging.INFO
                log.log(level, "%s", result)
            return results

        run_job.__name__ = f"job_{name.replace('-', '_')}"
        return huey.task(name=f"paperfeed.{name}")(huey.lock_task(f"paperfeed-{name}")(run_job))

    for name in JOBS:
        tasks[name] = make_task(name)

    def schedule() -> None:
        for task in list(tasks.values())[: len(JOBS)]:
            task()

    tasks["schedule"] = huey.periodic_task(crontab(minute=f"*/{TICK_MINUTES}"), name="paperfeed.schedule")(schedule)
    return huey, tasks


def run_worker(config: Config, threads: int = 1) -> None:
    """Run the consumer in this process until interrupted (Ctrl-C / SIGTERM stop it gracefully)."""
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)
    huey, tasks = build_worker(config)
    for name, task in tasks.items():
        if name != "schedule":
            task()  # catch up at start rather than waiting for the first five-minute mark
    consumer = huey.create_consumer(workers=max(1, threads), periodic=True, check_worker_health=True)
    consumer.run()
