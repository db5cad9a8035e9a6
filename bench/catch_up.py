"""Keyword searches while a running store's keyword index catches up with a big ingest.

Reproduces the incident where, after 71,008 papers were ingested into a running store, 24 of 33 keyword searches
timed out at 90 s: ``--indexed`` papers are ingested and indexed, then ``--papers`` more are ingested without
indexing (a bulk ingest without ``--index``), then ``--threads`` threads run
``--searches`` keyword searches in all against it, as web requests would. Prints each search's latency, how many
answered while the index was still behind, how many documents were written to the keyword index (the backlog's
size when each is written once) and when the index had caught up.

    python bench/catch_up.py ../shared/data/arxiv-listings/arxiv_daily_listings.dedup.jsonl.gz --papers 30000
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from paperfeed.ingest.writer import ingest
from paperfeed.search.engine import search
from paperfeed.search.indexes import indexes_for
from paperfeed.search.keyword import KeywordIndex
from paperfeed.search.registry import SearchSettings, register
from paperfeed.sources.files import read_file
from paperfeed.store import open_store

QUERIES = ["graph neural network", "diffusion model", "quantum error correction", "reinforcement learning",
           "dark matter halo", "large language models", "protein structure", "black hole merger"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, help="arXiv listings JSON Lines (gzip)")
    parser.add_argument("--indexed", type=int, default=10_000, help="papers in the keyword index before the ingest")
    parser.add_argument("--papers", type=int, default=30_000, help="papers of the big ingest")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--searches", type=int, default=33)
    parser.add_argument("--timeout", type=float, default=90.0, help="a search slower than this counts as timed out")
    args = parser.parse_args()

    written = [0]
    real_document = KeywordIndex._document

    def counted(index: KeywordIndex, doc: Any) -> Any:
        written[0] += 1
        return real_document(index, doc)

    KeywordIndex._document = counted  # type: ignore[method-assign]
    tmp = tempfile.mkdtemp(prefix="paperfeed-catch-up-")
    try:
        with open_store(f"sqlite:///{tmp}/store.db", migrate=True) as store:
            register(store, SearchSettings(Path(tmp) / "index"))
            batches = read_file(args.data, batch_size=5000)
            indexes = indexes_for(store)
            before = ingest(store, itertools.islice(batches, args.indexed // 5000)).new
            indexes.sync_keyword()
            t0 = time.perf_counter()
            papers = ingest(store, itertools.islice(batches, max(1, args.papers // 5000))).new
            print(f"{before:,} papers indexed, then {papers:,} ingested in {time.perf_counter() - t0:.0f} s")
            written[0] = 0
            head = store.max_seq()
            latencies: list[float] = []
            behind = [0]
            lock = threading.Lock()
            todo = iter(range(args.searches))

            def worker() -> None:
                for i in todo:
                    started = time.perf_counter()
                    search(store, QUERIES[i % len(QUERIES)], 20, mode="keyword")
                    took = time.perf_counter() - started
                    with lock:
                        latencies.append(took)
                        behind[0] += int(indexes.keyword.get_meta("seq") or 0) < head

            start = time.perf_counter()
            threads = [threading.Thread(target=worker) for _ in range(args.threads)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            searched = time.perf_counter() - start
            while int(indexes.keyword.get_meta("seq") or 0) < head:
                time.sleep(0.1)
            caught_up = time.perf_counter() - start
            indexes.close()
            lat = sorted(latencies)
            print(
                f"{len(lat)} searches on {args.threads} threads in {searched:.1f} s: "
                f"p50 {statistics.median(lat):.3f} s, "
                f"p95 {lat[int(0.95 * (len(lat) - 1))]:.3f} s, max {lat[-1]:.1f} s, "
                f"{sum(x > args.timeout for x in lat)} over {args.timeout:g} s; {behind[0]} answered while behind"
            )
            print(f"keyword documents written: {written[0]:,}, backlog {papers:,}; caught up at {caught_up:.0f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
