"""The dense (vector) index of one store and embedding model: one protocol, two implementations.

``DenseIndex`` is everything the rest of search asks of a vector index: how far it has followed the store's change
sequence, writing a batch of vectors together with that progress, nearest papers under the query filters, and a
paper's stored vector. ``open_dense_index`` makes the one choice between the implementations, when a store's
indexes are built:

* ``FileDenseIndex`` (SQLite deployments): the faiss / exact index of ``vectors.py`` in the store's index
  directory, one per model, followed by every process that reads it and written by one process at a time; filters
  become an allowed key set (``filters.py``: a copy in memory that follows the store, so a filter costs
  milliseconds); progress is saved in its own meta, in the same commit as the vectors.
* ``PgvectorDenseIndex`` (PostgreSQL): the ``paper_vectors`` table through the store (HNSW, filters in SQL);
  progress is a store state row per model, and vectors whose text hash did not change are not re-embedded.

Keys are paper row ids (``pk``); scores are cosines, best first.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from paperfeed.errors import StoreError
from paperfeed.search.catch_up import CatchUp
from paperfeed.search.filters import PaperFilters
from paperfeed.search.keyword import IndexBusy
from paperfeed.search.vectors import VectorIndex
from paperfeed.store import Store

Vector = npt.NDArray[np.float32]
RELOAD_SECONDS = 5.0  # a reader loads another process's commits at most this often (it answers meanwhile)
RELOAD_ATTEMPTS = 3  # loads of another process's commit tried in a row (a writer may remove the files being read)
WRITE_LOCK_SECONDS = 60.0  # how long a writer waits for another process's batch before giving up (IndexBusy)


class DenseIndex(Protocol):
    model: str
    dim: int

    def applied_seq(self) -> int:
        """The last store change this index has applied (0: none)."""
        ...

    def to_embed(self, pks: Sequence[int], hashes: Sequence[str]) -> list[int]:
        """Which positions of a batch need a (new) vector: those whose text hash the index does not hold."""
        ...

    def apply(self, pks: Sequence[int], hashes: Sequence[str], vectors: Vector, gone: Sequence[int], seq: int) -> None:
        """Write a batch (vectors of ``pks``, removal of ``gone``) and record ``seq`` as applied."""
        ...

    def nearest(
        self,
        vector: Vector,
        k: int,
        *,
        categories: Sequence[str] = (),
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> list[tuple[int, float]]:
        """The ``k`` most similar live papers (pk, cosine) among those passing the filters."""
        ...

    def vector_of(self, pk: int) -> Vector | None:
        """The stored vector of a paper, or None when it has none yet."""
        ...

    def vectors_of(self, pks: Sequence[int]) -> tuple[Vector, npt.NDArray[np.bool_]]:
        """The stored vectors of many papers as one (len(pks), dim) matrix, and which rows were found (the others
        are zero): what a ranking of a period's papers reads, in one call instead of one per paper."""
        ...

    def info(self) -> dict[str, Any]:
        """What kind of index it is (``mode``) and how many vectors it holds (``count``), for status and benchmarks."""
        ...


def open_dense_index(store: Store, index_dir: Path, model: str, dim: int) -> DenseIndex:
    """The dense index of ``store`` for ``model``: pgvector on PostgreSQL, a file index beside a SQLite store."""
    if store.dialect == "postgres":
        return PgvectorDenseIndex(store, model, dim)
    return FileDenseIndex(store, index_dir / f"vectors-{_slug(model)}", model, dim)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


class FileDenseIndex:
    """``vectors.VectorIndex`` in a file, made safe for concurrent searches and one writer (it is not thread-safe),
    in this process and across processes sharing the files.

    Readers follow other processes' commits (``paperfeed index`` or the worker embedding for a web node): a read
    that finds the files newer than its copy asks a background thread to load them (at most every
    ``RELOAD_SECONDS``) and swap them in, and answers from the copy it has meanwhile. Writers take a file lock
    beside the index, load another process's newer commit first and add to it, so that two writers never drop each
    other's vectors."""

    def __init__(self, store: Store, path: Path, model: str, dim: int) -> None:
        self.store = store
        self.model = model
        self.dim = dim
        self._path = path
        self._index = VectorIndex.open(path, dim)
        self._lock = threading.Lock()
        self._filters = PaperFilters(store)  # its own lock: a writer's long apply must not hold up a filter lookup
        self._reloader = CatchUp(self._reload_step, f"vector index reload {path}")
        self._loaded_at = -RELOAD_SECONDS
        self._swaps = 0  # changes of the copy in memory (loads and writes), so a slow load never replaces a newer one

    def _follow(self) -> None:
        if self._index.stale():
            self._reloader.request()

    def _reload_step(self) -> int:
        # At most one load every RELOAD_SECONDS: a bulk run of `paperfeed index` commits every few hundred papers
        # (and a load of a 1M-vector index takes ~0.4 s), so loading each commit would keep a core busy.
        time.sleep(max(0.0, self._loaded_at + RELOAD_SECONDS - time.monotonic()))
        self._loaded_at = time.monotonic()
        for attempt in range(RELOAD_ATTEMPTS):
            if not self._index.stale():
                return 0
            swaps = self._swaps
            try:
                fresh = VectorIndex.open(self._path, self.dim)  # outside the lock: searches go on meanwhile
            except StoreError:  # a writer removed that generation's files while we read them: read the next
                if attempt == RELOAD_ATTEMPTS - 1:
                    raise
                time.sleep(0.2)
                continue
            with self._lock:
                if self._swaps == swaps:  # else this process wrote meanwhile: its copy is the newer one
                    self._index, self._swaps = fresh, swaps + 1
            return 0
        return 0

    def wait_for_reload(self, timeout: float | None = None) -> bool:
        """Load another process's newer commit now, or wait for the load under way (for tests); False on timeout."""
        self._follow()
        return self._reloader.wait(timeout)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """The index's file lock (one writer across processes), then this process's copy brought up to date."""
        lock_path = self._path.with_name(f"{self._path.name}.lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_path.open("a") as handle:
            deadline = time.monotonic() + WRITE_LOCK_SECONDS
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise IndexBusy(f"vector index {self._path} is being written by another process") from None
                    time.sleep(0.1)
            try:
                if self._index.stale():
                    fresh = VectorIndex.open(self._path, self.dim)
                    with self._lock:
                        self._index, self._swaps = fresh, self._swaps + 1
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def applied_seq(self) -> int:
        self._follow()
        with self._lock:
            return int(self._index.get_meta("seq") or 0)

    def to_embed(self, pks: Sequence[int], hashes: Sequence[str]) -> list[int]:
        # The file index keeps no text hashes: every changed paper gets its vector again (the embedding cache makes
        # an unchanged text cost a lookup, not a model run).
        return list(range(len(pks)))

    def apply(self, pks: Sequence[int], hashes: Sequence[str], vectors: Vector, gone: Sequence[int], seq: int) -> None:
        with self._writing(), self._lock:
            if len(pks):
                self._index.add(np.array(pks, dtype=np.int64), vectors)
            if gone:
                self._index.remove(np.array(gone, dtype=np.int64))
            # Another writer may have gone further meanwhile: a batch applied again is harmless (its rows are the
            # papers' current state), a progress mark moved back would redo work.
            self._index.set_meta("seq", max(seq, int(self._index.get_meta("seq") or 0)))
            self._index.set_meta("model", self.model)
            self._index.save()
            self._swaps += 1

    def nearest(
        self,
        vector: Vector,
        k: int,
        *,
        categories: Sequence[str] = (),
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> list[tuple[int, float]]:
        self._follow()
        allowed = None
        if categories or date_from or date_to:
            allowed = self._filters.keys(categories, date_from, date_to)
            if not len(allowed):
                return []
        with self._lock:
            keys, scores = self._index.search(vector, k, allowed=allowed)
        return [(int(key), float(s)) for key, s in zip(keys, scores, strict=True) if key >= 0]

    def vector_of(self, pk: int) -> Vector | None:
        self._follow()
        with self._lock:
            if pk not in self._index:
                return None
            found: Vector = self._index.get([pk])[0]
            return found

    def vectors_of(self, pks: Sequence[int]) -> tuple[Vector, npt.NDArray[np.bool_]]:
        self._follow()
        out = np.zeros((len(pks), self.dim), dtype=np.float32)
        with self._lock:
            found = np.fromiter((int(pk) in self._index for pk in pks), dtype=bool, count=len(pks))
            if found.any():
                out[found] = self._index.get(np.asarray(pks, dtype=np.int64)[found])
        return out, found

    def info(self) -> dict[str, Any]:
        self._follow()
        with self._lock:
            return self._index.info()


class PgvectorDenseIndex:
    """Vectors in PostgreSQL (pgvector), through the store."""

    def __init__(self, store: Store, model: str, dim: int) -> None:
        self.store = store
        self.model = model
        self.dim = dim
        self._prepared = False

    def _state_key(self) -> str:
        return f"vectors:{self.model}"

    def applied_seq(self) -> int:
        state = self.store.get_state(self._state_key())
        return int(state["seq"]) if state else 0

    def to_embed(self, pks: Sequence[int], hashes: Sequence[str]) -> list[int]:
        stored = self.store.vector_hashes(self.model, pks)
        return [i for i, pk in enumerate(pks) if stored.get(pk) != hashes[i]]

    def apply(self, pks: Sequence[int], hashes: Sequence[str], vectors: Vector, gone: Sequence[int], seq: int) -> None:
        if not self._prepared:
            self.store.ensure_vector_index(self.model, self.dim)
            self._prepared = True
        self.store.put_vectors(
            self.model, [(int(pk), h, v.tolist()) for pk, h, v in zip(pks, hashes, vectors, strict=True)]
        )
        if gone:
            self.store.delete_vectors(self.model, gone)
        self.store.set_state(self._state_key(), {"seq": seq, "dim": self.dim})

    def nearest(
        self,
        vector: Vector,
        k: int,
        *,
        categories: Sequence[str] = (),
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> list[tuple[int, float]]:
        return self.store.vector_search(
            self.model, self.dim, vector.tolist(), k, categories=categories, date_from=date_from, date_to=date_to
        )

    def vector_of(self, pk: int) -> Vector | None:
        found = self.store.vector_of(self.model, pk)
        return None if found is None else np.asarray(found, dtype=np.float32)

    def vectors_of(self, pks: Sequence[int]) -> tuple[Vector, npt.NDArray[np.bool_]]:
        out = np.zeros((len(pks), self.dim), dtype=np.float32)
        found = np.zeros(len(pks), dtype=bool)
        row = {int(pk): i for i, pk in enumerate(pks)}
        for pk, vector in self.store.vectors_of_many(self.model, list(row)).items():
            out[row[pk]] = vector
            found[row[pk]] = True
        return out, found

    def info(self) -> dict[str, Any]:
        return {"mode": "pgvector-hnsw", "count": self.store.count_vectors(self.model)}
