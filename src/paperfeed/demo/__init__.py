"""The bundled demo corpus: the "Daily Papers" seed pages and a real slice of recent arXiv listing days.

``paperfeed demo`` loads it through the normal ingest path, so the demo exercises exactly what production does,
into the default store, so that every command a newcomer tries next (``paperfeed search …``) finds the demo's papers.
A store that already holds papers that did not come from the demo is refused rather than mixed with the corpus.
The listing slice is built by ``scripts/build_demo_corpus.py`` from the real arXiv listings.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt
import orjson

from paperfeed.errors import BadInput
from paperfeed.search.embed import EmbeddingCache, paper_text, text_hash
from paperfeed.sources import Batch
from paperfeed.store import Store, utcnow
from paperfeed.store.summaries import MachineSummary

# The job_state key that says "the demo corpus was loaded into this store".
DEMO_STATE = "demo"

# Vectors of the demo corpus per embedding model (scripts/build_demo_vectors.py), so the demo starts at once.
VECTORS_FILE = "vectors-{model}.npz"
# Their machine-made summaries, one JSON line per text hash (the same script; one model run makes both), so the
# demo's paper pages show them without the slow `paperfeed index --summaries`.
SUMMARIES_FILE = "summaries-{model}.jsonl.gz"


def demo_files() -> list[tuple[Path, str]]:
    """The corpus files with their formats, seeds first."""
    root = Path(str(resources.files("paperfeed.demo")))
    seeds = sorted((root / "seeds").glob("*.txt"))
    return [(path, "seeds") for path in seeds] + [(root / "listings.jsonl.gz", "listings")]


def mark_demo_store(store: Store) -> None:
    """Mark ``store`` as the demo's, refusing a store that already holds papers of its own."""
    if store.get_state(DEMO_STATE) is None:
        held = store.count_papers()
        if held:
            raise BadInput(
                f"the store at {store.db.safe_url} already holds {held:,} papers that are not the demo's: "
                "run the demo in a store of its own, e.g. `paperfeed --data-dir ~/paperfeed-demo demo`",
                where="demo",
            )
        store.set_state(DEMO_STATE, {"corpus": "bundled"})


def load_demo(batch_size: int = 2000) -> Iterator[Batch]:
    from paperfeed.sources.files import read_file

    for path, fmt in demo_files():
        yield from read_file(path, fmt, batch_size=batch_size)


def quantise(vectors: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float32]]:
    """Per-vector int8: each row scaled by its own largest component (cosine stays within ~0.001)."""
    scale = np.maximum(np.abs(vectors).max(axis=1), 1e-12).astype(np.float32) / 127.0
    return np.round(vectors / scale[:, None]).astype(np.int8), scale


def demo_vectors(model: str) -> tuple[list[str], npt.NDArray[np.float32]] | None:
    """The shipped (text hash, vector) pairs for ``model``, or None when the demo ships none for it."""
    path = Path(str(resources.files("paperfeed.demo"))) / VECTORS_FILE.format(model=model)
    if not path.is_file():
        return None
    with np.load(path) as data:
        vectors = data["vectors"].astype(np.float32) * data["scale"][:, None]
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return [str(h) for h in data["hashes"]], vectors


def prime_cache(cache: EmbeddingCache, model: str) -> int:
    """Put the shipped vectors into the embedding cache, so indexing the demo embeds nothing. Returns how many."""
    shipped = demo_vectors(model)
    if shipped is None:
        return 0
    hashes, vectors = shipped
    missing = set(hashes) - set(cache.get(model, hashes))
    if missing:
        keep = [i for i, h in enumerate(hashes) if h in missing]
        cache.put(model, [hashes[i] for i in keep], vectors[keep])
    return len(missing)


def demo_summaries(model: str) -> dict[str, MachineSummary | None]:
    """The shipped summaries for ``model`` by text hash (None: the text has none worth making), empty if none."""
    path = Path(str(resources.files("paperfeed.demo"))) / SUMMARIES_FILE.format(model=model)
    if not path.is_file():
        return {}
    found: dict[str, MachineSummary | None] = {}
    with gzip.open(path, "rb") as lines:
        for line in lines:
            row = orjson.loads(line)
            made = row["sentence"] is not None or row["keyphrases"]
            found[row["hash"]] = MachineSummary(row["sentence"], row["keyphrases"]) if made else None
    return found


def prime_summaries(store: Store, model: str) -> int:
    """Store the shipped summaries of the papers whose text they were made from, as the index job would have;
    papers already summarised, or whose text differs from the corpus's, are left to the index job. Returns how
    many were stored."""
    shipped = demo_summaries(model)
    stored = after = 0
    while shipped and (candidates := store.summary_candidates(after, 1000)):
        after = candidates[-1].pk
        rows = []
        for c in candidates:
            digest = text_hash(paper_text(c.title, c.abstract))
            if digest in shipped and c.made_hash != digest:
                rows.append((c.pk, digest, shipped[digest]))
        if rows:
            store.put_summaries(model, utcnow(), rows)
            stored += len(rows)
    return stored
