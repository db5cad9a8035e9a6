"""For you, speed: a member's ranking of a day, week and month, a rating reflected in the next ranking, and the
For-you sections of many digests — on the 74,728 real papers.

    flock /work/heavy.lock python bench/recommend_speed.py \
        ../shared/data/arxiv-listings/arxiv_daily_listings.dedup.jsonl.gz

The store is ``web_store.py``'s recipe with only the real papers (a vector for every paper: the real one where the
machine's embedding cache has it, else a noisy copy of a real one — costs are realistic, results are not), built
once into ``--store-dir`` and reused. Members get libraries of ``--library`` random papers listed before the
measured day, written through the library's own store calls (saves and ratings), so every ranking reads the
member's signals, their papers' features and vectors from the store, as a page does.

* ranking: ``recommend.foryou.rank_period`` for the latest full day, week and month; "warm" is the normal case (the
  period's candidates are cached per store change and shared by every member), "cold" drops that cache first
  (the first member after new papers arrive pays it);
* rating: one "less like this" written, then the day ranked again (the rated paper must have moved);
* page: what the For-you tab adds up to for its first page: the member's signals and tags read, the day ranked, the
  reasons of its 20 papers spelled out (tags named);
* digests: ``compose_period`` for ``--subscribers`` (default 100,000) daily subscribers whose only topic is For
  you, each a member with a library of 20–200 papers saved before the day, half of them tagged: every digest of the
  day composed end to end (subscribers loaded, signals and tags read, members ranked, reasons spelled out, digests
  assembled), ``--digest-runs`` times; the reads and the ranking are also timed apart. The members are written once
  into the store (in bulk) and reused by later runs.

Medians of ``--runs`` runs; CPU seconds beside wall time, since the machine is shared.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from paperfeed.config import load_config
from paperfeed.periods import Period, day_period, month_period, parse_period, week_period
from paperfeed.recommend import foryou
from paperfeed.search.registry import SearchSettings, register
from paperfeed.store import open_store
from web_store import prepare

DEFAULT_DIR = Path("/tmp/paperfeed-foryou-75k")


def timed(fn: Any, runs: int) -> dict[str, float]:
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return {"p50_ms": round(statistics.median(wall), 2), "cpu_p50_ms": round(statistics.median(cpu), 2),
            "max_ms": round(max(wall), 2)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--store-dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--library", type=int, default=200)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--subscribers", type=int, default=100_000, help="digests to compose (0: none)")
    parser.add_argument("--digest-runs", type=int, default=3)
    parser.add_argument("--demo", action="store_true", help="the bundled demo corpus (3,720 papers) instead")
    args = parser.parse_args()
    out: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    }
    with contextlib.ExitStack() as stack:
        if args.demo:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            store, (day, week, month) = _demo_store(root)
            config = load_config(env={"PAPERFEED_DATA_DIR": str(root), "PAPERFEED_SECRET_KEY": "bench",
                                      "PAPERFEED_DATABASE_URL": f"sqlite:///{root / 'demo.db'}"})  # fmt: skip
            out["store"] = {"papers": store.count_papers(), "corpus": "demo"}
        else:
            built = prepare(args.data, args.store_dir, papers=74_728, members=50, votes=5_000, comments=200,
                            submissions=10)  # fmt: skip
            config = load_config(env=built.env)
            out["store"] = built.counts
            store = open_store(config.store_url)
            register(store, SearchSettings.from_config(config))
            latest = built.info["latest_day"]
            day = day_period(datetime.fromisoformat(latest).date() - timedelta(days=1))
            if not store.listed_features(*day.day_range):
                day = day_period(datetime.fromisoformat(latest).date())
            week = week_period(parse_period(built.info["week"]).first)
            month = month_period(parse_period(built.info["month"]).first)
        stack.callback(store.close)
        _measure(store, config, day, week, month, args, out)
    out["load_average"] = Path("/proc/loadavg").read_text().split()[:3]
    print(json.dumps(out, indent=1))


def _demo_store(root: Path) -> tuple[Any, tuple[Period, Period, Period]]:
    from paperfeed.demo import load_demo, prime_cache
    from paperfeed.ingest.writer import ingest
    from paperfeed.search.indexes import indexes_for

    store = open_store(f"sqlite:///{root / 'demo.db'}", migrate=True)
    register(store, SearchSettings(root / "index", cache_dir=str(root / "cache")))
    ingest(store, load_demo())
    indexes = indexes_for(store)
    prime_cache(indexes.cache, indexes.model)
    indexes.sync()
    return store, (parse_period("2026-06-30"), parse_period("2026-W26"), parse_period("2026-06"))


def _measure(
    store: Any, config: Any, day: Period, week: Period, month: Period, args: argparse.Namespace, out: dict[str, Any]
) -> None:
    rng = random.Random(7)
    before = [f.id for f in store.listed_features("2025-01-01", (day.first - timedelta(days=1)).isoformat())]
    member = _member(store, "foryou-bench", rng.sample(before, args.library))
    for name, period in (("day", day), ("week", week), ("month", month)):
        first, last = period.day_range
        n = len(store.listed_features(first, last))

        def warm(f: str = first, la: str = last) -> None:
            foryou.rank_period(store, store.interest_signals(member), f, la)

        def cold(f: str = first, la: str = last) -> None:
            foryou.forget_candidates()
            warm(f, la)

        warm()
        out[name] = {"period": period.key, "papers": n, "warm": timed(warm, args.runs),
                     "cold": timed(cold, max(3, args.runs // 6))}  # fmt: skip
        print(name, json.dumps(out[name]), file=sys.stderr)
    first, last = day.day_range
    todays = foryou.rank_period(store, store.interest_signals(member), first, last)
    targets = iter([todays.ids[i] for i in todays.order])
    moved: list[bool] = []

    def rate() -> None:
        # one "less like this" on the current best paper, then the next ranking: it must have moved down
        pid = next(targets)
        store.set_rating(member, pid, -1, datetime.now(UTC).isoformat(timespec="seconds"))
        ranking = foryou.rank_period(store, store.interest_signals(member), first, last)
        moved.append(ranking.ids[ranking.order[0]] != pid)

    out["rating"] = {**timed(rate, args.runs), "moved": all(moved)}
    print("rating", json.dumps(out["rating"]), file=sys.stderr)

    def page() -> None:
        # what the For-you tab does for its first page: signals and tags read, the day ranked, 20 papers' reasons
        ranking = foryou.rank_period(store, store.interest_signals(member), first, last, tags=store.member_tags(member))
        ranking.why_many(ranking.order[:20])

    out["page"] = timed(page, args.runs)
    print("page", json.dumps(out["page"]), file=sys.stderr)
    if args.subscribers:
        out["digests"] = _digests(store, config, before, day, args.subscribers, rng, args.digest_runs)
        print("digests", json.dumps(out["digests"]), file=sys.stderr)


def _member(store: Any, name: str, papers: list[str]) -> int:
    """A member whose library is ``papers``, every other one tagged with one of three tags (saved through the
    library's store, one transaction)."""
    from paperfeed.store.library import RestoredEntry

    user = store.user_by_name(name) or store.create_user(name, None, "not-a-hash", "member", "2026-07-01T00:00:00")
    now = datetime.now(UTC)
    store.restore_library(
        user.id, [RestoredEntry(pid, tags=(TAGS[i % 6 // 2],) if i % 2 else (),
                                saved_at=(now - timedelta(minutes=i)).isoformat(timespec="seconds"))
                  for i, pid in enumerate(papers)], now.isoformat(timespec="seconds"),
    )  # fmt: skip
    return int(user.id)


TAGS = ("diffusion", "llm", "rl", "vision", "speech", "theory", "to-cite", "reading group")


def _digest_members(store: Any, pool: list[str], count: int, rng: random.Random) -> list[int]:
    """``count`` members (made once, kept in the store) with libraries of 20-200 papers saved before the day, half
    of them tagged (a member uses 3 of ``TAGS``), each a confirmed daily subscriber with the For-you topic only —
    written in bulk, not through one transaction each (10,000,000 rows for 100,000 members)."""
    have = [int(r[0]) for r in store.db.query("SELECT id FROM users WHERE name LIKE 'digest-bench-%' ORDER BY id")]
    if len(have) >= count:
        return have[:count]
    now = datetime.now(UTC)
    stamp = now.isoformat(timespec="seconds")
    with store.db.transaction():
        store.db.executemany(
            "INSERT INTO users (name, password_hash, role, created_at) VALUES (?, 'not-a-hash', 'member', ?)",
            [(f"digest-bench-{i:06d}", stamp) for i in range(len(have), count)],
        )
    made = [int(r[0]) for r in store.db.query("SELECT id FROM users WHERE name LIKE 'digest-bench-%' ORDER BY id")]
    for start in range(len(have), count, 5000):
        entries, tags, subscribers = [], [], []
        for uid in made[start : start + 5000]:
            chosen = rng.sample(TAGS, 3)
            for j, pid in enumerate(rng.sample(pool, rng.randint(20, 200))):
                at = (now - timedelta(days=2, minutes=j)).isoformat(timespec="seconds")
                entries.append((uid, pid, at, at))
                if rng.random() < 0.5:
                    tags.append((uid, pid, rng.choice(chosen)))
            subscribers.append((f"digest-bench-{uid}@example.org", uid, stamp, stamp))
        with store.db.transaction():
            store.db.executemany(
                "INSERT INTO library_entries (user_id, paper_id, state, note, saved_at, updated_at) "
                "VALUES (?, ?, 'to-read', '', ?, ?)",
                entries,
            )
            store.db.executemany("INSERT INTO library_tags (user_id, paper_id, tag) VALUES (?, ?, ?)", tags)
            store.db.executemany(
                "INSERT INTO subscribers (email, user_id, status, frequency, include_trending, max_papers, send_hour, "
                "timezone, created_at, confirmed_at) VALUES (?, ?, 'active', 'daily', 0, 10, 8, 'UTC', ?, ?)",
                subscribers,
            )
            store.db.execute(
                "INSERT INTO subscription_topics (subscriber_id, kind, value) SELECT id, 'foryou', 'library' "
                "FROM subscribers WHERE user_id IN (SELECT id FROM users WHERE name LIKE 'digest-bench-%') "
                "AND id NOT IN (SELECT subscriber_id FROM subscription_topics)"
            )
        print(f"members: {min(start + 5000, count):,} of {count:,}", file=sys.stderr, flush=True)
    return made[:count]


def _digests(
    store: Any, config: Any, pool: list[str], day: Period, count: int, rng: random.Random, runs: int
) -> dict[str, Any]:
    """Every daily digest of the day for ``count`` subscribers whose only topic is For you (10 papers each, with
    the reason a digest shows), composed end to end by ``compose_period`` — loading the subscribers, reading each
    member's signals and tags (``FOR_YOU_AT_ONCE`` members at a time), ranking them, assembling every digest — and
    its For-you part (``ForYouRun`` with the reads before it, as the run does them) timed apart on the same members."""
    from paperfeed.digests.compose import FOR_YOU_AT_ONCE, compose_period, paper_count
    from paperfeed.recommend.digest import ForYouRun, collector_paused

    t0 = time.perf_counter()
    members = _digest_members(store, pool, count, rng)
    made = time.perf_counter() - t0
    first, last = day.day_range
    foryou.period_candidates(store, first, last)  # the day's candidates, as any page or digest run has them
    out: dict[str, Any] = {"members": count, "setup_s": round(made, 1), "papers_that_day": len(
        store.listed_features(first, last))}  # fmt: skip
    rows = []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        digests = with_papers = 0
        for _, digest in compose_period(store, config, day):
            digests += 1
            with_papers += paper_count(digest) > 0
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        parts = {"read_s": 0.0, "rank_s": 0.0}
        run = ForYouRun(store, first, last, 10, first_reason=True)  # as compose_period ranks them
        with collector_paused():
            for i in range(0, len(members), FOR_YOU_AT_ONCE):
                chunk = members[i : i + FOR_YOU_AT_ONCE]
                t1 = time.perf_counter()
                signals, tags = store.signal_rows_many(chunk), store.member_tags_many(chunk)
                t2 = time.perf_counter()
                run.sections(chunk, signals, tags)
                parts["read_s"] += t2 - t1
                parts["rank_s"] += time.perf_counter() - t2
        rows.append({"compose_s": round(wall, 1), "cpu_s": round(cpu, 1), "digests": digests,
                     "with_papers": with_papers, **{k: round(v, 1) for k, v in parts.items()}})  # fmt: skip
        print("digests run", json.dumps(rows[-1]), file=sys.stderr, flush=True)
    out["runs"] = rows
    out["compose_median_s"] = statistics.median(r["compose_s"] for r in rows)
    out["per_member_ms"] = round(out["compose_median_s"] * 1000 / count, 3)
    return out


if __name__ == "__main__":
    main()
