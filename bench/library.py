"""The library's reads on the request path, on a throw-away SQLite store: the save buttons of a 50-paper page (one
query), a library page unfiltered / by tag / by words, and a member's interest signals.

    python bench/library.py [--papers 20000] [--saved 2000]

Prints the median of repeated runs in milliseconds (a shared machine is noisy: medians, not means).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable

from paperfeed.papers import Paper
from paperfeed.store import open_store
from paperfeed.store.library import RestoredEntry


def median_ms(run: Callable[[], object], times: int) -> float:
    taken = []
    for _ in range(times):
        start = time.perf_counter()
        run()
        taken.append((time.perf_counter() - start) * 1000)
    return statistics.median(taken)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=20_000)
    parser.add_argument("--saved", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, open_store(f"sqlite:///{tmp}/pf.db", migrate=True) as store:
        papers = [
            Paper(
                id=f"2611.{i:05d}",
                title=f"Paper {i} on topic {i % 50}",
                abstract="words " * 100,
                authors=["Ada Lovelace"],
                source="bench",
            )
            for i in range(args.papers)
        ]
        for i in range(0, len(papers), 5000):
            store.upsert_papers(papers[i : i + 5000])
        member = store.create_user("ada", None, "-", "member", "2026-11-01T00:00:00+00:00")
        step = max(1, args.papers // args.saved)
        saved = [RestoredEntry(p.id, (f"tag{i % 7}",)) for i, p in enumerate(papers[::step][: args.saved])]
        store.restore_library(member.id, saved, "2026-11-02T00:00:00+00:00")
        page = [p.id for p in papers[1000:1050]]
        rows = [
            ("saved_among (a page of 50 papers)", lambda: store.saved_among(member.id, page), 50),
            ("library page, unfiltered", lambda: store.library_ids(member.id, limit=50), 50),
            ("library page, by tag", lambda: store.library_ids(member.id, tag="tag3", limit=50), 50),
            ("library page, by words", lambda: store.library_ids(member.id, text="topic 7", limit=50), 20),
            ("interest_signals (every signal)", lambda: store.interest_signals(member.id), 20),
        ]
        print(f"{args.papers:,} papers, {len(saved):,} saved by one member")
        for label, run, times in rows:
            print(f"{label:<36} {median_ms(run, times):8.2f} ms")


if __name__ == "__main__":
    main()
