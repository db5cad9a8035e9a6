"""Server-side render time of the web app's pages at 100k papers: median and p95 per page, in-process.

    python bench/web_render.py ../shared/data/arxiv-listings/arxiv_daily_listings.dedup.jsonl.gz --runs 50 --rounds 3

Builds (or reuses) the bench store of ``web_store.py`` and sends each page's requests through the whole app with
``fastapi.testclient.TestClient``: routing, visitor cookie, view, template, GZip (the client asks for gzip, as
browsers do) — no network and no server. Each page is measured ``--runs`` times per round, in ``--rounds`` rounds
(pages interleaved, so a burst of load from other jobs on the machine hits every page alike); the table gives the
median and p95 of all the runs, the spread of the per-round medians, the first (cold) request of each page in this
process, and the median time of the page's view function alone (the rest is template, JSON and HTTP). Search and
paper pages rotate through several queries / papers; query embeddings are cached beforehand (the model's ~3–4 ms a
query is measured in docs/benchmarks.md, Search speed). Pages whose median misses ``--target`` ms are profiled with
cProfile; the top functions are printed and the stats saved to bench/results/.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from paperfeed.config import load_config
from paperfeed.periods import day_period, parse_period
from paperfeed.store import Store
from paperfeed.web import views
from paperfeed.web.app import create_app
from web_store import (
    DEFAULT_DIR,
    BenchStore,
    OthersMeter,
    prepare,
    queries_from_titles,
    wait_for_quiet,
    warm_queries,
)

RESULTS = Path(__file__).resolve().parent / "results"
HEAD_QUERIES = ["diffusion models", "gaussian splatting", "vision language model hallucination"]


@dataclass
class Case:
    name: str
    urls: list[str]  # rotated, one per run
    view: Callable[[int], object] | None = None  # the view alone, for run i
    cookies: dict[str, str] = field(default_factory=dict)


def cases(built: BenchStore, store: Store, session: str) -> list[Case]:
    info = built.info
    latest, week, month = info["latest_day"], info["week"], info["month"]
    queries = HEAD_QUERIES + queries_from_titles(info["titles"], 3)
    papers = info["papers_visited"][:20] + info["papers_visited"][300:320]  # 20 with activity, 20 at random
    day = day_period(date.fromisoformat(latest))
    return [
        Case("home (latest day)", ["/"], lambda i: views.feed_view(store, None, None)),
        Case("home, member signed in", ["/"], None, {"pf_session": session}),
        Case(f"day {latest}, by date", [f"/papers/date/{latest}?sort=published"],
             lambda i: views.feed_view(store, day, None, sort="published")),
        Case(f"week {week}", [f"/papers/week/{week}"],
             lambda i: views.feed_view(store, parse_period(week), None)),
        Case(f"month {month}", [f"/papers/month/{month}"],
             lambda i: views.feed_view(store, parse_period(month), None)),
        Case(f"trending (day {latest})", [f"/papers/trending?day={latest}"],
             lambda i: views.trending_view(store, None, latest)),
        Case("trending (today)", ["/papers/trending"], lambda i: views.trending_view(store, None)),
        Case(f"search, hybrid ({len(queries)} queries)", [f"/search?q={quote_plus(q)}" for q in queries],
             lambda i: views.search_view(store, None, queries[i % len(queries)])),
        Case(f"paper page + similar ({len(papers)} papers)", [f"/papers/{p}" for p in papers],
             lambda i: views.paper_view(store, papers[i % len(papers)], None)),
        Case("/api/daily_papers", ["/api/daily_papers"]),
        Case(f"/api/daily_papers?date={latest}", [f"/api/daily_papers?date={latest}"]),
    ]  # fmt: skip


def _session(store: Store) -> str:
    from paperfeed.community import rules

    member = store.db.query("SELECT user_id FROM votes GROUP BY user_id ORDER BY count(*) DESC LIMIT 1")[0][0]
    user = store.user_by_id(int(member))
    assert user is not None
    return rules.start_session(store, user, 1)


def measure(client: Any, case: Case, runs: int, start: int = 0) -> list[float]:
    out = []
    for i in range(start, start + runs):
        url = case.urls[i % len(case.urls)]
        t0 = time.perf_counter()
        response = client.get(url, cookies=case.cookies)
        out.append((time.perf_counter() - t0) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}: {response.text[:300]}")
    return out


def time_view(case: Case, runs: int) -> float | None:
    if case.view is None:
        return None
    samples = []
    for i in range(runs):
        t0 = time.perf_counter()
        case.view(i)
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def profile(app: Any, case: Case, runs: int, top: int = 16) -> str:
    """cProfile of ``runs`` requests, with the app run inline in this thread (the TestClient runs it in others,
    where cProfile cannot see): the ASGI app is called through httpx's ASGITransport and the thread pool that sync
    routes run in is replaced by a direct call for the duration."""
    import asyncio

    import anyio.to_thread
    import httpx

    async def inline(func: Callable[[], Any], *args: Any, **kwargs: Any) -> Any:
        return func(*args)

    async def requests() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", cookies=case.cookies) as client:
            for i in range(runs):
                response = await client.get(case.urls[i % len(case.urls)], headers={"Accept-Encoding": "gzip"})
                assert response.status_code == 200, response.text[:200]

    original = anyio.to_thread.run_sync
    anyio.to_thread.run_sync = inline  # type: ignore[assignment]
    profiler = cProfile.Profile()
    try:
        profiler.enable()
        asyncio.run(requests())
        profiler.disable()
    finally:
        anyio.to_thread.run_sync = original
    RESULTS.mkdir(exist_ok=True)
    slug = "".join(c if c.isalnum() else "_" for c in case.name).strip("_")[:40]
    profiler.dump_stats(RESULTS / f"web_render_{slug}.prof")
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats("paperfeed", top)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the arXiv listings JSONL (gzip ok)")
    parser.add_argument("--store-dir", type=Path, default=DEFAULT_DIR, help="where the bench store is (re)used")
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50, help="requests per page per round (≥ 30)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--target", type=float, default=50.0, help="ms; slower medians are profiled")
    parser.add_argument("--only", help="only pages whose name contains this")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--max-busy", type=float, help="before each round, wait until other processes use fewer cores")
    args = parser.parse_args()

    from fastapi.testclient import TestClient
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(150, Console().width))
    built = prepare(args.data, args.store_dir, papers=args.papers)
    warm_queries(built.directory, HEAD_QUERIES + queries_from_titles(built.info["titles"], 3))
    app = create_app(load_config(env=built.env))
    store: Store = app.state.site.store
    results: list[dict[str, Any]] = []
    busy: list[float] = []  # cores other processes (and the hypervisor) took during each round
    with TestClient(app) as client:
        client.headers["Accept-Encoding"] = "gzip"
        todo = [c for c in cases(built, store, _session(store)) if not args.only or args.only in c.name]
        first = {c.name: measure(client, c, 1)[0] for c in todo}  # cold: the first request of each page
        for c in todo:
            measure(client, c, len(c.urls) + 2)  # warm every url once (page cache, query vectors, jinja)
        samples: dict[str, list[list[float]]] = {c.name: [] for c in todo}
        for round_no in range(args.rounds):
            wait_for_quiet(args.max_busy, say=console.print)
            meter = OthersMeter()
            for c in todo:
                samples[c.name].append(measure(client, c, args.runs, start=round_no * args.runs))
            busy.append(meter.cores() + meter.steal())
        for c in todo:
            every = [x for run in samples[c.name] for x in run]
            medians = [statistics.median(run) for run in samples[c.name]]
            size = len(client.get(c.urls[0], cookies=c.cookies).content)
            results.append({
                "page": c.name, "url": c.urls[0], "n": len(every), "p50": statistics.median(every),
                "p95": float(np.percentile(every, 95)), "round_medians": medians, "first": first[c.name],
                "view_p50": time_view(c, args.runs), "bytes": size,
            })  # fmt: skip
        misses = [r for r in results if r["p50"] > args.target]
        profiles = {r["page"]: profile(app, next(c for c in todo if c.name == r["page"]), 20) for r in misses}

    table = Table(title=f"Server-side render time, {built.counts['papers']:,} papers (TestClient, in-process)")
    for col in ("page", "p50 ms", "p95 ms", "round p50s", "first ms", "view p50 ms", "HTML/JSON KB"):
        table.add_column(col, justify="left" if col == "page" else "right")
    for r in results:
        view = f"{r['view_p50']:.1f}" if r["view_p50"] is not None else "–"
        mark = "[red]" if r["p50"] > args.target else ""
        table.add_row(
            r["page"], f"{mark}{r['p50']:.1f}", f"{r['p95']:.1f}", " / ".join(f"{m:.1f}" for m in r["round_medians"]),
            f"{r['first']:.0f}", view, f"{r['bytes'] / 1024:.0f}",
        )  # fmt: skip
    console.print(table)
    console.print(
        f"{args.rounds} rounds × {args.runs} runs per page; other processes and steal took "
        + " / ".join(f"{b:.2f}" for b in busy) + " cores during the rounds"
    )  # fmt: skip
    for page, text in profiles.items():
        console.print(f"\n[bold]profile of {page}[/] (20 requests, by own time):")
        console.print(text, markup=False, highlight=False)
    if args.json:
        args.json.write_text(json.dumps({"counts": built.counts, "others_busy": busy, "results": results}, indent=2))


if __name__ == "__main__":
    main()
