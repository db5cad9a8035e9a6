"""Search latency at scale through the product's search function: keyword, dense and hybrid, p50/p99, memory.

    python bench/search_speed.py ../shared/data/arxiv-listings/arxiv_daily_listings.dedup.jsonl.gz \
        --papers 74728 --backend sqlite --queries 300

Builds a store with the real papers (plus synthetic ones up to ``--papers``: abstracts whose words are sampled from
the real abstracts, so the vocabulary is realistic), its keyword index, and a vector for every paper. Vectors are
real where the embedding cache has them (``paperfeed index`` / ``bench quality`` fill it) and synthetic otherwise:
the cached real vectors perturbed with noise, so the vector space keeps a realistic clustered shape without embedding
a million texts on 2 cores. Queries are real titles (cut to 2–4 words, and whole titles), embedded by the real model
(their vectors are cached, so repeated runs measure search, not the model). Reports the median and 99th percentile of
``search()`` wall time per mode, the build times and the process RSS.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from paperfeed.ingest.writer import ingest
from paperfeed.papers import Paper
from paperfeed.search.embed import embed_cached, paper_text, text_hash
from paperfeed.search.engine import search, similar
from paperfeed.search.indexes import indexes_for, open_indexes
from paperfeed.search.registry import SearchSettings, register
from paperfeed.sources import batched
from paperfeed.sources.files import read_file
from paperfeed.store import Store, open_store


def rss_mb() -> float:
    """Peak RSS of this process image (VmHWM; unlike ru_maxrss it does not carry the parent's peak over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_papers(real: Path, count: int, seed: int = 7) -> list[Paper]:
    rng = random.Random(seed)
    words: list[str] = []
    cats: list[list[str]] = []
    with gzip.open(real, "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= 20_000:
                break
            record = json.loads(line)
            words.extend(record["summary"].split())
            cats.append(record["categories"])
    out = []
    for i in range(count):
        n = rng.randint(120, 260)
        abstract = " ".join(rng.choices(words, k=n))
        title = " ".join(rng.choices(words, k=rng.randint(6, 12)))
        day = f"20{rng.randint(20, 26)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        author = f"Author {rng.randint(1, 50_000)}"
        paper = Paper(
            id=f"pf-syn{i:09d}", title=title, abstract=abstract, authors=[author], categories=rng.choice(cats)
        )
        paper.announced, paper.listing_days, paper.source = day, {day: "new"}, "synthetic"
        out.append(paper)
    return out


def fill_vectors(store: Store, seed: int = 11) -> tuple[int, int]:
    """A vector for every paper: the cached real one, or a noisy copy of a random real one. Returns (real, fake)."""
    indexes = indexes_for(store)
    rng = np.random.default_rng(seed)
    rows = store.changes_since(0, 10**9)
    hashes = [text_hash(paper_text(r.title, r.abstract)) for r in rows]
    cached = indexes.cache.get(indexes.model, hashes)
    pool = np.vstack(list(cached.values())) if cached else rng.standard_normal((1000, indexes.embedder.dim))
    vectors = np.empty((len(rows), indexes.embedder.dim), dtype=np.float32)
    real = 0
    for i, h in enumerate(hashes):
        if h in cached:
            vectors[i] = cached[h]
            real += 1
        else:
            v = pool[rng.integers(len(pool))] + rng.standard_normal(indexes.embedder.dim) * 0.04
            vectors[i] = v / np.linalg.norm(v)
    keys = [r.pk for r in rows]
    head = store.max_seq()
    for start in range(0, len(rows), 50_000):
        part = slice(start, start + 50_000)
        indexes.dense.apply(keys[part], hashes[part], vectors[part], [], head)
    return real, len(rows) - real


def run_queries(spec_path: Path) -> dict[str, Any]:
    spec = json.loads(spec_path.read_text())
    rss_before = rss_mb()
    settings = SearchSettings(Path(spec["index_dir"]), cache_dir=spec["cache_dir"])
    with open_store(spec["url"]) as store, open_indexes(store, settings) as indexes:
        rng = random.Random(3)
        picks = rng.sample(spec["titles"], spec["queries"])
        half = len(picks) // 2
        queries = [" ".join(t.split()[: rng.randint(2, 4)]) for t in picks[:half]] + picks[half:]
        embed_cached(indexes.embedder, indexes.cache, queries)  # the model's time is measured separately
        for q in queries[:20]:  # warm caches
            search(store, q, 10)
        timings: dict[str, list[float]] = {}
        for mode in ("keyword", "dense", "hybrid"):
            for q in queries:
                started = time.perf_counter()
                search(store, q, 10, mode=mode)  # type: ignore[arg-type]
                timings.setdefault(mode, []).append((time.perf_counter() - started) * 1000)
        # A paper page's similar papers (8), and each side of them alone, for real papers picked at random.
        papers = store.get_papers(rng.sample(spec["ids"], min(spec["queries"], len(spec["ids"]))))
        sides = {
            "similar": lambda p: similar(store, p.id, 8),
            "similar: vector side": lambda p: indexes.dense.nearest(
                indexes.dense.vector_of(store.pks_for_ids([p.id])[p.id]), 100
            ),
            "similar: keyword side": lambda p: indexes.keyword.like_text(p.title, p.abstract, 100, exclude_id=p.id),
        }
        for paper in list(papers.values())[:20]:
            similar(store, paper.id, 8)
        for name, call in sides.items():
            for paper in papers.values():
                started = time.perf_counter()
                call(paper)
                timings.setdefault(name, []).append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        for q in queries[:50]:
            indexes.embedder.embed([q])
        return {
            "query_embedding_ms": (time.perf_counter() - started) * 1000 / 50,
            "latency_ms": {
                mode: {"p50": statistics.median(v), "p99": float(np.percentile(v, 99)), "n": len(v)}
                for mode, v in timings.items()
            },
            "reader_rss_mb": rss_mb(),
            "reader_rss_before_open_mb": rss_before,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the arXiv listings JSONL (gzip ok)")
    parser.add_argument("--papers", type=int, default=74_728, help="store size (real papers, then synthetic ones)")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg-url", help="PostgreSQL server URL (default: start pgserver)")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--query-spec", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.query_spec:
        print(json.dumps(run_queries(args.query_spec)))
        return

    tmp = Path(tempfile.mkdtemp(prefix="paperfeed-speed-"))
    server = None
    url = f"sqlite:///{tmp / 'speed.db'}"
    if args.backend == "postgres":
        if args.pg_url:
            url = args.pg_url
        else:
            import pgserver

            server = pgserver.get_server(tmp / "pg", cleanup_mode="stop")
            url = server.get_uri()
    cache_dir = platformdirs.user_cache_dir("paperfeed", appauthor=False)
    result: dict[str, Any] = {"backend": args.backend, "papers": args.papers}
    try:
        with open_store(url, migrate=True) as store:
            register(store, SearchSettings(tmp / "index", cache_dir=cache_dir))
            t0 = time.perf_counter()
            report = ingest(store, read_file(args.data, batch_size=5000))
            real_papers = report.new
            if args.papers > real_papers:
                ingest(store, batched(synthetic_papers(args.data, args.papers - real_papers), 5000))
            result["ingest_s"] = time.perf_counter() - t0
            indexes = indexes_for(store)
            t0 = time.perf_counter()
            indexes.sync_keyword()
            result["keyword_index_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            result["real_vectors"], result["synthetic_vectors"] = fill_vectors(store)
            result["vector_index_s"] = time.perf_counter() - t0
            result["rss_after_build_mb"] = rss_mb()

            titles = [r.title for r in store.changes_since(0, real_papers)]
            ids = [r.id for r in store.changes_since(0, real_papers)]
            result["vector_mode"] = indexes.dense.info()["mode"]
        # Queries run in a fresh process that only opens the store and its indexes, as a web worker would: its RSS
        # is what serving needs, not what building needed.
        spec = {"url": url, "index_dir": str(tmp / "index"), "cache_dir": cache_dir, "titles": titles,
                "ids": ids, "queries": args.queries}  # fmt: skip
        (tmp / "spec.json").write_text(json.dumps(spec))
        out = subprocess.run([sys.executable, __file__, "--query-spec", str(tmp / "spec.json"), str(args.data)],
                             check=True, capture_output=True, text=True).stdout  # fmt: skip
        result.update(json.loads(out.strip().splitlines()[-1]))
    finally:
        if server is not None:
            server.cleanup()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"{args.backend}, {args.papers:,} papers ({result['real_vectors']:,} real vectors, "
        f"{result['synthetic_vectors']:,} synthetic), vectors: {result['vector_mode']}"
    )
    print("| mode | p50 ms | p99 ms |")
    print("|---|---:|---:|")
    for mode, v in result["latency_ms"].items():
        print(f"| {mode} | {v['p50']:.1f} | {v['p99']:.1f} |")
    print(
        f"\nbuild: ingest {result['ingest_s']:.0f} s, keyword index {result['keyword_index_s']:.0f} s, "
        f"vectors {result['vector_index_s']:.0f} s; builder RSS {result['rss_after_build_mb']:.0f} MB, "
        f"search process RSS {result['reader_rss_mb']:.0f} MB; "
        f"query embedding {result['query_embedding_ms']:.1f} ms (excluded above: queries are cached)"
    )


if __name__ == "__main__":
    main()
