"""Soak: the web app under a bounded loopback load while a big ingest and an index run write to its store.

    python bench/soak.py ../shared/data/arxiv-listings/arxiv_daily_listings.dedup.jsonl.gz \
        --requests 6000 --connections 4 --embed-seconds 120

Loads the bundled demo corpus into a fresh store (SQLite in a temporary directory; ``--database-url`` for
PostgreSQL), starts ``python -m paperfeed serve`` on a loopback port (one worker, as the security review ran it), then
sends a fixed number of requests from ``--connections`` threads (closed loop: search with and without filters, deep
search pages, the home feed, paper pages, /api/daily_papers, /api/search) while, in other processes, first
``paperfeed ingest FILE`` writes every listing (74,728 papers in the real listings file) and then ``paperfeed
index`` catches the keyword index up and embeds for ``--embed-seconds`` before it is stopped (it is resumable; a
stopped run is one of the cases). The server's own background catch-up indexes the ingested papers too.

With ``--data-dir`` the store is kept there; a second run over it soaks a store that is already full (the ingest
finds nothing new), which tells memory that grows with the data from memory that grows with the requests.

Reports: errors (exceptions, timeouts, non-2xx), per-kind latency percentiles, search p99 during the writes, the
server's resident memory (sampled every 0.5 s: at the start of the load, the median of its first and last quarter,
the peak) and how long the ingest and the index run took. ``--json`` prints the same as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import httpx

QUERIES = [
    "diffusion models",
    "graph neural network",
    "large language model reasoning",
    '"reinforcement learning" robotics',
    "protein structure prediction",
    "quantum error correction",
    "contrastive learning -survey",
    "author:Bengio",
    "cat:cs.CL retrieval augmented generation",
    "transformer attention efficiency",
    "federated learning privacy",
    "neural radiance fields",
    "black hole",
    "year:2024 benchmark",
    "causal inference",
    "speech recognition",
]


@dataclass
class Load:
    """What the load threads saw."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    search_during_writes: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float, writing: bool, error: str | None) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)
            if writing and kind.startswith("search"):
                self.search_during_writes.append(seconds)
            if error is not None:
                self.errors.append(f"{kind}: {error}")


def _requests(total: int, paper_ids: list[str], rng: random.Random) -> list[tuple[str, str]]:
    kinds: list[tuple[str, str]] = []
    for i in range(total):
        q = quote_plus(rng.choice(QUERIES))
        pick = i % 10
        if pick < 3:
            kinds.append(("search", f"/search?q={q}"))
        elif pick == 3:
            kinds.append(("search filtered", f"/search?q={q}&category=cs.LG&page={rng.randint(1, 5)}"))
        elif pick == 4:
            kinds.append(("api search", f"/api/search?q={q}&limit=20&mode=keyword"))
        elif pick == 5:
            kinds.append(("home", "/"))
        elif pick in (6, 7):
            kinds.append(("paper", f"/papers/{rng.choice(paper_ids)}"))
        elif pick == 8:
            kinds.append(("api daily_papers", "/api/daily_papers"))
        else:
            kinds.append(("api papers", "/api/papers?limit=20"))
    return kinds


def _drive(url: str, work: list[tuple[str, str]], load: Load, writing: threading.Event, timeout: float) -> None:
    with httpx.Client(base_url=url, timeout=timeout, headers={"Accept-Encoding": "gzip"}) as client:
        while True:
            with load.lock:
                if not work:
                    return
                kind, path = work.pop()
            started = time.perf_counter()
            error = None
            try:
                answer = client.get(path)
                if answer.status_code != 200:
                    error = f"{answer.status_code} {path}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__} {path}"
            load.record(kind, time.perf_counter() - started, writing.is_set(), error)


def _rss_kb(pid: int, field: str = "VmRSS") -> int:
    """A process's resident memory in KB: all of it (VmRSS), or only its heap and other private memory (RssAnon,
    without the pages of files it maps, such as the keyword index's segments)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("listings", type=Path, help="the arXiv daily listings JSON Lines (gzip)")
    parser.add_argument("--requests", type=int, default=6000, help="requests sent in all")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--embed-seconds", type=float, default=120, help="how long the index run embeds")
    parser.add_argument("--timeout", type=float, default=30, help="a request slower than this is an error")
    parser.add_argument("--database-url", default="", help="PostgreSQL instead of a SQLite file")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="keep the store (and indexes) here instead of a temporary directory; a second run over the same one "
        "soaks an already-full store (its ingest then writes nothing new)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        if args.data_dir:
            args.data_dir.mkdir(parents=True, exist_ok=True)
            tmp = str(args.data_dir)
        else:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="paperfeed-soak-"))
        env = {
            **os.environ,
            "PAPERFEED_DATA_DIR": tmp,
            "PAPERFEED_CACHE_DIR": str(Path(tmp) / "cache"),
            "PAPERFEED_LOG_LEVEL": "WARNING",
        }
        if args.database_url:
            env["PAPERFEED_DATABASE_URL"] = args.database_url
        cli = [sys.executable, "-m", "paperfeed"]
        full = args.data_dir is not None and any(args.data_dir.glob("*.db"))
        if not full:
            subprocess.run([*cli, "demo", "--no-serve", "--json"], env=env, check=True, stdout=subprocess.DEVNULL)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env)
        try:
            report = _soak(args, cli, env, url, server)
        finally:
            server.terminate()
            server.wait(timeout=30)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for name, value in report.items():
        print(f"{name}: {value}")


def _soak(args: argparse.Namespace, cli: list[str], env: dict[str, str], url: str, server: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/api/papers?limit=50", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            raise SystemExit("the server did not start")
        time.sleep(0.5)
    paper_ids = [p["id"] for p in httpx.get(f"{url}/api/papers?limit=50", timeout=30).json()]
    load = Load()
    work = _requests(args.requests, paper_ids, random.Random(1))
    # Warm-up, unmeasured: every kind once (the first search loads the embedding model), so memory is measured from
    # a server that has everything it needs loaded.
    for _, path in dict(_requests(50, paper_ids, random.Random(2))).items():
        httpx.get(f"{url}{path}", timeout=120)
    writing = threading.Event()
    memory: list[int] = []
    anonymous: list[int] = []
    stop_sampling = threading.Event()

    def sample() -> None:
        while not stop_sampling.is_set():
            memory.append(_rss_kb(server.pid))
            anonymous.append(_rss_kb(server.pid, "RssAnon"))
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    threads = [
        threading.Thread(target=_drive, args=(url, work, load, writing, args.timeout), daemon=True)
        for _ in range(args.connections)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    writing.set()
    quiet = subprocess.DEVNULL
    t0 = time.monotonic()
    subprocess.run([*cli, "ingest", str(args.listings), "--json"], env=env, check=True, stdout=quiet)
    ingest_seconds = time.monotonic() - t0
    t0 = time.monotonic()
    index = subprocess.Popen([*cli, "index", "--quiet"], env=env, stdout=quiet)
    try:
        index.wait(timeout=args.embed_seconds)
        index_stopped = False
    except subprocess.TimeoutExpired:
        index.terminate()
        index.wait(timeout=60)
        index_stopped = True
    index_seconds = time.monotonic() - t0
    writing.clear()
    for thread in threads:
        thread.join()
    load_seconds = time.monotonic() - started
    stop_sampling.set()
    sampler.join()
    alive = httpx.get(f"{url}/api/papers?limit=1", timeout=30).status_code == 200
    quarter = max(1, len(memory) // 4)
    every = [s for values in load.latencies.values() for s in values]
    return {
        "requests": len(every),
        "errors": len(load.errors),
        "first errors": load.errors[:5],
        "requests/s": round(len(every) / load_seconds, 1),
        "load seconds": round(load_seconds, 1),
        "search p50 / p99 during writes (s)": (
            round(_pct(load.search_during_writes, 0.5), 3),
            round(_pct(load.search_during_writes, 0.99), 3),
        ),
        "searches during writes": len(load.search_during_writes),
        "p50 / p99 by kind (s)": {
            kind: (round(_pct(v, 0.5), 3), round(_pct(v, 0.99), 3)) for kind, v in sorted(load.latencies.items())
        },
        "server RSS MB at each tenth of the load": [
            round(memory[min(len(memory) - 1, i * len(memory) // 10)] / 1024) for i in range(11)
        ],
        "server RSS MB: start, first quarter, last quarter, peak": (
            round(memory[0] / 1024),
            round(statistics.median(memory[:quarter]) / 1024),
            round(statistics.median(memory[-quarter:]) / 1024),
            round(max(memory) / 1024),
        ),
        "server RssAnon MB (no mapped files) at each tenth": [
            round(anonymous[min(len(anonymous) - 1, i * len(anonymous) // 10)] / 1024) for i in range(11)
        ],
        "ingest seconds": round(ingest_seconds, 1),
        "index seconds (stopped at the limit)" if index_stopped else "index seconds": round(index_seconds, 1),
        "server answers afterwards": alive,
    }


if __name__ == "__main__":
    main()
