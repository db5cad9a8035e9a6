"""Throughput and latency of the web app under load at 100k papers: `paperfeed serve` driven over loopback.

    python bench/web_load.py ../shared/data/arxiv-listings/arxiv_daily_listings.dedup.jsonl.gz \
        --workers 1 2 --duration 20 --connections 8 --repeat 3

Builds (or reuses) the bench store of ``web_store.py``, starts ``python -m paperfeed --database-url … serve --port P
--workers W`` in a subprocess (settings as PAPERFEED_* variables: the store's private embedding cache, log level
WARNING so uvicorn writes no access log) and drives it from a second process with ``wrk`` (closed loop: each of
``--connections`` connections sends its next request when the previous answer arrives; one wrk thread; a Lua
script rotates the URLs and prints a JSON summary). Without wrk on the PATH a small asyncio + httpx client does the
same (slower: it needs more of the load generator's core). Every request asks for gzip, as browsers do.

Page kinds: the home feed; search (rotating over real queries whose embeddings are cached, and over fresh queries
the model must embed during the request); a paper page with similar papers (rotating over papers with community
activity and papers at random); /api/daily_papers (the HF-compatible default call). Before the timed runs every
kind gets a short unmeasured warm-up. Each (workers, kind) pair runs ``--repeat`` times; the table gives the median
of the runs' requests/s and latency percentiles, and the errors of all runs (connection errors, timeouts, non-2xx).
The machine has 2 cores: the load generator shares them with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

sys.path.insert(0, str(Path(__file__).resolve().parent))

from web_store import (
    DEFAULT_DIR,
    BenchStore,
    OthersMeter,
    prepare,
    queries_from_titles,
    uncached_queries,
    wait_for_quiet,
    warm_queries,
)

MARK = "WRK-JSON "
LUA = """
local paths = {%s}
local i = 0
wrk.headers["Accept-Encoding"] = "gzip"
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('%s{"requests": %%d, "duration_us": %%d, "bytes": %%d, "connect": %%d, "read": %%d, ' ..
    '"write": %%d, "status": %%d, "timeout": %%d, "p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "max_us": %%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


@dataclass
class Run:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def lua_script(paths: list[str]) -> str:
    """wrk's script: rotate through ``paths`` (already URL-encoded) and print a JSON summary line."""
    quoted = ", ".join(f'"{p}"' for p in paths if '"' not in p and "\\" not in p)
    return LUA % (quoted, MARK)


def parse_wrk(output: str) -> Run:
    for line in output.splitlines():
        if line.startswith(MARK):
            d = json.loads(line[len(MARK) :])
            errors = sum(d[k] for k in ("connect", "read", "write", "status", "timeout"))
            return Run(
                d["requests"], d["duration_us"] / 1e6, errors,
                d["p50_us"] / 1000, d["p90_us"] / 1000, d["p99_us"] / 1000, d["max_us"] / 1000,
            )  # fmt: skip
    raise ValueError(f"no summary in wrk's output:\n{output[-2000:]}")


def percentile(sorted_values: list[float], q: float) -> float:
    """The q-th percentile (0–100) by nearest rank, as wrk reports it."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), math.ceil(q / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


def summarise(runs: list[Run]) -> dict[str, float]:
    """Medians over repeated runs (errors are summed: one is one too many)."""
    return {
        "rps": statistics.median(r.rps for r in runs),
        "p50_ms": statistics.median(r.p50_ms for r in runs),
        "p99_ms": statistics.median(r.p99_ms for r in runs),
        "max_ms": max(r.max_ms for r in runs),
        "errors": sum(r.errors for r in runs),
        "requests": sum(r.requests for r in runs),
        "rps_runs": [round(r.rps, 1) for r in runs],  # type: ignore[dict-item]
    }


# -- load generators --------------------------------------------------------------------------------------------------
def run_wrk(base: str, paths: list[str], seconds: float, connections: int, workdir: Path) -> Run:
    script = workdir / "rotate.lua"
    script.write_text(lua_script(paths))
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s", "-s", str(script), base],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return parse_wrk(out)


def run_httpx(base: str, paths: list[str], seconds: float, connections: int) -> Run:
    import httpx

    latencies: list[float] = []
    errors = 0
    counter = 0

    async def worker(client: httpx.AsyncClient, deadline: float) -> None:
        nonlocal errors, counter
        while time.perf_counter() < deadline:
            path = paths[counter % len(paths)]
            counter += 1
            t0 = time.perf_counter()
            try:
                response = await client.get(path)
                if response.status_code >= 400:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append((time.perf_counter() - t0) * 1000)

    async def main() -> float:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(
            base_url=base, limits=limits, timeout=10, headers={"Accept-Encoding": "gzip"}
        ) as c:
            started = time.perf_counter()
            await asyncio.gather(*(worker(c, started + seconds) for _ in range(connections)))
            return time.perf_counter() - started

    elapsed = asyncio.run(main())
    ordered = sorted(latencies)
    return Run(
        len(ordered), elapsed, errors,
        percentile(ordered, 50), percentile(ordered, 90), percentile(ordered, 99), ordered[-1] if ordered else 0.0,
    )  # fmt: skip


# -- the server -------------------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``paperfeed serve`` in its own process group, stopped (group-wide, by its id) on exit."""

    def __init__(self, built: BenchStore, workers: int, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, **built.env}
        command = [sys.executable, "-m", "paperfeed", "--database-url", built.env["PAPERFEED_DATABASE_URL"],
                   "serve", "--port", str(self.port), "--workers", str(workers)]  # fmt: skip
        self.command = " ".join(command[1:])
        self.log = log.open("w")
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)  # fmt: skip

    def wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited ({self.process.returncode}); see {self.log.name}")
            try:
                with urllib.request.urlopen(self.base + "/", timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise SystemExit(f"the server did not answer within {timeout:.0f} s")

    def rss_mb(self) -> float:
        """Resident memory of the server and its worker processes."""
        import psutil

        parent = psutil.Process(self.process.pid)
        return float(sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)])) / 2**20

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


# -- the plan ---------------------------------------------------------------------------------------------------------
NEW_QUERIES = "search, new queries (embedded)"


def page_kinds(built: BenchStore, fresh_per_run: int, repeat: int) -> dict[str, list[list[str]]]:
    """Each kind's URLs for the warm-up (index 0) and each run; fresh queries differ between runs and from the
    warm-up, and none is in the store's embedding cache."""
    info = built.info
    known = queries_from_titles(info["titles"], 300, seed=23)
    wanted = 50 + repeat * fresh_per_run
    candidates = queries_from_titles(info["titles"], min(len(info["titles"]), 2 * wanted), seed=int(time.time()))
    fresh = [f"/search?q={quote_plus(q)}" for q in uncached_queries(built.directory, candidates) if q not in known]
    fixed = {
        "home feed": ["/"],
        "search, cached query vectors": [f"/search?q={quote_plus(q)}" for q in known],
        NEW_QUERIES: [],
        "paper page + similar": [f"/papers/{p}" for p in info["papers_visited"]],
        "/api/daily_papers": ["/api/daily_papers"],
    }
    kinds = {name: [paths] * (repeat + 1) for name, paths in fixed.items()}
    kinds[NEW_QUERIES] = [fresh[:50]] + [
        fresh[50 + i * fresh_per_run : 50 + (i + 1) * fresh_per_run] for i in range(repeat)
    ]
    return kinds


def measure_server(
    server: Server, workers: int, kinds: dict[str, list[list[str]]], args: argparse.Namespace, client: str,
    workdir: Path, say: Any,
) -> list[dict[str, Any]]:  # fmt: skip
    def drive(paths: list[str], seconds: float) -> Run:
        if client == "wrk":
            return run_wrk(server.base, paths, seconds, args.connections, workdir)
        return run_httpx(server.base, paths, seconds, args.connections)

    for plan in kinds.values():
        # Unmeasured warm-up, long enough for each worker to see most URLs once (caches, page cache, query vectors).
        drive(plan[0], min(20.0, max(3.0, 2 * workers * len(plan[0]) / 150)))
    results = []
    for name, plan in kinds.items():
        runs: list[Run] = []
        busy: list[float] = []
        attempts = 0
        # A run during which other processes (or the hypervisor's other guests) took more than --max-busy cores is
        # reported and done again (up to twice the runs asked for; then the busy runs count too).
        while len(runs) < args.repeat and attempts < 2 * args.repeat:
            wait_for_quiet(args.max_busy, say=say)
            meter = OthersMeter()
            run = drive(plan[len(runs) + 1], args.duration)
            others = meter.cores() + meter.steal()
            attempts += 1
            clean = args.max_busy is None or others < args.max_busy or attempts > args.repeat + len(runs)
            repeats = (
                " [yellow](went round its queries)[/]"
                if name == NEW_QUERIES and run.requests > len(plan[len(runs) + 1])
                else ""
            )
            say(f"[dim]{workers} worker(s), {name}, run {attempts}: {run.rps:.1f} req/s, p50 {run.p50_ms:.1f} ms, "
                f"p99 {run.p99_ms:.1f} ms, errors {run.errors}; others and steal: {others:.2f} cores"
                f"{'' if clean else ' — discarded, again'}[/]{repeats}")  # fmt: skip
            if clean:
                runs.append(run)
                busy.append(others)
        results.append({"workers": workers, "kind": name, **summarise(runs), "rss_mb": server.rss_mb(),
                        "others_busy": busy, "attempts": attempts})  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the arXiv listings JSONL (gzip ok)")
    parser.add_argument("--store-dir", type=Path, default=DEFAULT_DIR, help="where the bench store is (re)used")
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3, help="runs per (workers, page kind); medians reported")
    parser.add_argument("--only", help="only page kinds whose name contains this")
    parser.add_argument("--client", choices=["auto", "wrk", "httpx"], default="auto")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--max-busy", type=float, help="before each run, wait until other processes use fewer cores")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(150, Console().width))
    client = args.client if args.client != "auto" else ("wrk" if shutil.which("wrk") else "httpx")
    built = prepare(args.data, args.store_dir, papers=args.papers)
    warm_queries(built.directory, queries_from_titles(built.info["titles"], 300, seed=23))
    kinds = {k: v for k, v in page_kinds(built, 2500, args.repeat).items() if not args.only or args.only in k}
    workdir = Path(tempfile.mkdtemp(prefix="paperfeed-load-"))
    results: list[dict[str, Any]] = []
    for workers in args.workers:
        server = Server(built, workers, workdir / f"server-{workers}.log")
        try:
            started = time.perf_counter()
            server.wait_ready()
            console.print(f"[dim]{server.command}: ready in {time.perf_counter() - started:.1f} s[/]")
            results += measure_server(server, workers, kinds, args, client, workdir, console.print)
        finally:
            server.stop()

    title = (f"paperfeed serve under load, {built.counts['papers']:,} papers, SQLite — {client}, "
             f"{args.connections} connections, {args.duration:g} s × {args.repeat} runs (medians)")  # fmt: skip
    table = Table(title=title)
    columns = ("workers (2 cores, shared with the load generator)", "page", "req/s", "p50 ms", "p99 ms", "max ms",
               "errors / requests", "server RSS MB", "req/s of each run", "others + steal, cores")  # fmt: skip
    for col in columns:
        table.add_column(col, justify="left" if col == "page" else "right")
    for r in results:
        table.add_row(
            str(r["workers"]), r["kind"], f"{r['rps']:.1f}", f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}",
            f"{r['max_ms']:.0f}", f"{r['errors']} / {r['requests']:,}", f"{r['rss_mb']:.0f}",
            " / ".join(str(x) for x in r["rps_runs"]), " / ".join(f"{x:.1f}" for x in r["others_busy"]),
        )  # fmt: skip
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps({"client": client, "connections": args.connections, "results": results}))
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
