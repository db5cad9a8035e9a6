"""Embedding throughput: papers per second for each built-in model, and for each idea that makes it faster.

    python bench/embed_speed.py ../shared/data/arxiv-listings/arxiv_daily_listings.dedup.jsonl.gz --papers 400
    python bench/embed_speed.py … --papers 400 --ideas [--model-file NAME=PATH …]

Embeds the title + abstract of the first N papers (the text the indexer embeds) in the indexer's calls (64 texts),
without the cache, and prints papers/s (median of ``--runs``), CPU seconds per paper and what a backfill of the
74,728 listings and of a million papers would take. ``--ideas`` measures the speed ideas one at a time on the same
texts, interleaved run by run so a busy machine slows them alike: the way the model ran before (one session over
every core, batches of 32 sorted within each call), then each change alone, then the product's embedder; with
``--model-file`` also other ONNX files of the same model (``scripts/export_minilm_w8a8.py`` writes variants) run
the product's way (one text per run, side by side on every core).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from paperfeed.search.embed import Vectors, normalise, paper_text
from paperfeed.search.indexes import EMBED_BATCH
from paperfeed.search.models import (
    MAX_TOKENS,
    SLOWER_FUSIONS,
    TOKEN_BUDGET,
    _minilm_files,
    available_models,
    embed_workers,
    get_embedder,
    length_batches,
)


def load_texts(path: Path, n: int) -> list[str]:
    texts = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            texts.append(paper_text(record["title"], " ".join(record["summary"].split())))
            if len(texts) == n:
                break
    return texts


class Runner:
    """The model run one way: the knobs of the ideas measured (the product's embedder is ``models.OnnxMiniLM``)."""

    def __init__(
        self,
        model: Path,
        tokenizer: Path,
        *,
        threads: int,
        parallel: int = 1,
        sessions: int = 1,
        spinning: bool = True,
        arena: bool = True,
        sorted_batches: bool = True,
        budget: int | None = None,
        batch: int = 32,
        disabled: Sequence[str] = (),
    ) -> None:
        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = arena
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if not spinning:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.sessions = [
            ort.InferenceSession(
                str(model), options, providers=["CPUExecutionProvider"], disabled_optimizers=list(disabled)
            )
            for _ in range(sessions)
        ]
        self.inputs = {i.name for i in self.sessions[0].get_inputs()}
        self.pool = ThreadPoolExecutor(parallel) if parallel > 1 else None
        self.sorted_batches, self.budget, self.batch = sorted_batches, budget, batch

    def embed(self, texts: Sequence[str]) -> Vectors:
        encodings = self.tokenizer.encode_batch(list(texts))
        lengths = [len(e.ids) for e in encodings]
        if self.budget:
            batches = length_batches(lengths, self.budget if "attention_mask" in self.inputs else 1)
        else:
            order = np.argsort(lengths, kind="stable") if self.sorted_batches else np.arange(len(texts))
            batches = [order[i : i + self.batch] for i in range(0, len(order), self.batch)]
        out = np.zeros((len(texts), 384), dtype=np.float32)

        def run(k: int, idx: Any) -> None:
            width = max(lengths[i] for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            for row, i in enumerate(idx):
                ids[row, : lengths[i]] = encodings[i].ids
                mask[row, : lengths[i]] = 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            session = self.sessions[k % len(self.sessions)]
            hidden = session.run(None, {n: v for n, v in feed.items() if n in self.inputs})[0]
            w = mask.astype(np.float32)
            out[idx] = np.matmul(w[:, None, :], hidden)[:, 0] / w.sum(axis=1, keepdims=True)

        if self.pool is None:
            for k, idx in enumerate(batches):
                run(k, idx)
        else:
            list(self.pool.map(run, range(len(batches)), batches))
        return normalise(out)


def timed(embed: Callable[[Sequence[str]], Vectors], texts: list[str]) -> tuple[float, float, Vectors]:
    """(wall seconds, CPU seconds, vectors) of embedding ``texts`` in the indexer's calls."""
    embed(texts[:8])  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    vectors = np.vstack([embed(texts[i : i + EMBED_BATCH]) for i in range(0, len(texts), EMBED_BATCH)])
    return time.perf_counter() - wall, time.process_time() - cpu, vectors


def ideas(files: dict[str, Path]) -> list[tuple[str, Callable[[Sequence[str]], Vectors]]]:
    model, tokenizer = _minilm_files()
    cores = embed_workers()

    def runner(path: Path = model, **knobs: Any) -> Callable[[Sequence[str]], Vectors]:
        return Runner(path, tokenizer, **knobs).embed

    rows = [
        ("before: 1 session x 2 threads, batches of 32 sorted per call", runner(threads=cores)),
        ("  batches unsorted", runner(threads=cores, sorted_batches=False)),
        ("  no spinning", runner(threads=cores, spinning=False)),
        ("  memory arena off", runner(threads=cores, arena=False)),
        ("  slower fusions off", runner(threads=cores, disabled=SLOWER_FUSIONS)),
        ("  batches of 8", runner(threads=cores, batch=8)),
        ("  one text per run", runner(threads=cores, budget=TOKEN_BUDGET)),
        ("  2 sessions x 1 thread, runs side by side", runner(threads=1, parallel=cores, sessions=cores)),
        ("  1 session x 1 thread, runs side by side", runner(threads=1, parallel=cores)),
        ("  1 session, side by side, one text per run", runner(threads=1, parallel=cores, budget=TOKEN_BUDGET)),
        ("now: the product's embedder (minilm-l6-int8)", get_embedder("minilm-l6-int8").embed),
    ]
    for name, path in files.items():
        rows.append(
            (
                f"model file {name}",
                runner(path, threads=1, parallel=cores, spinning=False, budget=1, disabled=SLOWER_FUSIONS),
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--papers", type=int, default=400)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ideas", action="store_true", help="Measure each speed idea (see above).")
    parser.add_argument("--model-file", action="append", default=[], metavar="NAME=PATH", help="With --ideas.")
    args = parser.parse_args()
    texts = load_texts(args.data, args.papers)
    tokenizer = Tokenizer.from_file(str(_minilm_files()[1]))
    tokenizer.enable_truncation(MAX_TOKENS)
    lengths = [len(e.ids) for e in tokenizer.encode_batch(texts)]
    capped = sum(n == MAX_TOKENS for n in lengths) / len(lengths)
    tokens = f"{np.mean(lengths):.0f} word pieces each on average, {capped:.0%} cut at {MAX_TOKENS}"
    print(f"{len(texts)} papers ({tokens}), {os.cpu_count()} cores, median of {args.runs} runs\n")
    files = {k: Path(v) for k, v in (a.split("=", 1) for a in args.model_file)}
    rows = ideas(files) if args.ideas else [(name, get_embedder(name).embed) for name in available_models()]
    walls: dict[str, list[float]] = {name: [] for name, _ in rows}
    cpus: dict[str, list[float]] = {name: [] for name, _ in rows}
    first: Vectors | None = None
    drift: dict[str, float] = {}
    for _ in range(args.runs):
        for name, embed in rows:
            wall, cpu, vectors = timed(embed, texts)
            walls[name].append(wall)
            cpus[name].append(cpu)
            first = vectors if first is None else first
            drift[name] = float(np.abs(vectors - first).max())
    print("| how | papers/s | CPU s per paper | max vector difference to the first row | 74,728 papers | 1M papers |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, _ in rows:
        rate = len(texts) / statistics.median(walls[name])
        cpu = statistics.median(cpus[name]) / len(texts)
        spread = (max(walls[name]) - min(walls[name])) / statistics.median(walls[name])
        print(
            f"| {name} | {rate:.1f} (±{spread * 50:.0f}%) | {cpu:.3f} | {drift[name]:.1e} "
            f"| {74_728 / rate / 60:.0f} min | {1e6 / rate / 3600:.1f} h |"
        )
    took = []
    for _ in range(args.runs):
        started = time.perf_counter()
        for i in range(0, len(texts), EMBED_BATCH):
            tokenizer.encode_batch(texts[i : i + EMBED_BATCH])
        took.append(time.perf_counter() - started)
    per_paper = statistics.median(took) / len(texts) * 1e3
    print(f"\ntokenizer alone (encode_batch, in the indexer's calls): {per_paper:.2f} ms per paper")


if __name__ == "__main__":
    main()
