"""Vector index: build time, add-one latency, memory, query latency and recall@10 of paperfeed.search.vectors.

    nice -n 10 python bench/vectors.py --n 100000 1000000 --dim 384 --queries 500
    python bench/vectors.py --npy embeddings.npy --n 100000      # real (unit or not) embeddings instead

Vectors are synthetic by default: ``--clusters`` gaussian clusters on the unit sphere with within-cluster cosine
~0.5, so that the top 10 of a query sit among hundreds of near-ties (harder than real text embeddings). Queries are
drawn from the same distribution and are not in the index. For each n it measures:

* exact: ``VectorIndex`` with ``exact_below`` above n (one float32 BLAS mat-vec per query);
* ann: the default ``VectorIndex`` (faiss IVF-SQ8) at several ``nprobe`` values (the default is NPROBE);
* filtered: the ann index with ``allowed`` sets of 0.5 %, 2 % and 10 % of the keys;
* a sweep of exact-scan latency by size, which is what ``EXACT_BELOW`` is chosen from.

Recall@10 is against an exact float32 scan. Memory is the RSS growth while building the index (the base vectors
are already resident) and the size of the saved files. The markdown tables go to stdout and to ``--out``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from paperfeed.search import vectors
from paperfeed.search.vectors import VectorIndex

F32 = npt.NDArray[np.float32]


def clustered(n: int, dim: int, clusters: int, seed: int = 0) -> F32:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    out = np.empty((n, dim), np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        x = centres[rng.integers(0, clusters, m)] + rng.standard_normal((m, dim), dtype=np.float32) / np.sqrt(dim)
        out[start : start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def load_npy(path: Path, n: int, queries: int) -> tuple[F32, F32]:
    x = np.load(path, mmap_mode="r")
    if len(x) < queries + 10:
        sys.exit(f"{path}: {len(x)} vectors, too few")
    n = min(n, len(x) - queries)
    x = np.asarray(x[: n + queries], dtype=np.float32)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    return x[:n], x[n:]


def exact_top(base: F32, q: F32, k: int = 10) -> npt.NDArray[np.int64]:
    out = np.empty((len(q), k), np.int64)
    for s in range(0, len(q), 50):
        scores = q[s : s + 50] @ base.T
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1)
        out[s : s + 50] = np.take_along_axis(part, order, axis=1)
    return out


def recall(found: list[npt.NDArray[np.int64]], truth: npt.NDArray[np.int64]) -> float:
    return statistics.fmean(len(set(f.tolist()) & set(t.tolist())) / len(t) for f, t in zip(found, truth, strict=True))


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def pct(samples: list[float], p: float) -> float:
    return float(np.percentile(samples, p)) * 1e3


def query_run(
    index: VectorIndex, q: F32, allowed: npt.NDArray[np.int64] | None = None
) -> tuple[list[Any], list[float]]:
    found, times = [], []
    for v in q:
        t = time.perf_counter()
        keys, _ = index.search(v, 10, allowed=allowed)
        times.append(time.perf_counter() - t)
        found.append(keys)
    return found, times


def bench_index(
    name: str, base: F32, q: F32, truth: npt.NDArray[np.int64], exact_below: int, probes: list[int]
) -> list[dict[str, Any]]:
    n, dim = base.shape
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="vbench-", dir=os.environ.get("TMPDIR", "/tmp")) as tmp:
        path = Path(tmp) / "vectors"
        before = rss_mb()
        index = VectorIndex.open(path, dim, exact_below=exact_below)
        t0 = time.perf_counter()
        for start in range(0, n, 100_000):
            index.add(np.arange(start, min(n, start + 100_000)), base[start : start + 100_000])
            if n > 100_000:
                print(
                    f"  {name} n={n}: {min(n, start + 100_000)} added, {time.perf_counter() - t0:.0f} s",
                    file=sys.stderr,
                )
        build = time.perf_counter() - t0
        mem = rss_mb() - before
        extra = clustered(200, dim, 50, seed=99)
        add_times, remove_times = [], []
        for i in range(200):
            t = time.perf_counter()
            index.add(np.array([n + i]), extra[i : i + 1])
            add_times.append(time.perf_counter() - t)
        for i in range(200):
            t = time.perf_counter()
            index.remove(np.array([n + i]))
            remove_times.append(time.perf_counter() - t)
        save_s, _ = timed(index.save)
        size_mb = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 2**20
        open_s, reopened = timed(lambda: VectorIndex.open(path, dim, exact_below=exact_below))
        assert len(reopened) == n
        del reopened
        common = {
            "n": n,
            "build_s": build,
            "add1_ms": pct(add_times, 50),
            "remove1_ms": pct(remove_times, 50),
            "rss_mb": mem,
            "file_mb": size_mb,
            "save_s": save_s,
            "open_s": open_s,
        }
        default_nprobe = vectors.NPROBE
        for nprobe in probes if index.mode == "ann" else [0]:
            if nprobe:
                vectors.NPROBE = nprobe  # the module constant is read at each search; a bench may turn it
            found, times = query_run(index, q)
            label = f"{name} nprobe={nprobe}" if nprobe else name
            rows.append(
                common
                | {"config": label, "p50_ms": pct(times, 50), "p99_ms": pct(times, 99), "recall": recall(found, truth)}
            )
            print(rows[-1], file=sys.stderr)
        vectors.NPROBE = default_nprobe
        if index.mode == "ann":
            common["config_info"] = index.info()
            print(common["config_info"], file=sys.stderr)
            rng = np.random.default_rng(5)
            for share in (0.005, 0.02, 0.10):
                allowed = np.sort(rng.choice(n, max(10, int(n * share)), replace=False)).astype(np.int64)
                sub_truth = allowed[exact_top(base[allowed], q)]
                found, times = query_run(index, q, allowed)
                rows.append(
                    common
                    | {
                        "config": f"{name} allowed {share:.1%} ({len(allowed):,})",
                        "p50_ms": pct(times, 50),
                        "p99_ms": pct(times, 99),
                        "recall": recall(found, sub_truth),
                    }
                )
                print(rows[-1], file=sys.stderr)
        del index
    return rows


def scan_sweep(base: F32, q: F32, sizes: list[int]) -> list[tuple[int, float, float]]:
    out = []
    for m in sizes:
        if m > len(base):
            break
        index = VectorIndex.open(None, base.shape[1], exact_below=m + 1)
        index.add(np.arange(m), base[:m])
        _, times = query_run(index, q[:200])
        out.append((m, pct(times, 50), pct(times, 99)))
    return out


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| n | config | build s | add-one ms | remove-one ms | RSS Δ MB | file MB | save s | open s "
        "| p50 ms | p99 ms | recall@10 |"
    )
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        lines.append(
            f"| {r['n']:,} | {r['config']} | {r['build_s']:.1f} | {r['add1_ms']:.2f} | {r['remove1_ms']:.2f} | "
            f"{r['rss_mb']:.0f} | {r['file_mb']:.0f} | {r['save_s']:.2f} | {r['open_s']:.2f} | "
            f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['recall']:.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--clusters", type=int, default=2_000)
    parser.add_argument("--npy", type=Path, help="real embeddings (rows) instead of synthetic vectors")
    parser.add_argument("--nprobe", type=int, nargs="+", default=[32, 64, 128], help="IVF lists probed per query")
    parser.add_argument("--no-exact", action="store_true", help="skip the exact baseline (85 ms/query at 1M)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "vectors.md")
    args = parser.parse_args()

    rows: list[dict[str, Any]] = []
    sweep: list[tuple[int, float, float]] = []
    source = f"{args.npy}" if args.npy else f"synthetic, {args.clusters:,} clusters"
    for n in args.n:
        if args.npy:
            base, q = load_npy(args.npy, n, args.queries)
        else:
            allx = clustered(n + args.queries, args.dim, args.clusters)
            base, q = allx[:n], allx[n:]
        dim = base.shape[1]
        t, truth = timed(lambda base=base, q=q: exact_top(base, q))
        print(f"n={len(base):,} dim={dim}: ground truth in {t:.1f} s", file=sys.stderr)
        if not sweep:
            sweep = scan_sweep(base, q, [5_000, 10_000, 20_000, 50_000, 100_000])
        if not args.no_exact:
            rows += bench_index("exact f32", base, q, truth, len(base) + 1_000, [])
        rows += bench_index("faiss IVF-SQ8", base, q, truth, min(vectors.EXACT_BELOW, len(base)), args.nprobe)
        del base, q

    load = os.getloadavg()
    text = (
        f"# Vector index ({source}, dim {dim}, {args.queries} queries, k=10)\n\n"
        f"Machine: {os.cpu_count()} cores, load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}.\n\n"
        + table(rows)
        + "\n\n## Exact scan latency by size (float32, one query)\n\n| n | p50 ms | p99 ms |\n|---|---|---|\n"
        + "\n".join(f"| {m:,} | {p50:.2f} | {p99:.2f} |" for m, p50, p99 in sweep)
        + "\n"
    )
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
