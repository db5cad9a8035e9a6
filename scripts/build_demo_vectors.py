"""Embed the bundled demo corpus and write its vectors, so `paperfeed demo` starts without embedding anything.

Usage: python scripts/build_demo_vectors.py [--model minilm-l6-int8]
Loads the demo corpus into a temporary store through the normal ingest path, embeds each paper's text (through the
embedding cache, so a re-run costs nothing), and writes src/paperfeed/demo/vectors-<model>.npz: the text hashes and
the vectors, int8-quantised per vector (cosine within ~0.001 of the float vectors), which `paperfeed demo` loads into
the embedding cache.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import platformdirs

from paperfeed.demo import VECTORS_FILE, load_demo, quantise
from paperfeed.ingest.writer import ingest
from paperfeed.search.embed import EmbeddingCache, embed_cached, paper_text, text_hash
from paperfeed.search.models import get_embedder
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
        texts = [paper_text(r.title, r.abstract) for r in store.changes_since(0, 10**9) if not r.deleted]
    started = time.perf_counter()
    vectors = np.zeros((0, embedder.dim), dtype=np.float32)
    for i in range(0, len(texts), 256):
        vectors = np.vstack([vectors, embed_cached(embedder, cache, texts[i : i + 256])])
        print(f"{min(i + 256, len(texts))}/{len(texts)} in {time.perf_counter() - started:.0f} s", flush=True)
    hashes = np.array([text_hash(t) for t in texts])
    out = ROOT / "src/paperfeed/demo" / VECTORS_FILE.format(model=args.model)
    q, scale = quantise(vectors)
    np.savez_compressed(out, hashes=hashes, vectors=q, scale=scale)
    print(f"{len(texts)} vectors -> {out} ({out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
