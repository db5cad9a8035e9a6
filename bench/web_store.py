"""The store the web benchmarks run on: 100,000 papers with keyword and vector indexes and a community's activity.

    python bench/web_store.py ../shared/data/arxiv-listings/arxiv_daily_listings.dedup.jsonl.gz --papers 100000

Shared by ``web_render.py`` and ``web_load.py`` (either builds it on first use and reuses it after). It is made the
way ``search_speed.py`` makes its large stores, so nothing is embedded: the 74,728 real papers, then synthetic ones
(``search_speed.synthetic_papers``: words sampled from real abstracts) up to ``--papers``. Unlike search_speed's,
the synthetic papers are listed on real listing days drawn from the real distribution, so every day, week and
month of the feed grows in proportion (~34 % more papers a day at 100k) instead of spreading them over 2020–2026.
Every paper gets a vector — the real one where the machine's embedding cache has it, else a noisy copy of a real
one — written into an embedding cache private to this store, and the vector index is then built by the product's
own ``sync_vectors`` from that cache. Paper pages (similar papers look the paper's vector up in the cache) thus
behave as on a site whose papers were all indexed, and the machine's shared cache is left as it was.

Community activity (``plan_activity``, pure and seeded): members; votes that favour recent days and, within a day,
a few papers (a Zipf law over a random order), timestamped on the paper's listing day; comments on the same kind of
papers (mostly ones with votes), in Markdown; a few member submissions. Written through ``Store.create_user``,
``set_vote``, ``add_comment`` and ``add_submission``, so the activity counters are kept as the site keeps them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

sys.path.insert(0, str(Path(__file__).resolve().parent))

from paperfeed.config import load_config
from paperfeed.ingest.writer import ingest
from paperfeed.papers import Paper
from paperfeed.search.embed import paper_text, text_hash
from paperfeed.search.indexes import indexes_for
from paperfeed.search.registry import SearchSettings, register
from paperfeed.sources import batched
from paperfeed.sources.files import read_file
from paperfeed.store import Store, open_store
from search_speed import synthetic_papers

DEFAULT_DIR = Path(tempfile.gettempdir()) / "paperfeed-web-100k"
FORMAT = 2  # bump when the store's recipe changes, so an old one is rebuilt
PASSWORD = "bench-password-123"  # every member's (the argon2 hash is made once)


def store_env(directory: Path) -> dict[str, str]:
    """The settings (as PAPERFEED_* variables) that point paperfeed at the bench store and its private cache."""
    return {
        "PAPERFEED_DATA_DIR": str(directory),
        "PAPERFEED_DATABASE_URL": f"sqlite:///{directory / 'web.db'}",
        "PAPERFEED_CACHE_DIR": str(directory / "cache"),
        "PAPERFEED_SECRET_KEY": "paperfeed-web-bench",
        "PAPERFEED_LOG_LEVEL": "WARNING",
    }


# -- the plan (pure) --------------------------------------------------------------------------------------------------
@dataclass
class ActivityPlan:
    members: list[str]
    votes: list[tuple[int, str, str]] = field(default_factory=list)  # (member index, paper id, timestamp)
    comments: list[tuple[int, str, str, str]] = field(default_factory=list)  # (member, paper, body, timestamp)
    submissions: list[tuple[int, str, str, str]] = field(default_factory=list)  # (member, paper, day, timestamp)


_COMMENT_SHAPES = (
    "{s}",
    "Nice work. {s}",
    "**Question:** {s} How does this compare with the baseline in Table 2?",
    "{s}\n\nCode: <https://github.com/example/{w}>",
    "I tried this on my own data. {s}\n\n- the `{w}` setting mattered most\n- results held up",
    "> {s}\n\nIs that claim supported by the ablations?",
    "The bound $O(n \\log n)$ looks right to me. {s}",
)


def plan_activity(
    listed: list[tuple[str, str]],
    sentences: list[str],
    *,
    members: int,
    votes: int,
    comments: int,
    submissions: int,
    seed: int = 5,
    half_life_days: float = 45.0,
) -> ActivityPlan:
    """Who votes on, comments on and submits which papers, and when; ``listed`` is (paper id, listing day).

    A day is picked with weight 2^(-age / half_life) (age from the latest day), then a paper of that day by a Zipf
    law (weight 1/rank) over a seeded order of the day's papers, so a few papers a day collect most votes. Members
    are picked by a Pareto weight (a few do most of the voting). A vote a member already cast is drawn again."""
    rng = random.Random(seed)
    by_day: dict[str, list[str]] = {}
    for pid, day in listed:
        by_day.setdefault(day, []).append(pid)
    days = sorted(by_day)
    latest = date.fromisoformat(days[-1])
    day_cum = list(accumulate(2 ** (-(latest - date.fromisoformat(d)).days / half_life_days) for d in days))
    for d in days:
        rng.shuffle(by_day[d])
    paper_cum = {d: list(accumulate(1.0 / (r + 1) for r in range(len(ids)))) for d, ids in by_day.items()}
    day_of = {pid: day for pid, day in listed}
    names = [f"member{i:04d}" for i in range(members)]
    member_cum = list(accumulate(rng.paretovariate(1.2) for _ in range(members)))

    def pick() -> tuple[str, str]:
        (day,) = rng.choices(days, cum_weights=day_cum)
        (pid,) = rng.choices(by_day[day], cum_weights=paper_cum[day])
        return pid, day

    def stamp(day: str) -> str:
        # People vote and comment on the day a paper is listed, or soon after.
        moment = datetime.fromisoformat(day) + timedelta(minutes=rng.randint(6 * 60, 40 * 60))
        return moment.isoformat(timespec="seconds") + "+00:00"

    plan = ActivityPlan(names)
    seen: set[tuple[int, str]] = set()
    attempts = 0
    while len(plan.votes) < votes and attempts < votes * 20:
        attempts += 1
        (member,) = rng.choices(range(members), cum_weights=member_cum)
        pid, day = pick()
        if (member, pid) in seen:
            continue
        seen.add((member, pid))
        plan.votes.append((member, pid, stamp(day)))
    voted = [pid for _, pid, _ in plan.votes]
    for _ in range(comments):
        (member,) = rng.choices(range(members), cum_weights=member_cum)
        # Discussion follows attention: most comments land on papers people voted for.
        pid = rng.choice(voted) if voted and rng.random() < 0.8 else pick()[0]
        shape = rng.choice(_COMMENT_SHAPES)
        text = " ".join(rng.sample(sentences, k=min(len(sentences), rng.randint(1, 3))))
        word = rng.choice(text.split() or ["code"]).strip(".,;:()[]`$*<>").lower() or "code"
        plan.comments.append((member, pid, shape.format(s=text, w=word), stamp(day_of[pid])))
    chosen: set[str] = set()
    while len(plan.submissions) < min(submissions, len(listed)):
        pid, day = pick()
        if pid in chosen:
            continue
        chosen.add(pid)
        when = min(date.fromisoformat(day) + timedelta(days=rng.randint(0, 3)), latest).isoformat()
        plan.submissions.append((rng.randrange(members), pid, when, stamp(when)))
    return plan


def redate(papers: list[Paper], days: list[str], seed: int = 13) -> None:
    """List each (synthetic) paper on a day drawn from ``days`` (one entry per real listing, so busy days stay busy)."""
    rng = random.Random(seed)
    for paper in papers:
        day = rng.choice(days)
        paper.submitted = paper.announced = day
        paper.listing_days = {day: "new"}


def queries_from_titles(titles: list[str], count: int, seed: int = 23) -> list[str]:
    """Search boxes' worth of text: the first 2–4 words of real titles, without the punctuation a query parses."""
    rng = random.Random(seed)
    out: list[str] = []
    seen: set[str] = set()
    for title in rng.sample(titles, len(titles)):
        words = [w.strip(":;,.!?()[]{}\"'“”") for w in title.split()]
        words = [w for w in words if w and not w.startswith("-") and ":" not in w]
        text = " ".join(words[: rng.randint(2, 4)])
        if len(text) > 3 and text.lower() not in seen:
            seen.add(text.lower())
            out.append(text)
        if len(out) == count:
            break
    return out


def warm_queries(directory: Path, queries: list[str]) -> None:
    """Cache the queries' embeddings in the store's cache, as if each had been searched for once before."""
    from paperfeed.search.embed import EmbeddingCache, embed_cached
    from paperfeed.search.models import get_embedder
    from paperfeed.search.query import parse_query

    config = load_config(env=store_env(directory))
    cache = EmbeddingCache(directory / "cache" / "embeddings.sqlite")
    try:
        texts = [parse_query(q).text_for_dense for q in queries]
        embed_cached(get_embedder(config.embedding_model), cache, [t for t in texts if t])
    finally:
        cache.close()


def uncached_queries(directory: Path, queries: list[str]) -> list[str]:
    """The queries whose embeddings the store's cache does not hold (never searched for here)."""
    from paperfeed.search.embed import EmbeddingCache, text_hash
    from paperfeed.search.query import parse_query

    config = load_config(env=store_env(directory))
    cache = EmbeddingCache(directory / "cache" / "embeddings.sqlite")
    try:
        hashes = {q: text_hash(parse_query(q).text_for_dense) for q in queries}
        have = cache.get(config.embedding_model, list(hashes.values()))
    finally:
        cache.close()
    return [q for q in queries if hashes[q] not in have]


class OthersMeter:
    """CPU used by processes other than this one and its children (the server, the load generator) since the meter
    was made, in cores: the load average cannot tell the benchmark's own load from other people's on a shared
    machine. Processes that start and end between two readings are missed."""

    def __init__(self) -> None:
        import psutil

        self.started = time.time()
        self.before = self._cpu()
        self.steal_before = psutil.cpu_times().steal

    @staticmethod
    def _cpu() -> dict[int, tuple[float, float]]:
        import psutil

        me = psutil.Process()
        mine = {me.pid, *(p.pid for p in me.children(recursive=True))}
        out = {}
        for p in psutil.process_iter():
            if p.pid not in mine:
                with contextlib.suppress(psutil.Error):
                    times = p.cpu_times()
                    out[p.pid] = (p.create_time(), times.user + times.system)
        return out

    def cores(self) -> float:
        used = 0.0
        for pid, (created, cpu) in self._cpu().items():
            was = self.before.get(pid)
            if was is not None and was[0] == created:
                used += cpu - was[1]
            elif created >= self.started:
                used += cpu
        return used / max(time.time() - self.started, 1e-3)

    def steal(self) -> float:
        """Cores the hypervisor gave to other machines meanwhile (a virtual machine's neighbours are invisible)."""
        import psutil

        return float(psutil.cpu_times().steal - self.steal_before) / max(time.time() - self.started, 1e-3)


def others_busy(seconds: float = 1.0) -> float:
    meter = OthersMeter()
    time.sleep(seconds)
    return meter.cores()


def wait_for_quiet(max_busy: float | None, timeout: float = 900.0, say: Any = None) -> float:
    """Wait (up to ``timeout`` s) until other processes keep fewer than ``max_busy`` cores busy: the machine is
    shared, and a measurement taken while other jobs run says more about them. Returns the last reading."""
    if max_busy is None:
        return others_busy()
    busy = others_busy()
    deadline = time.monotonic() + timeout
    if busy >= max_busy and say:
        say(f"[dim]other processes keep {busy:.1f} cores busy; waiting for less than {max_busy:g}…[/]")
    while busy >= max_busy and time.monotonic() < deadline:
        time.sleep(4)
        busy = others_busy()
    return busy


# -- building ---------------------------------------------------------------------------------------------------------
def _copy_cache(target: Path) -> None:
    """Start the store's private cache from the machine's (its real vectors), without touching the original."""
    source = Path(platformdirs.user_cache_dir("paperfeed", appauthor=False)) / "embeddings.sqlite"
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.exists():
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)


def cache_vectors(store: Store, seed: int = 11) -> tuple[int, int]:
    """Put a vector for every paper into the store's cache: the real one where cached, else a noisy copy of a real
    one (``search_speed.fill_vectors``' recipe). Returns (real, synthetic)."""
    indexes = indexes_for(store)
    model, dim = indexes.model, indexes.embedder.dim
    rng = np.random.default_rng(seed)
    rows = store.changes_since(0, 10**9)
    hashes = [text_hash(paper_text(r.title, r.abstract)) for r in rows]
    cached = indexes.cache.get(model, hashes)
    pool = np.vstack(list(cached.values())) if cached else rng.standard_normal((1000, dim)).astype(np.float32)
    missing = [h for h in dict.fromkeys(hashes) if h not in cached]
    noisy = pool[rng.integers(len(pool), size=len(missing))] + rng.standard_normal((len(missing), dim)) * 0.04
    noisy = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
    for start in range(0, len(missing), 5000):
        indexes.cache.put(model, missing[start : start + 5000], noisy[start : start + 5000])
    return len(rows) - len(missing), len(missing)


def write_activity(store: Store, plan: ActivityPlan) -> None:
    from argon2 import PasswordHasher

    hashed = PasswordHasher().hash(PASSWORD)
    ids = []
    for i, name in enumerate(plan.members):
        user = store.create_user(name, f"{name}@example.org", hashed, "admin" if i == 0 else "member", "2025-03-01")
        ids.append(user.id)
    for member, pid, when in plan.votes:
        store.set_vote(ids[member], pid, True, when)
    for member, pid, body, when in plan.comments:
        store.add_comment(ids[member], pid, body, when)
    for member, pid, day, when in plan.submissions:
        store.add_submission(pid, ids[member], day, when)


def _sentences(data: Path, count: int = 3000, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    out: list[str] = []
    for batch in read_file(data, batch_size=2000):
        for item in batch.items:
            if isinstance(item, Paper):
                out.extend(s.strip() + "." for s in item.abstract.replace("\n", " ").split(". ") if 40 < len(s) < 220)
        if len(out) > count * 4:
            break
    return rng.sample(out, count)


def _info(store: Store) -> dict[str, Any]:
    """What the benchmarks ask for: the latest day, its week and month, papers to visit, queries to type."""
    q = store.db.query
    latest = store.latest_feed_day()
    assert latest is not None
    # The latest week and month are partial (the data ends on a Wednesday, the 1st): take the last full ones.
    iso = (date.fromisoformat(latest) - timedelta(days=7)).isocalendar()
    month = (date.fromisoformat(latest[:7] + "-01") - timedelta(days=1)).isoformat()[:7]
    rng = random.Random(17)
    active = [r[0] for r in q("SELECT paper_id FROM paper_activity WHERE upvotes + comments > 0 ORDER BY paper_id")]
    commented = [r[0] for r in q("SELECT DISTINCT paper_id FROM comments ORDER BY paper_id")]
    every = [r[0] for r in q("SELECT id FROM papers WHERE deleted_at IS NULL ORDER BY pk")]
    titles = [r[0] for r in q("SELECT title FROM papers WHERE id NOT LIKE 'pf-syn%' ORDER BY pk")]
    return {
        "format": FORMAT,
        "latest_day": latest,
        "week": f"{iso.year}-W{iso.week:02d}",
        "month": month,
        "papers_visited": rng.sample(active, min(300, len(active))) + rng.sample(every, 300),
        "papers_commented": rng.sample(commented, min(100, len(commented))),
        "titles": rng.sample(titles, min(20_000, len(titles))),
    }


@dataclass
class BenchStore:
    directory: Path
    env: dict[str, str]
    info: dict[str, Any]
    counts: dict[str, Any]


def prepare(
    data: Path,
    directory: Path = DEFAULT_DIR,
    *,
    papers: int = 100_000,
    members: int = 400,
    votes: int = 20_000,
    comments: int = 3_000,
    submissions: int = 150,
    rebuild: bool = False,
    quiet: bool = False,
) -> BenchStore:
    """The bench store in ``directory``: reused when it was built with the same recipe and sizes, else (re)built."""
    recipe = {"format": FORMAT, "papers": papers, "members": members, "votes": votes, "comments": comments,
              "submissions": submissions}  # fmt: skip
    manifest = directory / "bench-store.json"
    if manifest.exists() and not rebuild:
        saved = json.loads(manifest.read_text())
        if saved["recipe"] == recipe:
            return BenchStore(directory, store_env(directory), saved["info"], saved["counts"])
    if directory.exists():
        for name in ("web.db", "web.db-wal", "web.db-shm", "bench-store.json"):
            (directory / name).unlink(missing_ok=True)
        import shutil

        shutil.rmtree(directory / "web-index", ignore_errors=True)
        shutil.rmtree(directory / "cache", ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    env = store_env(directory)
    _copy_cache(directory / "cache" / "embeddings.sqlite")
    config = load_config(env=env)

    def say(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr, flush=True)

    counts: dict[str, Any] = {}
    with open_store(config.store_url, migrate=True) as store:
        register(store, SearchSettings.from_config(config))
        t0 = time.perf_counter()
        real = ingest(store, read_file(data, batch_size=5000)).new
        if papers > real:
            days = [r[0] for r in store.db.query("SELECT day FROM paper_days WHERE kind = 'new'")]
            extra = synthetic_papers(data, papers - real)
            redate(extra, days)
            ingest(store, batched(extra, 5000))
        counts["papers"], counts["real_papers"] = store.count_papers(), real
        say(f"ingested {counts['papers']:,} papers in {time.perf_counter() - t0:.0f} s")
        t0 = time.perf_counter()
        counts["real_vectors"], counts["synthetic_vectors"] = cache_vectors(store)
        report = indexes_for(store).sync()
        say(f"indexes: {report.to_dict()} in {time.perf_counter() - t0:.0f} s")
        t0 = time.perf_counter()
        listed = [(r[0], r[1]) for r in store.db.query("SELECT paper_id, day FROM paper_days WHERE kind = 'new'")]
        plan = plan_activity(listed, _sentences(data), members=members, votes=votes, comments=comments,
                             submissions=submissions)  # fmt: skip
        write_activity(store, plan)
        counts.update(members=members, votes=len(plan.votes), comments=len(plan.comments),
                      submissions=len(plan.submissions))  # fmt: skip
        say(
            f"community: {counts['votes']:,} votes, {counts['comments']:,} comments in {time.perf_counter() - t0:.0f} s"
        )
        info = _info(store)
    manifest.write_text(json.dumps({"recipe": recipe, "counts": counts, "info": info}))
    return BenchStore(directory, env, info, counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the arXiv listings JSONL (gzip ok)")
    parser.add_argument("--store-dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    built = prepare(args.data, args.store_dir, papers=args.papers, rebuild=args.rebuild)
    print(json.dumps({"directory": str(built.directory), **built.counts, "latest_day": built.info["latest_day"]}))


if __name__ == "__main__":
    main()
