"""Embedding throughput: abstracts per second for each built-in model, on real arXiv papers.

    python bench/embed_speed.py ../shared/data/arxiv-listings/arxiv_daily_listings.dedup.jsonl.gz --papers 500

Embeds the title + abstract of the first N papers (the text the indexer embeds) in the indexer's batches, without
the cache, and prints papers/s and what a backfill of the 74,728 listings would take.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

from paperfeed.search.embed import paper_text
from paperfeed.search.indexes import EMBED_BATCH
from paperfeed.search.models import available_models, get_embedder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--papers", type=int, default=500)
    args = parser.parse_args()
    texts = []
    with gzip.open(args.data, "rt", encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            texts.append(paper_text(record["title"], " ".join(record["summary"].split())))
            if len(texts) == args.papers:
                break
    print("| model | papers | seconds | papers/s | 74,728 papers would take |")
    print("|---|---:|---:|---:|---:|")
    for name in available_models():
        embedder = get_embedder(name)
        embedder.embed(texts[:8])  # warm-up
        started = time.perf_counter()
        for i in range(0, len(texts), EMBED_BATCH):
            embedder.embed(texts[i : i + EMBED_BATCH])
        seconds = time.perf_counter() - started
        rate = len(texts) / seconds
        print(f"| {name} | {len(texts)} | {seconds:.1f} | {rate:.1f} | {74_728 / rate / 60:.0f} min |")


if __name__ == "__main__":
    main()
