"""Where a PostgreSQL bulk ingest spends its time: cProfile of the ingesting process over the first N papers.

    python bench/ingest_profile.py ../shared/data/arxiv-listings/arxiv_daily_listings.dedup.jsonl.gz --papers 20000

The same path as ``paperfeed ingest`` (``sources.files.read_file`` parsed and prepared by ``ingest.prepared`` ahead
in a child process by ``ingest.read_ahead``, into ``ingest.ingest``) into a fresh database on a ``pgserver``
instance; prints wall and CPU seconds of this process and its 25 most expensive functions. Time the profile shows in
``psycopg … wait`` is this process waiting for the server.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import os
import pstats
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--papers", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--data-dir", default="/tmp/pf-ingest-profile")
    args = parser.parse_args()
    import pgserver
    import psycopg

    from paperfeed.ingest.read_ahead import read_ahead
    from paperfeed.ingest.writer import ingest, prepared
    from paperfeed.sources.files import read_file
    from paperfeed.store import Store

    uri = pgserver.get_server(args.data_dir, cleanup_mode=None).get_uri()
    name = f"profile{os.getpid()}"
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    store = Store(uri.replace("/postgres?", f"/{name}?"))
    store.migrate()
    batches = itertools.islice(read_file(args.data, batch_size=args.batch_size), args.papers // args.batch_size)
    profile = cProfile.Profile()
    wall, cpu = time.perf_counter(), time.process_time()
    profile.enable()
    report = ingest(store, read_ahead(map(prepared, batches)))
    profile.disable()
    print(f"{report.new} papers: wall {time.perf_counter() - wall:.1f} s, CPU {time.process_time() - cpu:.1f} s")
    pstats.Stats(profile).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
