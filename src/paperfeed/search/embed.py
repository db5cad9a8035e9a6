"""Text embeddings: what semantic search embeds, and the cache that never embeds a text twice.

The models themselves are in ``models.py`` (which builds on this module, never the reverse). ``EmbeddingCache`` is
a small SQLite file keyed by (model, text hash), shared by every store on the machine: re-ingesting unchanged text,
rebuilding an index or re-running a benchmark reuses the vectors it has. Vectors are float32 and L2-normalised, so
a dot product is the cosine similarity.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One L2-normalised float32 row per text."""
        ...


class TokenStates(NamedTuple):
    """One text's embedding with the token vectors it was pooled from and each token's (start, end) characters in
    the text (special tokens have (0, 0)); from models that can give them (``OnnxMiniLM.embed_tokens``)."""

    pooled: npt.NDArray[np.float32]
    tokens: npt.NDArray[np.float32]
    offsets: list[tuple[int, int]]


def paper_text(title: str, abstract: str) -> str:
    """What gets embedded for a paper."""
    return f"{title}. {abstract}" if abstract else title


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def normalise(vectors: npt.NDArray[np.floating]) -> Vectors:
    v = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: Vectors = (v / norms).astype(np.float32, copy=False)
    return out


class EmbeddingCache:
    """Vectors by (model, text hash) in a SQLite file; safe to share between processes."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False, timeout=60)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, text_hash TEXT NOT NULL, vector BLOB NOT NULL, "
            "PRIMARY KEY (model, text_hash))"
        )
        self._lock = threading.Lock()

    def get(self, model: str, hashes: Sequence[str]) -> dict[str, Vectors]:
        found: dict[str, Vectors] = {}
        with self._lock:
            for i in range(0, len(hashes), 900):
                chunk = list(hashes[i : i + 900])
                rows = self._conn.execute(
                    "SELECT text_hash, vector FROM vectors WHERE model = ? "
                    f"AND text_hash IN ({','.join('?' * len(chunk))})",
                    [model, *chunk],
                ).fetchall()
                found.update((h, np.frombuffer(blob, dtype=np.float32)) for h, blob in rows)
        return found

    def put(self, model: str, hashes: Sequence[str], vectors: Vectors) -> None:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany(
                "INSERT OR REPLACE INTO vectors (model, text_hash, vector) VALUES (?, ?, ?)",
                [(model, h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in zip(hashes, vectors, strict=True)],
            )
            self._conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()


def embed_cached(embedder: Embedder, cache: EmbeddingCache, texts: Sequence[str], batch_size: int = 64) -> Vectors:
    """Embed ``texts``, taking what the cache has and adding what it lacks (in batches, cached as they finish)."""
    hashes = [text_hash(t) for t in texts]
    have = cache.get(embedder.name, list(dict.fromkeys(hashes)))
    missing = list(dict.fromkeys(h for h in hashes if h not in have))
    by_hash = {h: t for h, t in zip(hashes, texts, strict=True)}
    for i in range(0, len(missing), batch_size):
        chunk = missing[i : i + batch_size]
        vectors = embedder.embed([by_hash[h] for h in chunk])
        cache.put(embedder.name, chunk, vectors)
        have.update(zip(chunk, vectors, strict=True))
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return np.vstack([have[h] for h in hashes]).astype(np.float32, copy=False)
