"""Build the bundled demo slice: the papers of the most recent listing days of the real arXiv listings.

Usage: python scripts/build_demo_corpus.py [LISTINGS_DIR] [--days N]
Writes src/paperfeed/demo/listings.jsonl.gz in the listings format (one paper per line, as in the source file,
with all its listing dates, so re-listings keep their kind), so the demo's daily feed looks like real arXiv days.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("listings", nargs="?", type=Path, default=ROOT.parent / "shared/data/arxiv-listings")
    parser.add_argument("--days", type=int, default=20, help="number of most recent listing days to keep")
    parser.add_argument("-o", "--out", type=Path, default=ROOT / "src/paperfeed/demo/listings.jsonl.gz")
    args = parser.parse_args()

    with gzip.open(args.listings / "daily_manifest.tsv.gz", "rt", encoding="utf-8") as f:
        next(f)
        days = sorted({line.split("\t", 1)[0] for line in f})
    window = set(days[-args.days :])
    kept = 0
    with (
        gzip.open(args.listings / "arxiv_daily_listings.dedup.jsonl.gz", "rt", encoding="utf-8") as src,
        gzip.open(args.out, "wt", encoding="utf-8", compresslevel=9) as out,
    ):
        for line in src:
            record = json.loads(line)
            if not window.intersection(record["listing_dates"]):
                continue
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            kept += 1
    size = args.out.stat().st_size
    print(f"{kept} papers over {len(window)} days ({min(window)} … {max(window)}) -> {args.out} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
