"""SQLite ingest side by side with a plain bulk loader: ``paperfeed ingest`` against ``sqlite-utils insert``.

    pip install -e ".[bench]"     # sqlite-utils, for this script only
    python bench/sqlite_loader.py ../shared/data/arxiv-listings/arxiv_daily_listings.dedup.jsonl.gz --runs 3

Each run times, in turn and on fresh files, the two commands as a user types them (process start-up included):

- ``gzip -dc FILE | sqlite-utils insert DB papers - --nl --pk id``, then ``sqlite-utils enable-fts DB papers
  title summary authors --fts5`` (the plain loader: one table, no merging, no checks, then a full-text index);
- ``paperfeed ingest FILE``, then ``paperfeed index --no-embed`` (the keyword index, tantivy).

The runs alternate, so both sides see the same load of a shared machine; the ratio is taken per run and the
medians are printed with every run's figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _timed(cmd: str, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, shell=True, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - t0


def one_run(data: Path, tmp: Path, run: int) -> dict[str, float]:
    env = dict(os.environ)
    loader_db = tmp / f"loader{run}.db"
    bin_dir = Path(sys.executable).parent
    utils = shutil.which("sqlite-utils", path=str(bin_dir)) or shutil.which("sqlite-utils")
    if utils is None:
        raise SystemExit('sqlite-utils is not installed: pip install -e ".[bench]"')
    insert = _timed(f"gzip -dc {data} | {utils} insert {loader_db} papers - --nl --pk id", env)
    fts = _timed(f"{utils} enable-fts {loader_db} papers title summary authors --fts5", env)
    pf = f"{sys.executable} -m paperfeed --data-dir {tmp / f'pf{run}'} --database-url sqlite:///{tmp / f'pf{run}.db'}"
    subprocess.run(f"{pf} init", shell=True, check=True, env=env, capture_output=True)
    ingest = _timed(f"{pf} ingest {data} -q", env)
    index = _timed(f"{pf} index --no-embed -q", env)
    return {
        "sqlite_utils_insert_s": insert,
        "sqlite_utils_fts_s": fts,
        "paperfeed_ingest_s": ingest,
        "paperfeed_keyword_index_s": index,
        "ratio_ingest_to_insert_fts": ingest / (insert + fts),
        "ratio_ingest_index_to_insert_fts": (ingest + index) / (insert + fts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="JSONL file (gzip ok), e.g. the arXiv listings")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="paperfeed-loader-"))
    runs: list[dict[str, float]] = []
    try:
        for run in range(args.runs):
            runs.append(one_run(args.data.resolve(), tmp, run))
            print(f"run {run + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in runs[-1].items()), file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summary: dict[str, Any] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    summary["runs"] = runs
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print("| command | median s | each run (s) |")
    print("|---|---:|---|")
    for key, label in (
        ("sqlite_utils_insert_s", "sqlite-utils insert"),
        ("sqlite_utils_fts_s", "sqlite-utils enable-fts"),
        ("paperfeed_ingest_s", "paperfeed ingest"),
        ("paperfeed_keyword_index_s", "paperfeed index --no-embed"),
    ):
        print(f"| {label} | {summary[key]:.1f} | {' / '.join(f'{r[key]:.1f}' for r in runs)} |")
    for key, label in (
        ("ratio_ingest_to_insert_fts", "ingest ÷ (insert + enable-fts)"),
        ("ratio_ingest_index_to_insert_fts", "(ingest + index) ÷ (insert + enable-fts)"),
    ):
        print(f"| {label} | {summary[key]:.2f}× | {' / '.join(f'{r[key]:.2f}' for r in runs)} |")


if __name__ == "__main__":
    main()
