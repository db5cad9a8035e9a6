"""Embed and summarise the bundled demo corpus, so `paperfeed demo` starts without running the model at all.

Usage: python scripts/build_demo_vectors.py [--model minilm-l6-int8]
Loads the demo corpus into a temporary store through the normal ingest path, runs the model once per paper text
(as the index job does: the paper vector and the machine-made summary come from the same run), and writes
src/paperfeed/demo/vectors-<model>.npz, the text hashes and the vectors, int8-quantised per vector (cosine within
~0.001 of the float vectors), which `paperfeed demo` loads into the embedding cache; and summaries-<model>.jsonl.gz,
one {hash, sentence, keyphrases} line per text, which it stores as the index job would.
"""

from __future__ import annotations

import argparse
import gzip
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson
import platformdirs

from paperfeed.demo import SUMMARIES_FILE, VECTORS_FILE, load_demo, quantise
from paperfeed.ingest.writer import ingest
from paperfeed.search.embed import EmbeddingCache, embed_cached, paper_text, text_hash
from paperfeed.search.models import get_embedder
from paperfeed.search.summaries import summarise_texts
from paperfeed.store import open_store

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm-l6-int8")
    args = parser.parse_args()
    embedder = get_embedder(args.model)
    cache = EmbeddingCache(Path(platformdirs.user_cache_dir("paperfeed", appauthor=False)) / "embeddings.sqlite")
    with tempfile.TemporaryDirectory() as tmp, open_store(f"sqlite:///{tmp}/demo.db", migrate=True) as store:
        ingest(store, load_demo())
        pairs = [(r.title, r.abstract or "") for r in store.changes_since(0, 10**9) if not r.deleted]
    texts = [paper_text(title, abstract) for title, abstract in pairs]
    started = time.perf_counter()
    vectors = np.zeros((0, embedder.dim), dtype=np.float32)
    summaries = []
    for i in range(0, len(texts), 64):
        made = summarise_texts(embedder, cache, pairs[i : i + 64])
        if made is None:
            raise SystemExit(f"{args.model} gives no token vectors: it cannot make summaries")
        summaries.extend(made)
        vectors = np.vstack([vectors, embed_cached(embedder, cache, texts[i : i + 64])])
        print(f"{min(i + 64, len(texts))}/{len(texts)} in {time.perf_counter() - started:.0f} s", flush=True)
    hashes = [text_hash(t) for t in texts]
    demo_dir = ROOT / "src/paperfeed/demo"
    out = demo_dir / VECTORS_FILE.format(model=args.model)
    q, scale = quantise(vectors)
    np.savez_compressed(out, hashes=np.array(hashes), vectors=q, scale=scale)
    print(f"{len(texts)} vectors -> {out} ({out.stat().st_size / 1e6:.1f} MB)")
    lines = b"".join(
        orjson.dumps({"hash": h, "sentence": s.sentence if s else None, "keyphrases": s.keyphrases if s else []})
        + b"\n"
        for h, s in sorted(zip(hashes, summaries, strict=True))
    )
    out = demo_dir / SUMMARIES_FILE.format(model=args.model)
    out.write_bytes(gzip.compress(lines, mtime=0))
    print(f"{len(summaries)} summaries -> {out} ({out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
