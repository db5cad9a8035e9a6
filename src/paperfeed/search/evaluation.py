"""Retrieval evaluation: BEIR-layout collections, the standard metrics, and TREC run files.

Used by ``paperfeed bench quality`` and ``bench/quality.py``: a collection (``corpus.jsonl`` with ``_id``/``title``/
``text``, ``queries.jsonl``, ``qrels/<split>.tsv``) is loaded into a temporary store through the normal ingest and
index path and every query runs through the product's search function. Metrics follow the BEIR / trec_eval
definitions: nDCG@10 with graded gains (linear), recall@100 and MRR@10.
"""

from __future__ import annotations

import logging
import math
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from paperfeed.errors import BadInput
from paperfeed.sources.jsonl import BEIR_ID_PREFIX, EMPTY_DOCUMENT

__all__ = ["BEIR_ID_PREFIX", "Collection", "load_collection", "run_quality", "score_run", "write_trec_run"]
RUN_DEPTH = 100  # results per query in runs and for recall@100
log = logging.getLogger("paperfeed.search")


@dataclass
class Collection:
    name: str
    corpus: Path
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def load_collection(directory: Path, split: str = "test") -> Collection:
    """Read queries and relevance judgements; the corpus is ingested from ``corpus.jsonl`` by the caller."""
    corpus = directory / "corpus.jsonl"
    qrels_path = directory / "qrels" / f"{split}.tsv"
    for path in (corpus, directory / "queries.jsonl", qrels_path):
        if not path.is_file():
            raise BadInput(f"not a BEIR collection: {path} is missing", str(directory))
    qrels: dict[str, dict[str, int]] = {}
    for lineno, line in enumerate(qrels_path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split("\t")
        if lineno == 1 and parts[0] == "query-id":
            continue
        if len(parts) != 3:
            raise BadInput("expected query-id, corpus-id, score", f"{qrels_path}:{lineno}")
        qid, docid, score = parts
        if int(score) > 0:
            qrels.setdefault(qid, {})[docid] = int(score)
    queries: dict[str, str] = {}
    for raw in (directory / "queries.jsonl").read_bytes().splitlines():
        if raw.strip():
            record = orjson.loads(raw)
            if str(record["_id"]) in qrels:
                queries[str(record["_id"])] = record["text"]
    return Collection(directory.name, corpus, queries, qrels)


def ndcg_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 100) -> float:
    return len(set(ranked[:k]) & set(relevant)) / len(relevant) if relevant else 0.0


def mrr_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    for i, doc in enumerate(ranked[:k]):
        if doc in relevant:
            return 1.0 / (i + 1)
    return 0.0


def score_run(run: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]]) -> dict[str, float]:
    """Mean nDCG@10, recall@100 and MRR@10 over the judged queries (a query with no results scores 0)."""
    judged = [q for q in qrels if qrels[q]]
    if not judged:
        return {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0, "queries": 0}
    total = {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    for qid in judged:
        ranked = run.get(qid, [])
        total["ndcg@10"] += ndcg_at(ranked, qrels[qid])
        total["recall@100"] += recall_at(ranked, qrels[qid])
        total["mrr@10"] += mrr_at(ranked, qrels[qid])
    return {**{k: v / len(judged) for k, v in total.items()}, "queries": len(judged)}


def write_trec_run(path: Path, run: Mapping[str, Sequence[tuple[str, float]]], tag: str) -> None:
    """``qid Q0 docid rank score tag`` lines, ranks from 1, in the order given."""
    with path.open("w", encoding="utf-8") as out:
        for qid, ranked in run.items():
            for rank, (docid, score) in enumerate(ranked, 1):
                out.write(f"{qid} Q0 {docid} {rank} {score:.6f} {tag}\n")


def run_quality(
    directory: Path,
    split: str,
    modes: Sequence[str],
    embedding_model: str,
    cache_dir: str | None,
    run_out: Path | None = None,
    store_url: str | None = None,
) -> list[dict[str, Any]]:
    """Load a collection into a temporary store (normal ingest + index path) and score every mode."""
    from paperfeed.ingest.writer import ingest
    from paperfeed.search.engine import EVALUATION_MAX_QUERY, search
    from paperfeed.search.indexes import open_indexes
    from paperfeed.search.registry import SearchSettings
    from paperfeed.sources.files import read_file
    from paperfeed.store import open_store

    collection = load_collection(directory, split)
    with tempfile.TemporaryDirectory(prefix="paperfeed-quality-") as tmp:
        url = store_url or f"sqlite:///{Path(tmp) / 'quality.db'}"
        settings = SearchSettings(Path(tmp) / "index", embedding_model, cache_dir)
        with open_store(url, migrate=True) as store, open_indexes(store, settings) as indexes:
            report = ingest(store, read_file(collection.corpus, "beir"))
            empty = [r for r in report.rejections if r.reason.endswith(EMPTY_DOCUMENT)]
            if report.rejected > len(empty):  # anything but empty documents is a broken collection
                wrong = next((r for r in report.rejections if r not in empty), None)
                raise BadInput(
                    f"{report.rejected - len(empty)} corpus records rejected"
                    + (f", e.g. {wrong.where}: {wrong.reason}" if wrong else ""),
                    str(collection.corpus),
                )
            if empty:
                # Judgements stay as published: a system that cannot return an empty document scores as it would.
                log.warning(
                    "%s: skipped %d empty document%s (%s)",
                    collection.corpus,
                    len(empty),
                    "" if len(empty) == 1 else "s",
                    ", ".join(r.where for r in empty[:5]),
                )
            indexes.sync(embed=any(m != "keyword" for m in modes), summaries=False)
            rows = []
            for mode in modes:
                run: dict[str, list[tuple[str, float]]] = {}
                for qid, text in collection.queries.items():
                    results = search(store, text, RUN_DEPTH, mode=mode, highlight=False, max_query=EVALUATION_MAX_QUERY)  # type: ignore[arg-type]
                    run[qid] = [(h.paper.id.removeprefix(BEIR_ID_PREFIX), h.score) for h in results.hits]
                metrics = score_run({q: [d for d, _ in r] for q, r in run.items()}, collection.qrels)
                rows.append(
                    {"collection": collection.name, "split": split, "mode": mode, **metrics, "skipped": len(empty)}
                )
                if run_out is not None:
                    path = run_out if len(modes) == 1 else run_out.with_name(f"{run_out.stem}.{mode}{run_out.suffix}")
                    write_trec_run(path, run, f"paperfeed-{mode}")
    return rows
