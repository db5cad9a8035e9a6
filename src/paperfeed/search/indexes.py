"""The search indexes of one store, and keeping them in step with it.

A store's keyword index (tantivy) and, on SQLite, its vector index are files in the store's index directory; on
PostgreSQL the vectors live in the database (pgvector). Both follow the store through its change sequence:
``sync`` reads ``store.changes_since(seq)`` in batches, updates the index and records the last ``seq`` it applied,
after every batch. A sync killed at any moment resumes from its last batch; applying a batch twice is harmless.

The vector index is per embedding model: when the configured model changes, a new index fills from the start (the
embedding cache keeps every vector ever computed, so switching back costs nothing).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from paperfeed.config import default_setting
from paperfeed.errors import PaperfeedError
from paperfeed.search.embed import Embedder, EmbeddingCache, embed_cached, get_embedder, paper_text, text_hash
from paperfeed.search.keyword import IndexBusy, KeywordDoc, KeywordIndex
from paperfeed.search.vectors import VectorIndex
from paperfeed.store import Store

SYNC_BATCH = 2000
EMBED_BATCH = 64


@dataclass
class SyncReport:
    keyword_updated: int = 0
    keyword_deleted: int = 0
    vectors_updated: int = 0
    vectors_deleted: int = 0
    embedded: int = 0  # texts the model had to embed (the rest came from the cache)

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


class SearchIndexes:
    """The indexes of one store; build with ``indexes_for(store)``."""

    def __init__(self, store: Store, index_dir: Path, model: str, cache: EmbeddingCache) -> None:
        self.store = store
        self.index_dir = index_dir
        self.model = model
        self.cache = cache
        self._keyword: KeywordIndex | None = None
        self._vectors: VectorIndex | None = None
        self._embedder: Embedder | None = None
        self._lock = threading.RLock()  # opening indexes, and one sync at a time
        self._vector_lock = threading.Lock()  # the file vector index is not thread-safe: searches vs. writes

    @property
    def keyword(self) -> KeywordIndex:
        with self._lock:
            if self._keyword is None:
                self._keyword = KeywordIndex.open(self.index_dir / "keyword")
            return self._keyword

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = get_embedder(self.model)
            return self._embedder

    @property
    def uses_pgvector(self) -> bool:
        return self.store.dialect == "postgres"

    @property
    def vectors(self) -> VectorIndex:
        """The file-based vector index (SQLite deployments)."""
        with self._lock:
            if self._vectors is None:
                path = self.index_dir / f"vectors-{_slug(self.model)}"
                self._vectors = VectorIndex.open(path, self.embedder.dim)
            return self._vectors

    def close(self) -> None:
        with self._lock:
            if self._keyword is not None:
                self._keyword.close()
            self._keyword = None
            self._vectors = None
            self.cache.close()

    # -- progress ----------------------------------------------------------------------------------------------
    def _vector_seq(self) -> int:
        if self.uses_pgvector:
            state = self.store.get_state(f"vectors:{self.model}")
            return int(state["seq"]) if state else 0
        return int(self.vectors.get_meta("seq") or 0)

    def _set_vector_seq(self, seq: int) -> None:
        if self.uses_pgvector:
            self.store.set_state(f"vectors:{self.model}", {"seq": seq, "dim": self.embedder.dim})
        else:
            with self._vector_lock:
                self.vectors.set_meta("seq", seq)
                self.vectors.set_meta("model", self.model)
                self.vectors.save()

    def search_vectors(
        self, query: npt.NDArray[np.float32], k: int, allowed: npt.NDArray[np.int64] | None = None
    ) -> list[tuple[int, float]]:
        """Nearest (key, cosine) pairs from the file vector index, safe against a concurrent sync."""
        with self._vector_lock:
            keys, scores = self.vectors.search(query, k, allowed=allowed)
        return [(int(key), float(s)) for key, s in zip(keys, scores, strict=True) if key >= 0]

    def pending(self) -> dict[str, int]:
        """How many changes each index has not applied yet."""
        head = self.store.max_seq()
        kw = int(self.keyword.get_meta("seq") or 0)
        return {
            "keyword": self.store.count_changes_since(kw) if kw < head else 0,
            "vectors": self.store.count_changes_since(self._vector_seq()),
        }

    # -- sync --------------------------------------------------------------------------------------------------
    def sync_keyword(self, progress: Callable[[int], None] | None = None, *, lock_timeout: float = 30.0) -> SyncReport:
        report = SyncReport()
        seq = int(self.keyword.get_meta("seq") or 0)
        while rows := self.store.changes_since(seq, SYNC_BATCH):
            live = [r for r in rows if not r.deleted]
            gone = [r.id for r in rows if r.deleted]
            docs = [KeywordDoc(r.id, r.title, r.abstract, r.authors, r.categories, r.day) for r in live]
            self.keyword.upsert(docs, lock_timeout=lock_timeout)
            if gone:
                self.keyword.delete(gone, lock_timeout=lock_timeout)
            seq = rows[-1].seq
            self.keyword.set_meta("seq", seq)
            report.keyword_updated += len(live)
            report.keyword_deleted += len(gone)
            if progress:
                progress(len(rows))
        return report

    def sync_vectors(self, progress: Callable[[int], None] | None = None, batch: int = 512) -> SyncReport:
        report = SyncReport()
        seq = self._vector_seq()
        if self.uses_pgvector:
            self.store.ensure_vector_index(self.model, self.embedder.dim)
        while rows := self.store.changes_since(seq, batch):
            live = [r for r in rows if not r.deleted]
            gone = [r.pk for r in rows if r.deleted]
            texts = [paper_text(r.title, r.abstract) for r in live]
            hashes = [text_hash(t) for t in texts]
            if self.uses_pgvector:
                stored = self.store.vector_hashes(self.model, [r.pk for r in live])
                todo = [i for i, r in enumerate(live) if stored.get(r.pk) != hashes[i]]
            else:
                todo = list(range(len(live)))
            before = len(self.cache.get(self.embedder.name, [hashes[i] for i in todo]))
            vectors = embed_cached(self.embedder, self.cache, [texts[i] for i in todo], EMBED_BATCH)
            report.embedded += len({hashes[i] for i in todo}) - before
            keys = np.array([live[i].pk for i in todo], dtype=np.int64)
            if self.uses_pgvector:
                self.store.put_vectors(
                    self.model, [(int(k), hashes[i], v.tolist()) for k, i, v in zip(keys, todo, vectors, strict=True)]
                )
                if gone:
                    self.store.delete_vectors(self.model, gone)
            else:
                with self._vector_lock:
                    if len(keys):
                        self.vectors.add(keys, vectors)
                    if gone:
                        self.vectors.remove(np.array(gone, dtype=np.int64))
            seq = rows[-1].seq
            self._set_vector_seq(seq)
            report.vectors_updated += len(todo)
            report.vectors_deleted += len(gone)
            if progress:
                progress(len(rows))
        return report

    def catch_up_keyword(self) -> None:
        """Apply pending store changes to the keyword index before a query, unless another process is doing it."""
        if int(self.keyword.get_meta("seq") or 0) >= self.store.max_seq():
            return
        with contextlib.suppress(IndexBusy):
            self.sync_keyword(lock_timeout=0.5)

    def sync(self, *, embed: bool = True, progress: Callable[[str, int], None] | None = None) -> SyncReport:
        """Bring the keyword index (and, with ``embed``, the vectors) up to the store's latest change."""
        with self._lock:
            report = self.sync_keyword((lambda n: progress("keyword", n)) if progress else None)
            if embed:
                vec = self.sync_vectors((lambda n: progress("vectors", n)) if progress else None)
                for name in ("vectors_updated", "vectors_deleted", "embedded"):
                    setattr(report, name, getattr(vec, name))
            return report

    def rebuild_keyword(self) -> SyncReport:
        """Empty the keyword index and refill it from the store."""
        with self._lock:
            self.keyword.clear()
            self.keyword.set_meta("seq", 0)
            return self.sync_keyword()


_OPEN_LOCK = threading.Lock()


def indexes_for(store: Store) -> SearchIndexes:
    """The search indexes of ``store``, opened once per store object and closed with it."""
    with _OPEN_LOCK:
        found = store.extensions.get("search")
        if found is None:
            options: dict[str, Any] = store.options
            cache_dir = options.get("cache_dir")
            cache = EmbeddingCache(Path(cache_dir) / "embeddings.sqlite" if cache_dir else None)
            model = options.get("embedding_model") or default_setting("embedding_model")
            found = store.extensions["search"] = SearchIndexes(store, Path(options["index_dir"]), model, cache)
        assert isinstance(found, SearchIndexes)
        return found


def index_a_few(store: Store, limit: int = 20) -> None:
    """Make a paper that was just added (a member's submission) searchable at once: the keyword index always, the
    vectors when at most ``limit`` changes wait (about a second of embedding). A larger backlog — a bulk ingest
    without ``--index`` — is left to ``paperfeed index`` or the worker rather than to a web request."""
    with contextlib.suppress(PaperfeedError):  # the next index run catches up
        indexes = indexes_for(store)
        indexes.catch_up_keyword()
        if indexes.pending()["vectors"] <= limit:
            indexes.sync()
