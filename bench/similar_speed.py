"""The keyword side of similar papers at arXiv scale: ``KeywordIndex.like_text`` latency over the real listings.

    nice -n 5 python bench/similar_speed.py ../shared/data/arxiv-listings/arxiv_daily_listings.dedup.jsonl.gz

Ingests the listings into a temporary SQLite store, builds its keyword index (no vectors: the vector side of
``similar()`` is the nearest-neighbour search ``bench/search_speed.py`` measures), then asks ``like_text`` for the
100 best matches of 300 random papers' titles and abstracts, as ``search.engine.similar`` does for a paper page.
Reports wall p50 / p99 and CPU p50 per call (ms) for 25 words (shipped) and 40.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from paperfeed.ingest.writer import ingest
from paperfeed.search.indexes import indexes_for
from paperfeed.search.keyword import LIKE_TERMS
from paperfeed.search.registry import SearchSettings, register
from paperfeed.sources.files import read_file
from paperfeed.store import open_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="the arXiv listings JSONL (gzip ok)")
    parser.add_argument("--papers", type=int, default=300, help="papers whose similar lists are timed")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="paperfeed-similar-speed-") as tmp,
        open_store(f"sqlite:///{Path(tmp) / 'speed.db'}", migrate=True) as store,
    ):
        register(store, SearchSettings(Path(tmp) / "index", cache_dir=tmp))
        started = time.process_time()
        ingest(store, read_file(args.data, batch_size=5000))
        indexes_for(store).sync_keyword()
        rows = store.changes_since(0, 10**7)
        print(f"{len(rows):,} papers; ingest + keyword index {time.process_time() - started:.0f} CPU s")
        keyword = indexes_for(store).keyword
        picks = random.Random(3).sample(rows, min(args.papers, len(rows)))
        for r in picks[:30]:  # warm the reader's caches
            keyword.like_text(r.title, r.abstract, 100, exclude_id=r.id)
        print("| words | wall p50 ms | wall p99 ms | CPU p50 ms |\n|---:|---:|---:|---:|")
        for terms in (LIKE_TERMS, 40):
            wall, cpu = [], []
            for r in picks:
                w, c = time.perf_counter(), time.process_time()
                keyword.like_text(r.title, r.abstract, 100, terms=terms, exclude_id=r.id)
                wall.append((time.perf_counter() - w) * 1000)
                cpu.append((time.process_time() - c) * 1000)
            wall.sort()
            p99 = wall[min(len(wall) - 1, int(0.99 * len(wall)))]
            print(f"| {terms} | {statistics.median(wall):.2f} | {p99:.2f} | {statistics.median(cpu):.2f} |")


if __name__ == "__main__":
    main()
