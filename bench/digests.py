"""Digest composition and sending at scale, through the product's own functions.

    python bench/digests.py ../shared/data/arxiv-listings/arxiv_daily_listings.dedup.jsonl.gz \
        --subscribers 100000 --send 3000

Builds a SQLite store of the real arXiv listings (74,728 papers) with its keyword index and a vector per paper (the
synthetic-vector approach of bench/search_speed.py: cached real vectors where there are any, noisy copies of them
otherwise; queries are embedded by the real model), gives 5% of the chosen day's papers some upvotes so trending has
something to rank, and writes ``--subscribers`` confirmed subscribers, each with 3 topics drawn from the data: arXiv
categories weighted by how many papers they list, authors with at least 3 papers weighted by their count, and ~200
saved queries (the most frequent two-word phrases of real titles, Zipf-weighted). 70% include trending.

Composition: ``compose_period`` for every daily subscriber of one announcement day (the busiest of the last month of
data), timed end to end (loading subscribers, each distinct topic once, assembling every digest), with ``gather``
and the per-subscriber assembly also timed apart. Sending: ``send_period`` of the day's ISO week for ``--send``
subscribers moved to weekly, to an aiosmtpd sink (another process, messages discarded) on loopback: compose, write
the owed rows, claim, render the MIME message, SMTP, mark sent — the whole path, one message at a time.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import importlib.util
import itertools
import json
import platform
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import platformdirs

from paperfeed.config import load_config
from paperfeed.digests.compose import assemble, compose_period, gather, paper_count
from paperfeed.digests.links import manage_url, site_url, unsubscribe_url
from paperfeed.digests.schedule import digest_message, send_period
from paperfeed.ingest.writer import ingest
from paperfeed.periods import day_period, week_period
from paperfeed.search.indexes import indexes_for
from paperfeed.search.registry import SearchSettings, register
from paperfeed.sources.files import read_file
from paperfeed.store import Store, open_store
from paperfeed.tokens import instance_secret

STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "in",
        "into",
        "is",
        "of",
        "on",
        "or",
        "the",
        "to",
        "via",
        "with",
        "without",
        "using",
        "towards",
        "toward",
    ]
)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _search_speed() -> Any:
    spec = importlib.util.spec_from_file_location("search_speed", Path(__file__).with_name("search_speed.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(store: Store, data: Path) -> dict[str, float]:
    timings = {}
    t0 = time.perf_counter()
    ingest(store, read_file(data, batch_size=5000))
    timings["ingest_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    indexes_for(store).sync_keyword()
    timings["keyword_index_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    real, fake = _search_speed().fill_vectors(store)
    timings["vectors_s"] = time.perf_counter() - t0
    timings["real_vectors"], timings["synthetic_vectors"] = real, fake
    return timings


def topic_pools(data: Path, queries: int) -> tuple[list[str], list[int], list[str], list[int], list[str]]:
    """Categories and authors with their paper counts, and the most frequent two-word title phrases."""
    cats: collections.Counter[str] = collections.Counter()
    authors: collections.Counter[str] = collections.Counter()
    phrases: collections.Counter[str] = collections.Counter()
    with gzip.open(data, "rt", encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            cats.update(record["categories"])
            authors.update(a.strip() for a in record["authors"][:20] if a.strip())
            words = re.findall(r"[a-z][a-z\-]+", record["title"].lower())
            phrases.update(f"{a} {b}" for a, b in itertools.pairwise(words) if a not in STOP and b not in STOP)
    cat_items = [(c, n) for c, n in cats.most_common() if n >= 20]
    author_items = [(a, n) for a, n in authors.items() if n >= 3]
    return (
        [c for c, _ in cat_items],
        [n for _, n in cat_items],
        [a for a, _ in author_items],
        [n for _, n in author_items],
        [p for p, _ in phrases.most_common(queries)],
    )


def add_subscribers(store: Store, count: int, pools: tuple[Any, ...], seed: int = 5) -> int:
    cats, cat_w, authors, author_w, queries = pools
    rng = random.Random(seed)
    zipf = [1 / (i + 1) for i in range(len(queries))]
    now = datetime.now(UTC).isoformat(timespec="seconds")
    subscribers, topics = [], []
    for sid in range(1, count + 1):
        subscribers.append((sid, f"reader{sid}@example.org", "active", "daily", int(rng.random() < 0.7),
                            rng.choice([5, 10, 10, 10, 20]), rng.randrange(24), "UTC", now, now))  # fmt: skip
        chosen: set[tuple[str, str]] = set()
        while len(chosen) < 3:
            kind = rng.choices(["cat", "author", "query"], [0.4, 0.2, 0.4])[0]
            if kind == "cat":
                chosen.add(("cat", rng.choices(cats, cat_w)[0]))
            elif kind == "author":
                chosen.add(("author", rng.choices(authors, author_w)[0]))
            else:
                chosen.add(("query", rng.choices(queries, zipf)[0]))
        topics += [(sid, kind, value) for kind, value in chosen]
    with store.db.transaction():
        store.db.executemany(
            "INSERT INTO subscribers (id, email, status, frequency, include_trending, max_papers, send_hour, "
            "timezone, created_at, confirmed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            subscribers,
        )
        store.db.executemany("INSERT INTO subscription_topics (subscriber_id, kind, value) VALUES (?, ?, ?)", topics)
    return len({v for _, k, v in topics if k == "query"})


def add_votes(store: Store, day: str, seed: int = 9) -> int:
    """Upvotes on 5% of the week's papers (the listings carry none), so trending ranks something."""
    rng = random.Random(seed)
    week = week_period(date.fromisoformat(day))
    ids, _ = store.listing(*week.day_range, limit=1_000_000)
    chosen = rng.sample(ids, max(1, len(ids) // 20))
    with store.db.transaction():
        store.db.executemany(
            "INSERT INTO paper_activity (paper_id, upvotes, last_activity) VALUES (?, ?, ?) ON CONFLICT (paper_id) "
            "DO UPDATE SET upvotes = excluded.upvotes, last_activity = excluded.last_activity",
            [(pid, rng.randint(1, 60), f"{day}T12:00:00+00:00") for pid in chosen],
        )
    return len(chosen)


def busiest_day(store: Store) -> str:
    latest = store.latest_feed_day()
    assert latest
    rows = store.db.query(
        "SELECT day, count(*) FROM paper_days WHERE kind IN ('new', 'cross') AND day > date(?, '-30 days') "
        "GROUP BY day ORDER BY count(*) DESC, day DESC LIMIT 1",
        (latest,),
    )
    return str(rows[0][0])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def compose_bench(store: Store, config: Any, day: str) -> dict[str, Any]:
    period = day_period(date.fromisoformat(day))
    out: dict[str, Any] = {"day": day, "papers_that_day": store.listing(day, day, limit=1)[1]}
    t0 = time.perf_counter()
    subscribers = store.subscribers(frequency="daily")
    out["load_subscribers_s"] = time.perf_counter() - t0
    indexes_for(store).keyword  # noqa: B018 - open the indexes outside the timings, as a running worker has them
    t0 = time.perf_counter()
    results = gather(store, period, subscribers)
    out["gather_s"] = time.perf_counter() - t0
    out["distinct_topics"] = len(results.ranked)
    secret, site, manage = instance_secret(config), site_url(config), manage_url(config)
    t0 = time.perf_counter()
    counts = [
        paper_count(assemble(s, results, site=site, unsubscribe=unsubscribe_url(config, s, secret), manage=manage))
        for s in subscribers
    ]
    out["assemble_s"] = time.perf_counter() - t0
    # End to end, as a run does it: load, compute each topic once, assemble every digest.
    t0 = time.perf_counter()
    total = with_papers = papers = 0
    for _, digest in compose_period(store, config, period):
        total += 1
        n = paper_count(digest)
        with_papers += n > 0
        papers += n
    out["compose_period_s"] = time.perf_counter() - t0
    assert total == len(counts)
    out.update(
        subscribers=total, with_papers=with_papers, skipped=total - with_papers, papers_per_digest=papers / total
    )
    # Rendering one MIME message (templates, CSS inlining) is part of sending; measured here on 500 digests.
    sample = list(compose_period(store, config, period, subscribers[:500]))
    t0 = time.perf_counter()
    for subscriber, digest in sample:
        digest_message(config, subscriber, digest, period, datetime.now(UTC))
    out["render_ms_per_message"] = (time.perf_counter() - t0) * 1000 / len(sample)
    return out


class _Timestamps:
    """the outbox's Progress: when each message was done, for the steady rate once the topics are computed."""

    def start(self, total: int) -> None:
        self.done: list[float] = []

    def advance(self) -> None:
        self.done.append(time.perf_counter())


def send_bench(store: Store, config: Any, day: str, count: int, connections: list[int]) -> list[dict[str, Any]]:
    week = week_period(date.fromisoformat(day))
    with store.db.transaction():
        store.db.execute("UPDATE subscribers SET frequency = 'weekly' WHERE id <= ?", (count,))
    port = config.smtp_port
    sink = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rows = []
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        for n in connections:
            with store.db.transaction():  # a fresh run each time: forget what the previous one sent
                store.db.execute("DELETE FROM deliveries WHERE period = ?", (week.key,))
            stamps = _Timestamps()
            t0 = time.perf_counter()
            report = send_period(store, config, None, week, connections=n, progress=stamps)
            elapsed = time.perf_counter() - t0
            t1 = time.perf_counter()
            again = send_period(store, config, None, week, connections=n)
            steady = (len(stamps.done) - 1) / (stamps.done[-1] - stamps.done[0])
            rows.append(
                {
                    "week": week.key, "connections": n, "subscribers": count, "sent": report.sent,
                    "skipped": report.skipped, "failed": report.failed, "send_s": elapsed,
                    "msg_per_s": report.sent / elapsed, "steady_msg_per_s": steady,
                    "rerun_already_sent": again.already_sent, "rerun_s": time.perf_counter() - t1,
                }
            )  # fmt: skip
    finally:
        sink.terminate()
        sink.wait()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the arXiv listings JSONL (gzip ok)")
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200, help="distinct saved queries to draw from")
    parser.add_argument("--send", type=int, default=3000, help="subscribers the sending benchmark mails")
    parser.add_argument("--connections", default="1,4", help="SMTP connections to measure, comma separated")
    parser.add_argument("--work-dir", type=Path, help="keep the store here (default: a temporary directory)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="paperfeed-digests-"))
    work.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{work / 'digests.db'}"
    env = {
        "PAPERFEED_DATA_DIR": str(work), "PAPERFEED_DATABASE_URL": url, "PAPERFEED_SECRET_KEY": "bench",
        "PAPERFEED_BASE_URL": "https://papers.example.org", "PAPERFEED_SMTP_HOST": "127.0.0.1",
        "PAPERFEED_SMTP_PORT": str(free_port()), "PAPERFEED_MAIL_FROM": "paperfeed <digest@papers.example.org>",
        "PAPERFEED_CACHE_DIR": platformdirs.user_cache_dir("paperfeed", appauthor=False),
    }  # fmt: skip
    config = load_config(env=env)
    result: dict[str, Any] = {
        "machine": f"{platform.machine()}, {_cpu()}, {_cores()} cores, Python {platform.python_version()}",
        "backend": "sqlite",
    }
    with open_store(url, migrate=True) as store:
        register(store, SearchSettings.from_config(config))
        if store.count_papers() == 0:
            result["build"] = build(store, args.data)
            pools = topic_pools(args.data, args.queries)
            result["distinct_queries"] = add_subscribers(store, args.subscribers, pools)
            result["voted_papers"] = add_votes(store, busiest_day(store))
        day = busiest_day(store)
        result["compose"] = compose_bench(store, config, day)
        result["compose"]["rss_mb"] = rss_mb()
        connections = [int(n) for n in args.connections.split(",")]
        result["send"] = send_bench(store, config, day, args.send, connections)
        result["load_average"] = Path("/proc/loadavg").read_text().split()[:3]
    if args.json:
        print(json.dumps(result, indent=2))
        return
    c = result["compose"]
    print(f"{result['machine']}; {result['backend']}; load average at the end {' '.join(result['load_average'])}")
    print(f"\ncompose {day}: {c['subscribers']:,} subscribers x 3 topics ({c['distinct_topics']:,} distinct topics "
          f"incl. trending), {c['papers_that_day']} papers that day")  # fmt: skip
    print("| step | seconds |")
    print("|---|---:|")
    for key in ("load_subscribers_s", "gather_s", "assemble_s", "compose_period_s"):
        print(f"| {key.removesuffix('_s')} | {c[key]:.1f} |")
    print(f"\n{c['with_papers']:,} digests with papers ({c['papers_per_digest']:.1f} papers on average), "
          f"{c['skipped']:,} with nothing new; peak RSS {c['rss_mb']:.0f} MB; rendering a message "
          f"{c['render_ms_per_message']:.1f} ms")  # fmt: skip
    print(f"\nsend {result['send'][0]['week']} to {args.send:,} subscribers through SMTP on loopback:")
    print(
        "| connections | sent | skipped | failed | seconds | msg/s | steady msg/s | re-run: already sent | re-run s |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in result["send"]:
        print(f"| {s['connections']} | {s['sent']:,} | {s['skipped']:,} | {s['failed']} | {s['send_s']:.1f} | "
              f"{s['msg_per_s']:.0f} | {s['steady_msg_per_s']:.0f} | {s['rerun_already_sent']:,} | "
              f"{s['rerun_s']:.1f} |")  # fmt: skip


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
