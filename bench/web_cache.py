"""Anonymous pages from the page cache against the same pages rendered afresh, under load at 100k papers.

    python bench/web_cache.py ../shared/data/arxiv-listings/arxiv_daily_listings.dedup.jsonl.gz \
        --workers 1 2 --cache off on --duration 10 --repeat 3

Builds (or reuses) the bench store of ``web_store.py``, then for each (workers, cache) pair starts
``python -m paperfeed serve --workers W`` with ``PAPERFEED_PAGE_CACHE_MB=0`` (off: every page rendered, as before
the cache) or the default (on), and drives it with ``wrk`` over loopback exactly as ``web_load.py`` does (one wrk
thread, closed loop, gzip asked for, a Lua script rotating the URLs; the 2 cores are shared with the server).
Page kinds: the home feed for a returning visitor (their visitor cookie sent, as a browser does) and for new
visitors (no cookie: each answer mints a visitor id and sets its cookie); the home feed revalidated with
If-None-Match (304s); trending of the data's latest day; paper pages (600, rotating); ``/api/daily_papers``; and
the home feed signed in (a member's session cookie: never from the cache, to show it is unchanged). Every kind
gets an unmeasured warm-up (long enough for each worker process to render every URL of the kind once), then
``--repeat`` runs; medians of the runs, with each run's req/s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from paperfeed.community import rules
from paperfeed.store import open_store
from web_load import LUA, MARK, Run, Server, parse_wrk, summarise
from web_store import DEFAULT_DIR, BenchStore, prepare


def lua(paths: list[str], headers: dict[str, str]) -> str:
    quoted = ", ".join(f'"{p}"' for p in paths if '"' not in p and "\\" not in p)
    script = LUA % (quoted, MARK)
    extra = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in headers.items())
    return script.replace(
        'wrk.headers["Accept-Encoding"] = "gzip"\n', 'wrk.headers["Accept-Encoding"] = "gzip"\n' + extra
    )


def run_wrk(base: str, paths: list[str], headers: dict[str, str], seconds: float, connections: int, work: Path) -> Run:
    import subprocess

    script = work / "cache.lua"
    script.write_text(lua(paths, headers))
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s", "-s", str(script), base],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return parse_wrk(out)


def member_cookie(built: BenchStore) -> str:
    """A session of the bench store's first member (made in the store, as logging in would)."""
    with open_store(built.env["PAPERFEED_DATABASE_URL"]) as store:
        row = store.db.query_one("SELECT name FROM users ORDER BY id LIMIT 1")
        assert row is not None, "the bench store has no members"
        user = store.user_by_name(str(row[0]))
        assert user is not None
        return f"pf_session={rules.start_session(store, user, 1)}"


def page_kinds(built: BenchStore, base: str, member: str) -> dict[str, tuple[list[str], dict[str, str]]]:
    info = built.info
    latest = str(info.get("latest_day") or "")
    with urllib.request.urlopen(base + "/") as answer:  # a visitor cookie and the home page's ETag, as a browser has
        cookie = str(answer.headers.get("set-cookie", "")).split(";")[0]
    request = urllib.request.Request(base + "/", headers={"Cookie": cookie, "Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request) as answer:
        etag = answer.headers.get("etag") or ""
    returning = {"Cookie": cookie}
    kinds: dict[str, tuple[list[str], dict[str, str]]] = {
        "home feed, returning visitor": (["/"], returning),
        "home feed, new visitor each request": (["/"], {}),
        "home feed, If-None-Match (304)": (["/"], {**returning, "If-None-Match": etag.replace('"', '\\"')}),
        "trending (latest day)": ([f"/papers/trending?day={latest}" if latest else "/papers/trending"], returning),
        "paper page + similar (600 papers)": ([f"/papers/{p}" for p in info["papers_visited"]], returning),
        "/api/daily_papers": (["/api/daily_papers"], {}),
        "home feed, member signed in": (["/"], {"Cookie": member}),
    }
    return kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the arXiv listings JSONL (gzip ok)")
    parser.add_argument("--store-dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--cache", nargs="+", choices=["off", "on"], default=["off", "on"])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", help="only page kinds whose name contains this")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")

    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(150, Console().width))
    built = prepare(args.data, args.store_dir, papers=args.papers)
    member = member_cookie(built)
    work = Path(tempfile.mkdtemp(prefix="paperfeed-cache-"))
    results: list[dict[str, Any]] = []
    for workers in args.workers:
        for mode in args.cache:
            env = {**built.env, "PAPERFEED_LOG_LEVEL": "WARNING"}
            if mode == "off":
                env["PAPERFEED_PAGE_CACHE_MB"] = "0"
            server = Server(replace(built, env=env), workers, work / f"server-{workers}-{mode}.log")
            try:
                started = time.perf_counter()
                server.wait_ready()
                console.print(
                    f"[dim]{server.command} (cache {mode}): ready in {time.perf_counter() - started:.1f} s[/]"
                )
                kinds = page_kinds(built, server.base, member)
                for name, (paths, headers) in kinds.items():
                    if args.only and args.only not in name:
                        continue
                    # Unmeasured warm-up: every URL a few times, so that each worker process has rendered it once.
                    warm = min(30.0, max(3.0, len(paths) * workers * 0.015))
                    run_wrk(server.base, paths, headers, warm, args.connections, work)
                    runs = []
                    for i in range(args.repeat):
                        run = run_wrk(server.base, paths, headers, args.duration, args.connections, work)
                        said = f"{run.rps:.0f} req/s, p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms"
                        console.print(f"{workers} w, cache {mode}, {name}, run {i + 1}: {said}, {run.errors} errors")
                        runs.append(run)
                    results.append({"workers": workers, "cache": mode, "kind": name, **summarise(runs)})
            finally:
                server.stop()

    title = (f"anonymous pages from cache, {built.counts['papers']:,} papers, SQLite — wrk -t1 -c{args.connections}, "
             f"{args.duration:g} s × {args.repeat} runs (medians)")  # fmt: skip
    table = Table(title=title)
    for col in (
        "workers",
        "cache",
        "page",
        "req/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "errors / requests",
        "req/s of each run",
    ):
        table.add_column(col, justify="left" if col in ("page", "cache") else "right")
    for r in results:
        table.add_row(
            str(r["workers"]), r["cache"], r["kind"], f"{r['rps']:.0f}", f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}",
            f"{r['max_ms']:.0f}", f"{r['errors']} / {r['requests']:,}", " / ".join(f"{x:.0f}" for x in r["rps_runs"]),
        )  # fmt: skip
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps({"connections": args.connections, "results": results}, indent=1))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
