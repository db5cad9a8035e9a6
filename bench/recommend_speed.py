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
* digests: ``recommend.digest.for_you_sections`` for ``--subscribers`` members with libraries of 20–200 papers over
  the latest day, timed whole and per member; 100,000 members is extrapolated linearly from the per-member time
  (the shared part, the day's candidates against every library paper, grows with the papers the libraries hold,
  not with the members: it is reported apart).

Medians of ``--runs`` runs; CPU seconds beside wall time, since the machine is shared.
"""

from __future__ import annotations

import argparse
import contextlib
import json
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
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--demo", action="store_true", help="the bundled demo corpus (3,720 papers) instead")
    args = parser.parse_args()
    out: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        if args.demo:
            store, (day, week, month) = _demo_store(Path(stack.enter_context(tempfile.TemporaryDirectory())))
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
        _measure(store, day, week, month, args, out)
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
    store: Any, day: Period, week: Period, month: Period, args: argparse.Namespace, out: dict[str, Any]
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
    out["digests"] = _digests(store, before, first, last, args.subscribers, rng)
    print("digests", json.dumps(out["digests"]), file=sys.stderr)


def _member(store: Any, name: str, papers: list[str]) -> int:
    """A member whose library is ``papers`` (saved through the library's store, one transaction)."""
    from paperfeed.store.library import RestoredEntry

    user = store.user_by_name(name) or store.create_user(name, None, "not-a-hash", "member", "2026-07-01T00:00:00")
    now = datetime.now(UTC)
    store.restore_library(
        user.id, [RestoredEntry(pid, saved_at=(now - timedelta(minutes=i)).isoformat(timespec="seconds"))
                  for i, pid in enumerate(papers)], now.isoformat(timespec="seconds"),
    )  # fmt: skip
    return int(user.id)


def _digests(store: Any, pool: list[str], first: str, last: str, count: int, rng: random.Random) -> dict[str, Any]:
    """For-you sections for ``count`` members with libraries of 20-200 papers, as a digest run composes them."""
    from paperfeed.recommend.digest import for_you_sections

    t0 = time.perf_counter()
    members = [_member(store, f"digest-bench-{i:06d}", rng.sample(pool, rng.randint(20, 200))) for i in range(count)]
    made = time.perf_counter() - t0
    foryou.period_candidates(store, first, last)
    t0, c0 = time.perf_counter(), time.process_time()
    signals = store.signal_kinds_many(members)
    read = time.perf_counter() - t0
    sections = for_you_sections(store, first, last, signals, 10)  # a digest shows 10 papers by default
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert all(sections[m] for m in members)
    per_member = wall / count
    return {"members": count, "setup_s": round(made, 1), "signals_read_s": round(read, 2), "wall_s": round(wall, 2),
            "cpu_s": round(cpu, 2), "per_member_ms": round(per_member * 1000, 3),
            "extrapolated_100k_s": round(per_member * 100_000, 1)}  # fmt: skip


if __name__ == "__main__":
    main()
