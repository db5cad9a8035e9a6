"""What the web benchmarks changed in the store — feed listing and trending candidates (against plain-Python
references), connections that die with their threads — on a real store (SQLite, or PostgreSQL with
PAPERFEED_TEST_PG), and the benchmarks' pure parts: the community-activity plan of bench/web_store.py and the
load-generator helpers of bench/web_load.py."""

from __future__ import annotations

import importlib.util
import random
import sys
import threading
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType

import pytest

from paperfeed.papers import FEED_KINDS, Paper
from paperfeed.store import Store

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _load(name: str) -> ModuleType:
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


web_store = _load("web_store")
web_load = _load("web_load")

DAYS = [(date(2026, 11, 2) + timedelta(days=i)).isoformat() for i in range(8)]
RANK = {"submitted": 0, "new": 1, "hf-daily": 1}


def _paper(pid: str, days: dict[str, str]) -> Paper:
    first = min(days)
    return Paper(id=pid, title=f"Paper {pid}", abstract="An abstract.", authors=["Ada Lovelace"],
                 categories=["cs.LG"], submitted=first, announced=first, listing_days=days, source="test")  # fmt: skip


@pytest.fixture
def feed(store: Store) -> Store:
    """42 papers over 8 days (some listed twice, some cross-lists and replacements), one deleted paper on the latest
    day, member submissions (one days before the paper's cross-listing), and votes with their times."""
    rng = random.Random(4)
    papers = []
    for i in range(40):
        days = {rng.choice(DAYS): rng.choice(["new", "new", "new", "cross", "replace"])}
        if i % 7 == 0:
            days[rng.choice(DAYS)] = "cross"
        papers.append(_paper(f"2611.{i:05d}", days))
    papers.append(_paper("2611.99999", {DAYS[-1]: "new"}))
    papers.append(_paper("2611.88888", {DAYS[-1]: "cross"}))  # submitted long before: ranks as a submission
    store.upsert_papers(papers)
    store.upsert_papers([], deleted=["2611.99999"])
    users = [store.create_user(f"m{i}", None, "x", "member", "2026-11-01T00:00:00+00:00") for i in range(6)]
    for i in range(0, 40, 3):
        for user in users[: i % 5 + 1]:
            store.set_vote(user.id, f"2611.{i:05d}", True, f"{DAYS[i % 8]}T12:00:00+00:00")
    store.add_submission("2611.00005", users[0].id, DAYS[-1], f"{DAYS[-1]}T09:00:00+00:00")
    store.add_submission("2611.00011", users[1].id, DAYS[3], f"{DAYS[3]}T09:00:00+00:00")
    store.add_submission("2611.88888", users[2].id, DAYS[1], f"{DAYS[1]}T09:00:00+00:00")
    return store


def reference_listing(store: Store, day_from: str, day_to: str, sort: str) -> list[str]:
    deleted = {r[0] for r in store.db.query("SELECT id FROM papers WHERE deleted_at IS NOT NULL")}
    votes = {
        r[0]: r[1] + r[2] for r in store.db.query("SELECT paper_id, upvotes, external_upvotes FROM paper_activity")
    }
    grouped: dict[str, tuple[str, int]] = {}
    for pid, day, kind in store.db.query("SELECT paper_id, day, kind FROM paper_days"):
        if kind in FEED_KINDS and day_from <= day <= day_to and pid not in deleted:
            last, rank = grouped.get(pid, ("", 9))
            grouped[pid] = (max(last, day), min(rank, RANK.get(kind, 2)))
    newest = {pid: -date.fromisoformat(day).toordinal() for pid, (day, _) in grouped.items()}
    if sort == "votes":
        return sorted(grouped, key=lambda p: (-votes.get(p, 0), grouped[p][1], newest[p], p))
    return sorted(grouped, key=lambda p: (newest[p], grouped[p][1], p))


@pytest.mark.parametrize(
    ("day_from", "day_to", "sort", "limit", "offset"),
    [
        ("0000-00-00", "9999-12-31", "published", 3, 0),  # the top page holds the deleted paper's day
        ("0000-00-00", "9999-12-31", "published", 5, 4),
        ("0000-00-00", "9999-12-31", "published", 10, 30),
        ("0000-00-00", "9999-12-31", "published", 50, 0),  # more than there are
        (DAYS[2], DAYS[5], "published", 4, 0),
        (DAYS[2], DAYS[5], "published", 4, 8),
        (DAYS[3], DAYS[3], "published", 30, 0),
        ("0000-00-00", "9999-12-31", "votes", 10, 0),
        (DAYS[0], DAYS[6], "votes", 5, 5),
        (DAYS[7], DAYS[7], "votes", 30, 0),
    ],
)
def test_listing_matches_the_reference(
    feed: Store, day_from: str, day_to: str, sort: str, limit: int, offset: int
) -> None:
    expected = reference_listing(feed, day_from, day_to, sort)
    ids, total = feed.listing(day_from, day_to, sort=sort, limit=limit, offset=offset)
    assert ids == expected[offset : offset + limit]
    assert feed.listing(day_from, day_to, sort=sort, limit=limit, offset=offset, count=False) == (ids, -1)
    # The total counts listed papers the way it always did (deleted ones included).
    assert total == len({r[0] for r in feed.db.query(
        f"SELECT paper_id FROM paper_days WHERE day >= ? AND day <= ? AND kind IN ({', '.join('?' * len(FEED_KINDS))})",
        (day_from, day_to, *FEED_KINDS))})  # fmt: skip


def test_listing_pages_cover_everything_once(feed: Store) -> None:
    pages = [feed.listing("0000-00-00", "9999-12-31", sort="published", limit=4, offset=o, count=False)[0]
             for o in range(0, 52, 4)]  # fmt: skip
    seen = [pid for page in pages for pid in page]
    assert seen == reference_listing(feed, "0000-00-00", "9999-12-31", "published")


def reference_candidates(store: Store, day_from: str, day_to: str) -> set[tuple[object, ...]]:
    rows = store.db.query(
        "SELECT a.paper_id, a.upvotes, a.comments, a.external_upvotes, a.external_comments, a.last_activity "
        "FROM paper_activity a JOIN papers p ON p.id = a.paper_id WHERE p.deleted_at IS NULL"
    )
    days = store.db.query("SELECT paper_id, day, kind FROM paper_days")
    out = set()
    for pid, up, com, ext_up, ext_com, last in rows:
        listed = [d for p, d, k in days if p == pid and k in FEED_KINDS]
        in_window = any(day_from <= d <= day_to for d in listed) or (last and day_from <= last < day_to + "~")
        if up + com + ext_up + ext_com > 0 and in_window:
            shown = max((d for d in listed if d <= day_to), default=None) or (last or "")[:10]
            out.add((pid, shown, up, com, ext_up, ext_com))
    return out


@pytest.mark.parametrize(("day_from", "day_to"), [(DAYS[0], DAYS[6]), (DAYS[3], DAYS[3]), ("2026-12-01", "2026-12-07")])
def test_trending_candidates_match_the_reference(feed: Store, day_from: str, day_to: str) -> None:
    assert set(feed.active_listed(day_from, day_to)) == reference_candidates(feed, day_from, day_to)


def test_connections_of_ended_threads_are_closed(store_url: str) -> None:
    """A web server's thread pool retires idle threads and starts new ones; each new thread opens a connection, and
    those of ended threads must not pile up (the load benchmark saw +170 MB per burst of requests)."""
    from paperfeed.store import open_store

    with open_store(store_url) as store:
        store.db.query("SELECT 1")
        for _ in range(3):
            workers = [threading.Thread(target=store.db.query, args=("SELECT 1",)) for _ in range(5)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
        first = store.db._connections[0][1]
        store.db.query("SELECT 1")  # this thread's connection is still the one it had
        assert store.db._connections[0][1] is first
        late = threading.Thread(target=store.db.query, args=("SELECT 1",))
        late.start()
        late.join()
        assert len(store.db._connections) == 2  # this thread's and the late one's: the 15 before were closed


# -- bench/web_store.py ---------------------------------------------------------------------------------------------
LISTED = [(f"p{d}-{i}", DAYS[d]) for d in range(8) for i in range(20)]
SENTENCES = ["Transformers attend to tokens.", "We propose a new loss.", "Results improve on ImageNet."]


def test_plan_activity_is_seeded_and_sized() -> None:
    plan = web_store.plan_activity(LISTED, SENTENCES, members=10, votes=200, comments=30, submissions=5, seed=1)
    again = web_store.plan_activity(LISTED, SENTENCES, members=10, votes=200, comments=30, submissions=5, seed=1)
    assert plan == again
    assert (len(plan.members), len(plan.votes), len(plan.comments), len(plan.submissions)) == (10, 200, 30, 5)
    assert len({(m, p) for m, p, _ in plan.votes}) == 200  # nobody votes twice for a paper
    assert len({p for _, p, _, _ in plan.submissions}) == 5


def test_plan_activity_times_follow_the_listing_and_favour_recent_days() -> None:
    plan = web_store.plan_activity(
        LISTED, SENTENCES, members=20, votes=600, comments=50, submissions=10, seed=2, half_life_days=2
    )
    day_of = dict(LISTED)
    for _, pid, when in plan.votes:
        assert day_of[pid] <= when[:10] <= (date.fromisoformat(day_of[pid]) + timedelta(days=2)).isoformat()
    assert all(day <= DAYS[-1] for _, _, day, _ in plan.submissions)  # never after the latest day
    recent = sum(1 for _, pid, _ in plan.votes if day_of[pid] >= DAYS[4])
    assert recent > len(plan.votes) / 2


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Think, Act, Build: An Agentic Framework", ["Think Act", "Think Act Build", "Think Act Build An"]),
        ('"Quoted" -negated words here', ["Quoted words", "Quoted words here"]),
    ],
)
def test_queries_from_titles_strip_query_syntax(title: str, expected: list[str]) -> None:
    (query,) = web_store.queries_from_titles([title], 1, seed=3)
    assert query in expected


# -- bench/web_load.py ----------------------------------------------------------------------------------------------
def test_wrk_summary_is_parsed() -> None:
    line = (web_load.MARK + '{"requests": 500, "duration_us": 2000000, "bytes": 1, "connect": 0, "read": 1, '
            '"write": 0, "status": 2, "timeout": 0, "p50_us": 7000, "p90_us": 9000, "p99_us": 15500, '
            '"max_us": 40000}')  # fmt: skip
    run = web_load.parse_wrk("Running 2s test\n" + line + "\n")
    assert (run.rps, run.errors, run.p50_ms, run.p99_ms, run.max_ms) == (250.0, 3, 7.0, 15.5, 40.0)
    with pytest.raises(ValueError):
        web_load.parse_wrk("no summary here")


def test_lua_script_rotates_the_paths() -> None:
    script = web_load.lua_script(["/", "/search?q=a+b"])
    assert 'local paths = {"/", "/search?q=a+b"}' in script
    assert "i = i % #paths + 1" in script and web_load.MARK in script


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [([], 50, 0.0), ([5.0], 99, 5.0), ([1.0, 2.0, 3.0, 4.0], 50, 2.0), (list(map(float, range(1, 101))), 99, 99.0)],
)
def test_percentile_by_nearest_rank(values: list[float], q: float, expected: float) -> None:
    assert web_load.percentile(values, q) == expected


def test_summary_takes_medians_and_sums_errors() -> None:
    runs = [web_load.Run(100, 1.0, 0, 5, 6, 9, 20), web_load.Run(300, 1.0, 2, 7, 8, 11, 30),
            web_load.Run(200, 1.0, 1, 6, 7, 10, 25)]  # fmt: skip
    summary = web_load.summarise(runs)
    assert (summary["rps"], summary["p50_ms"], summary["p99_ms"], summary["max_ms"]) == (200.0, 6, 10, 30)
    assert (summary["errors"], summary["requests"]) == (3, 600)
