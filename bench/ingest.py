"""Ingest throughput: papers/s and peak memory loading a JSONL file into a fresh store, on SQLite and PostgreSQL.

    python bench/ingest.py ../shared/data/arxiv-listings/arxiv_daily_listings.dedup.jsonl.gz --runs 3

Each run is a child process (so its peak RSS is its own) that ingests the file into an empty store through the same
path as ``paperfeed ingest`` (``sources.files.read_file`` parsed and prepared by ``ingest.prepared`` ahead in a
child process by ``ingest.read_ahead``, + ``ingest.ingest``), then ingests it a second time (every paper unchanged).
The table shows the median of the runs. PostgreSQL comes from ``--pg-url`` or a throw-away ``pgserver`` instance.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any


def child(path: Path, url: str, batch_size: int) -> dict[str, Any]:
    from paperfeed.ingest.read_ahead import read_ahead
    from paperfeed.ingest.writer import ingest, prepared
    from paperfeed.sources.files import read_file
    from paperfeed.store import open_store

    with open_store(url, migrate=True) as store:
        backend = _backend_pid(store)
        t0, c0, s0 = time.perf_counter(), _cpu(), _server_cpu(backend)
        first = ingest(store, read_ahead(map(prepared, read_file(path, batch_size=batch_size))))
        t1, c1, s1 = time.perf_counter(), _cpu(), _server_cpu(backend)
        second = ingest(store, read_ahead(map(prepared, read_file(path, batch_size=batch_size))))
        t2 = time.perf_counter()
        count = store.count_papers()
    return {
        "papers": count,
        "new": first.new,
        "rejected": first.rejected,
        "first_s": t1 - t0,
        # CPU seconds of this process and its read-ahead child: steadier than wall time on a shared machine
        # (excludes PostgreSQL's server).
        "first_cpu_s": c1 - c0,
        # PostgreSQL's server process for this connection (a local server only: read from /proc).
        "first_server_cpu_s": s1 - s0,
        "second_s": t2 - t1,
        "unchanged_second": second.unchanged,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _backend_pid(store: Any) -> int | None:
    if store.dialect != "postgres":
        return None
    row = store.db.query_one("SELECT pg_backend_pid()")
    return int(row[0]) if row else None


def _server_cpu(pid: int | None) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pg_database(server_url: str) -> str:
    import psycopg

    name = "pf_bench_" + uuid.uuid4().hex[:8]
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    base, _, query = server_url.partition("?")
    return base.rsplit("/", 1)[0] + "/" + name + (f"?{query}" if query else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="JSONL file (gzip ok), e.g. the arXiv listings")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--pg-url", help="PostgreSQL server to create bench databases on (default: start pgserver)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child-url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child_url:
        print(json.dumps(child(args.data, args.child_url, args.batch_size)))
        return

    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    tmp = Path(tempfile.mkdtemp(prefix="paperfeed-bench-"))
    server = None
    pg_url = args.pg_url
    results: dict[str, list[dict[str, Any]]] = {}
    try:
        if "postgres" in backends and not pg_url:
            import pgserver

            server = pgserver.get_server(tmp / "pg", cleanup_mode="stop")
            pg_url = server.get_uri()
        for backend in backends:
            results[backend] = []
            for run in range(args.runs):
                url = f"sqlite:///{tmp / f'run{run}.db'}" if backend == "sqlite" else _pg_database(str(pg_url))
                cmd = [
                    sys.executable,
                    __file__,
                    str(args.data),
                    "--child-url",
                    url,
                    "--batch-size",
                    str(args.batch_size),
                ]
                out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=os.environ).stdout
                results[backend].append(json.loads(out.strip().splitlines()[-1]))
                print(f"{backend} run {run + 1}: {results[backend][-1]}", file=sys.stderr)
    finally:
        if server is not None:
            server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)

    rows = []
    for backend, runs in results.items():
        papers = runs[0]["papers"]
        rows.append(
            {
                "backend": backend,
                "papers": papers,
                "first_ingest_papers_per_s": papers / statistics.median(r["first_s"] for r in runs),
                "first_ingest_s": statistics.median(r["first_s"] for r in runs),
                "first_ingest_cpu_s": statistics.median(r["first_cpu_s"] for r in runs),
                "first_ingest_server_cpu_s": statistics.median(r.get("first_server_cpu_s", 0.0) for r in runs),
                "first_ingest_s_each": [round(r["first_s"], 1) for r in runs],
                "reingest_papers_per_s": papers / statistics.median(r["second_s"] for r in runs),
                "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
                "runs": len(runs),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(
        "| backend | papers | first ingest (s) | each run (s) | CPU: client / server (s) | papers/s "
        "| re-ingest papers/s | peak RSS (MB) | runs |"
    )
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['backend']} | {r['papers']:,} | {r['first_ingest_s']:.1f} "
            f"| {' / '.join(map(str, r['first_ingest_s_each']))} "
            f"| {r['first_ingest_cpu_s']:.1f} / {r['first_ingest_server_cpu_s']:.1f} "
            f"| {r['first_ingest_papers_per_s']:,.0f} "
            f"| {r['reingest_papers_per_s']:,.0f} | {r['peak_rss_mb']:.0f} | {r['runs']} |"
        )


if __name__ == "__main__":
    main()
