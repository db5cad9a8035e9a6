"""Keyword (BM25) index: build time, size on disk, memory and query latency, on real arXiv papers (+ synthetic).

    nice -n 10 python bench/keyword_speed.py ../shared/data/arxiv-listings/arxiv_daily_listings.dedup.jsonl.gz
    nice -n 10 python bench/keyword_speed.py DATA.jsonl.gz --synthetic 1000000 --queries 200

``--synthetic N`` pads the corpus to N papers with synthetic ones stitched from runs of 20-40 consecutive words of
random real abstracts (and halves of real titles), so the vocabulary, word frequencies and local word order are
realistic. The index is built in one ``upsert`` (one commit); then a batch of 1,000 real papers is upserted again
(the daily update: delete-by-id then add). Searching runs in a child process that only opens the index, so its
RSS is a reader's (e.g. the web server's). Queries are drawn from real titles: 2-3 consecutive words, 10-word
titles, quoted 2-3-word phrases, short queries with a category and year filter, and filter-only listings; top-10,
plus short queries at top-100 (the hybrid engine's depth), filter-only listings at top-20,000 and ``filter_ids``
over 400 candidates (two ways to check dense candidates against filters). The child also compares ranking with
every-word-first (``keyword.ALL_WORDS_FIRST``) against plain OR: the share of the top 10 that holds every query
word (of those that could), and how often a 10-word title query finds its own paper first.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from paperfeed.papers import clean_text
from paperfeed.search import keyword
from paperfeed.search.keyword import KeywordDoc, KeywordIndex
from paperfeed.search.query import parse_query

_WORD_RE = re.compile(r"[A-Za-z][A-Za-z\-]+")
_STOP = set("a an and are as at be by for from in into is of on or the to via with without using towards".split())  # noqa: SIM905


def read_docs(path: Path) -> list[KeywordDoc]:
    docs = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            days = r.get("listing_dates") or []
            docs.append(
                KeywordDoc(
                    r["id"],
                    clean_text(r.get("title")),
                    clean_text(r.get("summary")),
                    list(r.get("authors") or []),
                    list(r.get("categories") or []),
                    min(days) if days else None,
                )
            )
    return docs


def synthetic(real: list[KeywordDoc], n: int, seed: int = 7) -> Iterator[KeywordDoc]:
    rng = random.Random(seed)
    abstracts = [d.abstract.split() for d in real if len(d.abstract.split()) > 60]
    titles = [d.title.split() for d in real if len(d.title.split()) > 3]
    for i in range(n):
        chunks = []
        for _ in range(rng.randint(4, 7)):
            words = rng.choice(abstracts)
            size = rng.randint(20, 40)
            start = rng.randrange(0, max(1, len(words) - size))
            chunks.extend(words[start : start + size])
        t1, t2 = rng.choice(titles), rng.choice(titles)
        title = t1[: len(t1) // 2] + t2[len(t2) // 2 :]
        model = rng.choice(real)
        yield KeywordDoc(f"syn-{i:07d}", " ".join(title), " ".join(chunks), model.authors, model.categories, model.day)


def make_queries(real: list[KeywordDoc], count: int, seed: int = 11) -> dict[str, Any]:
    rng = random.Random(seed)
    titles = [[w for w in _WORD_RE.findall(d.title)] for d in real]
    content = [[w for w in t if w.lower() not in _STOP] for t in titles]
    cats = [d.categories[0] for d in real if d.categories]
    out: dict[str, list[str]] = {"2-3 words": [], "10-word title": [], "phrase": [], "words + cat + year": []}
    while min(len(v) for v in out.values()) < count:
        t, c = rng.choice(titles), rng.choice(content)
        if len(c) >= 3:
            k = rng.choice((2, 3))
            s = rng.randrange(0, len(c) - k + 1)
            short = " ".join(c[s : s + k]).lower()
            if len(out["2-3 words"]) < count:
                out["2-3 words"].append(short)
            if len(out["words + cat + year"]) < count:
                out["words + cat + year"].append(f"{short} cat:{rng.choice(cats)} year:2025")
        if len(t) >= 10 and len(out["10-word title"]) < count:
            out["10-word title"].append(" ".join(t[:10]))
        if len(t) >= 3 and len(out["phrase"]) < count:
            k = rng.choice((2, 3))
            s = rng.randrange(0, len(t) - k + 1)
            out["phrase"].append('"' + " ".join(t[s : s + k]) + '"')
    out["cat + year listing"] = [f"cat:{rng.choice(cats)} year:2025" for _ in range(count)]
    known = [(" ".join(t[:10]), d.paper_id) for d, t in zip(real, titles, strict=True) if len(t) >= 10]
    return {"classes": out, "known": rng.sample(known, min(count, len(known))), "ids": [d.paper_id for d in real]}


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    return 0.0


def rss_mb() -> float:
    return _status_mb("VmRSS:")


def peak_rss_mb() -> float:
    # VmHWM, not getrusage: a child's ru_maxrss starts from its parent's peak at fork time.
    return _status_mb("VmHWM:")


def dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file()) / 1e6


def _timed(index: KeywordIndex, texts: list[str], limit: int) -> dict[str, float]:
    parsed = [parse_query(t) for t in texts]
    for q in parsed[:20]:
        index.search(q, limit)
    times = []
    hits = 0
    for q in parsed:
        t = time.perf_counter()
        hits += len(index.search(q, limit))
        times.append((time.perf_counter() - t) * 1000)
    return {**_percentiles(times), "mean_hits": hits / len(parsed)}


def _percentiles(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {"p50": statistics.median(times), "p99": times[min(len(times) - 1, int(len(times) * 0.99))]}


def search_child(index_dir: Path, queries_file: Path) -> dict[str, Any]:
    """Open the index as a reader would and time the queries (each class warmed with its first 20 queries)."""
    rss0 = rss_mb()
    t0 = time.perf_counter()
    index = KeywordIndex.open(index_dir)
    open_s = time.perf_counter() - t0
    data = json.loads(queries_file.read_text())
    classes: dict[str, list[str]] = data["classes"]
    latency = {f"{name}, top 10": _timed(index, texts, 10) for name, texts in classes.items()}
    latency["2-3 words, top 100"] = _timed(index, classes["2-3 words"], 100)
    latency["cat + year listing, top 20,000"] = _timed(index, classes["cat + year listing"][:40], 20_000)
    rng = random.Random(5)
    times = []
    for text in classes["cat + year listing"][:100]:
        candidates = rng.sample(data["ids"], 400)
        t = time.perf_counter()
        index.filter_ids(parse_query(text), candidates)
        times.append((time.perf_counter() - t) * 1000)
    latency["filter_ids(cat + year, 400 ids)"] = {**_percentiles(times), "mean_hits": float("nan")}
    return {
        "open_s": open_s,
        "latency": latency,
        "ranking": compare_ranking(index, classes, data["known"]),
        "rss_before_mb": rss0,
        "rss_mb": rss_mb(),
        "peak_rss_mb": peak_rss_mb(),
    }


def compare_ranking(index: KeywordIndex, classes: dict[str, list[str]], known: list[list[str]]) -> dict[str, Any]:
    """Every-word-first against plain OR: latency, share of the top 10 holding every word, title finds its paper."""
    out: dict[str, dict[str, float]] = {}
    for first in (False, True):
        keyword.ALL_WORDS_FIRST = first
        label = "every word first" if first else "plain OR"
        shares, times = [], []
        for text in classes["2-3 words"][:100]:
            q = parse_query(text)
            t = time.perf_counter()
            hits = index.search(q, 10)
            times.append((time.perf_counter() - t) * 1000)
            if not hits:
                continue
            every = parse_query(" ".join(f'"{w}"' for w in q.words))  # each word required
            with_all = {h.paper_id for h in index.search(every, 1000)}
            possible = min(len(hits), len(with_all))
            shares.append(len(with_all & {h.paper_id for h in hits}) / possible if possible else 1.0)
        title_times, first_hits = [], 0
        for text, paper_id in known[:100]:
            t = time.perf_counter()
            hits = index.search(parse_query(text), 10)
            title_times.append((time.perf_counter() - t) * 1000)
            first_hits += bool(hits) and hits[0].paper_id == paper_id
        out[label] = {
            "share": statistics.mean(shares),
            "short": _percentiles(times),
            "title_at_1": first_hits / len(known[:100]),
            "title": _percentiles(title_times),
        }
    keyword.ALL_WORDS_FIRST = True
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path, nargs="?")
    ap.add_argument("--synthetic", type=int, default=0, help="pad the corpus to this many papers")
    ap.add_argument("--queries", type=int, default=200, help="queries per class")
    ap.add_argument("--index-dir", type=Path, help="build here and keep it (default: a temporary directory)")
    ap.add_argument("--search-only", action="store_true", help="reuse the index already in --index-dir")
    ap.add_argument("--child", nargs=2, type=Path, metavar=("INDEX", "QUERIES"), help=argparse.SUPPRESS)
    ap.add_argument("--json", type=Path, help="also write the raw results here")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(search_child(*args.child)))
        return
    if args.data is None:
        ap.error("the data file is required")

    real = read_docs(args.data)
    total = max(len(real), args.synthetic)
    tmp = Path(tempfile.mkdtemp(prefix="pf-kw-bench-"))
    index_dir = args.index_dir or tmp / "index"
    if args.search_only and not args.index_dir:
        ap.error("--search-only needs --index-dir")
    if index_dir.exists() and not args.search_only:
        shutil.rmtree(index_dir)
    try:
        index = KeywordIndex.open(index_dir, writer_heap=256_000_000)
        written, build_s, update_s = index.count(), float("nan"), float("nan")
        if not args.search_only:
            docs: Iterator[KeywordDoc] = iter(real)
            if total > len(real):
                docs = _chain(real, synthetic(real, total - len(real)))
            t0 = time.perf_counter()
            written = index.upsert(docs)
            build_s = time.perf_counter() - t0
            batch = random.Random(3).sample(real, 1000)
            t0 = time.perf_counter()
            index.upsert(batch)
            update_s = time.perf_counter() - t0
        assert index.count() == total, (index.count(), total)
        queries_file = tmp / "queries.json"
        queries_file.write_text(json.dumps(make_queries(real, args.queries)))
        load = os.getloadavg()[0]
        child = subprocess.run(
            [sys.executable, __file__, "--child", str(index_dir), str(queries_file)],
            check=True,
            capture_output=True,
            text=True,
        )
        result = {
            "papers": total,
            "real": len(real),
            "written": written,
            "build_s": build_s,
            "update_1000_s": update_s,
            "size_mb": dir_mb(index_dir),
            "build_peak_rss_mb": peak_rss_mb(),
            "search": json.loads(child.stdout),
            "cores": os.cpu_count(),
            "load_before_search": load,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    print(render(result))


def _chain(a: list[KeywordDoc], b: Iterator[KeywordDoc]) -> Iterator[KeywordDoc]:
    yield from a
    yield from b


def render(r: dict[str, Any]) -> str:
    s = r["search"]
    lines = [
        f"### {r['papers']:,} papers ({r['real']:,} real); {r['cores']} cores, 1-min load "
        f"{r['load_before_search']:.1f} before searching",
        "",
        "| build (1 commit) | upsert 1,000 again | size on disk | builder peak RSS | reader open | reader RSS |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| {r['build_s']:.1f} s ({r['papers'] / r['build_s']:,.0f}/s) | {r['update_1000_s']:.2f} s "
        f"| {r['size_mb']:.0f} MB | {r['build_peak_rss_mb']:.0f} MB | {s['open_s'] * 1000:.0f} ms "
        f"| {s['rss_mb']:.0f} MB (peak {s['peak_rss_mb']:.0f}) |",
        "",
        "| query class (top-10) | p50 ms | p99 ms | mean hits |",
        "| --- | --- | --- | --- |",
    ]
    for name, v in s["latency"].items():
        hits = "" if v["mean_hits"] != v["mean_hits"] else f"{v['mean_hits']:.1f}"
        lines.append(f"| {name} | {v['p50']:.2f} | {v['p99']:.2f} | {hits} |")
    lines += [
        "",
        "| ranking | 2-3 words: top 10 with every word | p50 / p99 ms | 10-word title: own paper 1st | p50 / p99 ms |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, v in s["ranking"].items():
        lines.append(
            f"| {name} | {v['share']:.1%} | {v['short']['p50']:.2f} / {v['short']['p99']:.2f} "
            f"| {v['title_at_1']:.1%} | {v['title']['p50']:.2f} / {v['title']['p99']:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
