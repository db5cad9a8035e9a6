"""What a filtered dense search pays for its filters: the store's SQL against the in-memory copy (search/filters.py).

    python bench/filter_speed.py /tmp/paperfeed-web-100k/web.db --runs 5

On a SQLite store (only read): for each filter, the CPU time of ``Store.filter_pks`` (the key set the file vector
index used to ask the store for on every filtered search) and of ``PaperFilters.keys`` once it follows the store;
how long the copy takes to load from nothing (in the background: searches meanwhile ask the store) and to take in
a batch of changes (replayed from the store's own last ``--changes`` changes, so nothing is written), and the
memory it holds (tracemalloc; numpy reports its arrays to it). Medians of ``--runs`` runs; CPU seconds (process
time, all threads), so other jobs on the machine count less than in wall time.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path

from paperfeed.search.filters import PaperFilters
from paperfeed.store import Store, open_store

FILTERS: list[tuple[str, tuple[str, ...], str | None, str | None]] = [
    ("category=cs.LG", ("cs.LG",), None, None),
    ("category=cs.CL,cs.LG", ("cs.CL", "cs.LG"), None, None),
    ("category=astro-ph.GA", ("astro-ph.GA",), None, None),
    ("year:2025", (), "2025-01-01", "2025-12-31"),
    ("cs.LG in 2026", ("cs.LG",), "2026-01-01", "2026-12-31"),
    ("since 2026-06-01 (similar papers, recent)", (), "2026-06-01", None),
]


class Capped:
    """The store as it was ``behind`` changes ago (for replaying its last changes as a batch of new ones)."""

    def __init__(self, store: Store, behind: int) -> None:
        self.store = store
        self.head = store.max_seq() - behind

    def max_seq(self) -> int:
        return self.head

    def filter_rows_since(self, seq: int, limit: int = 20000) -> list[tuple[int, int, list[str], str | None, bool]]:
        return [r for r in self.store.filter_rows_since(seq, limit) if r[1] <= self.head]

    def filter_pks(
        self, *, categories: Sequence[str] = (), date_from: str | None = None, date_to: str | None = None
    ) -> list[int]:
        return self.store.filter_pks(categories=categories, date_from=date_from, date_to=date_to)


def cpu(fn: Callable[[], object], runs: int) -> tuple[float, float, float]:
    times = []
    for _ in range(runs):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times), min(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path, help="a SQLite store file (only read)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--changes", type=int, default=2000, help="size of the replayed batch of changes")
    args = parser.parse_args()
    store = open_store(f"sqlite:///{args.db}")
    print(f"store: {store.count_papers():,} live papers, latest seq {store.max_seq():,}")

    def load() -> PaperFilters:
        table = PaperFilters(store)
        table.keys(("cs.LG",))  # answered by the store; a background thread loads the copy
        table.wait()
        return table

    tracemalloc.start()
    table = load()
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    median, low, high = cpu(load, args.runs)
    print(f"load from nothing: {median:.3f} s CPU (range {low:.3f}-{high:.3f}), holds {held / 2**20:.1f} MB")

    def replay() -> None:
        capped = Capped(store, args.changes)
        behind = PaperFilters(capped)
        behind.keys(("cs.LG",))
        behind.wait()
        capped.head = store.max_seq()
        t0 = time.process_time()
        behind.keys(("cs.LG",))
        replayed.append(time.process_time() - t0)

    replayed: list[float] = []
    for _ in range(args.runs):
        replay()
    print(f"take in {args.changes:,} changes, then answer: {statistics.median(replayed) * 1000:.1f} ms CPU")
    print()
    print("| filter | papers passing | store query (filter_pks), CPU s | in memory (PaperFilters.keys), CPU ms |")
    print("|---|---|---|---|")
    for label, categories, date_from, date_to in FILTERS:

        def by_sql(c: tuple[str, ...] = categories, lo: str | None = date_from, hi: str | None = date_to) -> object:
            return store.filter_pks(categories=c, date_from=lo, date_to=hi)

        def in_memory(c: tuple[str, ...] = categories, lo: str | None = date_from, hi: str | None = date_to) -> object:
            return table.keys(c, lo, hi)

        sql, mem = cpu(by_sql, args.runs), cpu(in_memory, max(args.runs, 20))
        passing = len(table.keys(categories, date_from, date_to))
        expected = sorted(store.filter_pks(categories=categories, date_from=date_from, date_to=date_to))
        assert table.keys(categories, date_from, date_to).tolist() == expected, label
        print(
            f"| {label} | {passing:,} | {sql[0]:.3f} ({sql[1]:.3f}-{sql[2]:.3f}) "
            f"| {mem[0] * 1000:.2f} ({mem[1] * 1000:.2f}-{mem[2] * 1000:.2f}) |"
        )
    store.close()


if __name__ == "__main__":
    main()
