"""How well arXiv's schedule predicts a paper's listing day from its first version's submission time.

    python bench/announcements.py ../shared/data/arxiv-listings/arxiv_daily_listings.dedup.jsonl.gz \
        [TIMES ...]   # default: every recorded response under ../shared/data/fixtures

The truth is the listings archive's first listing day of each paper (``sources.jsonl.listing_runs``: the first day
of its first run). The prediction is the day paperfeed derives, through its own parsers, for the same paper from
any file that carries the first version's time (arXiv API Atom ``published``, OAI-PMH arXivRaw version 1 date, the
Kaggle snapshot's ``versions[0].created``) or, for Hugging Face Daily Papers JSON, ``paper.publishedAt`` (arXiv's
first-version time) through ``sources.announcements.listing_day_of``. Files that are none of these are skipped.

Prints the agreement table — exact day, off by one listing day, other — overall and by the weekday of the real
listing day (Monday's listing holds Thursday-afternoon and Friday-morning submissions, Tuesday's the weekend's),
and each pair when there are few.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from paperfeed.errors import PaperfeedError
from paperfeed.papers import DERIVED_KIND, Paper
from paperfeed.sources.announcements import listing_day, next_weekday, parse_moment
from paperfeed.sources.files import read_file
from paperfeed.sources.jsonl import listing_runs

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_SUFFIXES = (".xml", ".json", ".jsonl", ".gz")


def first_listing_days(path: Path) -> dict[str, str]:
    """Each paper's first listing day in the archive."""
    days: dict[str, str] = {}
    with gzip.open(path) if path.suffix == ".gz" else path.open("rb") as lines:
        for line in lines:
            record = orjson.loads(line)
            dates = sorted({d for d in record.get("listing_dates") or () if isinstance(d, str) and d})
            if dates:
                days[record["id"]] = next(iter(listing_runs(dates)))
    return days


def _files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(_SUFFIXES))
        else:
            yield path


def _hf_times(path: Path) -> Iterator[tuple[str, str]]:
    data: Any = orjson.loads(path.read_bytes())
    for item in data if isinstance(data, list) else [data]:
        paper = item.get("paper") if isinstance(item, dict) else None
        if isinstance(paper, dict) and isinstance(paper.get("id"), str) and isinstance(paper.get("publishedAt"), str):
            yield paper["id"], paper["publishedAt"]


def predictions(paths: list[Path]) -> Iterator[tuple[str, str, str]]:
    """(paper id, first version's day or time, derived listing day) from every readable file."""
    for path in _files(paths):
        try:
            batches = read_file(path, batch_size=10_000)  # streams: a whole Kaggle snapshot is fine
        except PaperfeedError:
            continue
        for batch in batches:
            if batch.meta.get("format") == "hf-daily":
                for pid, stamp in _hf_times(path):
                    moment = parse_moment(stamp)
                    if moment is not None:
                        yield pid, stamp, listing_day(moment).isoformat()
                break
            for item in batch.items:
                if isinstance(item, Paper):
                    days = [d for d, kind in item.listing_days.items() if kind == DERIVED_KIND]
                    if days:
                        yield item.id, item.submitted or "", days[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("listings", type=Path, help="the listings archive (arxiv_daily_listings.dedup.jsonl.gz)")
    parser.add_argument("times", type=Path, nargs="*", help="files or folders with first-version times")
    args = parser.parse_args(argv)
    times = args.times or [args.listings.resolve().parents[1] / "fixtures"]
    truth = first_listing_days(args.listings)
    pairs: dict[str, tuple[str, str, str]] = {}
    for pid, stamp, derived in predictions(times):
        if pid in truth:
            pairs[pid] = (stamp, derived, truth[pid])
    print(f"{len(truth):,} papers with a listing day; {len(pairs):,} of them with a known first-version time")
    # The dating convention: derived days fall on Monday to Friday, so the archive's first listing days should too.
    weekdays = collections.Counter(WEEKDAYS[date.fromisoformat(d).weekday()] for d in truth.values())
    print("first listing days by weekday: " + ", ".join(f"{w} {weekdays[w]:,}" for w in WEEKDAYS))
    by_weekday: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    total: collections.Counter[str] = collections.Counter()
    rows = []
    for pid, (stamp, derived, real) in sorted(pairs.items()):
        weekday = WEEKDAYS[date.fromisoformat(real).weekday()]
        outcome = _outcome(date.fromisoformat(derived), date.fromisoformat(real))
        by_weekday[weekday][outcome] += 1
        total[outcome] += 1
        rows.append((pid, stamp, weekday, derived, real, outcome))
    print()
    print("| listed on | papers | exact | off by one | other |")
    print("|---|---:|---:|---:|---:|")
    for weekday in WEEKDAYS:
        if weekday in by_weekday:
            print(_row(weekday, by_weekday[weekday]))
    print(_row("**all**", total))
    if len(rows) <= 50:
        print()
        print("| paper | first version | listed on | derived | listed | |")
        print("|---|---|---|---|---|---|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
    sys.stdout.flush()


def _outcome(derived: date, real: date) -> str:
    if derived == real:
        return "exact"
    if next_weekday(derived) == real or next_weekday(real) == derived:
        return "off by one"
    return "other"


def _row(label: str, counts: collections.Counter[str]) -> str:
    n = sum(counts.values())
    cells = [f"{counts[k]} ({100 * counts[k] / n:.0f}%)" for k in ("exact", "off by one", "other")]
    return f"| {label} | {n} | " + " | ".join(cells) + " |"


if __name__ == "__main__":
    main()
