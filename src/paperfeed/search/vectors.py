"""Vector index of the embedded (SQLite) deployment: paper key -> unit vector, cosine top-k, filters, a file.

It owns the dense half of search when paperfeed runs as one process over SQLite: the caller (the search service)
embeds texts, passes int64 keys (paper row ids) with L2-normalised float32 vectors, and asks for the k most similar
keys, optionally only among an ``allowed`` key set (a category, a date range). New papers arrive daily and a
paper's vector changes with its text, so adds, replacements and removals are incremental; ``save()`` persists to
files beside ``path`` and ``open()`` reloads them.

Two regimes, chosen by size, because an exact scan is both exact and cheapest while the index is small:

* exact, below ``exact_below`` vectors: a contiguous float32 matrix and one BLAS matrix-vector product.
* ANN, from ``exact_below`` on: a usearch HNSW graph (M=16, ef_add=64, ef_search=128 by default) over int8
  vectors that this module quantises itself (each vector scaled by its own max |component| to +-127). usearch's
  own float->int8 cast uses a fixed scale, which leaves a 384-d unit vector +-6 levels and caps recall@10 at 0.915
  on our synthetic set; the per-vector scale gives 0.99 for an exact scan over the int8 vectors. A numpy copy of
  the int8 rows is kept beside the graph so that filtered searches can scan an allowed subset exactly (usearch's
  Python ``get`` costs ~2 us a key) and so that ``get`` is cheap.

Filtered search (``allowed``): when at most ``exact_below`` indexed keys are allowed (or the index is exact), the
allowed rows are scanned exactly; otherwise the graph is asked for ~2k/selectivity candidates, which are
filtered, and asked again with 4x more when fewer than k survive.

Measured by bench/vectors.py on the shared 2-core machine (load average 4-6 from other jobs, so latencies are
pessimistic), 384-d vectors in 2,000 gaussian clusters, k=10, 300-500 queries, see bench/results/vectors.md:

    THRESHOLD_TABLE

Memory in ANN mode is ~2 x n x dim bytes (graph copy + numpy copy of the int8 vectors) + ~130 B/vector of graph
links + a Python dict key->row (~100 B/key): ~1.1 GB at 1M x 384-d. Scores in ANN mode are cosines of the int8
vectors (within ~0.005 of the float ones).

Not thread-safe: the caller serialises writes, and searches against writes.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from usearch.index import BatchMatches, Index
from usearch.index import search as brute_force

from paperfeed.errors import StoreError

EXACT_BELOW = 20_000
CONNECTIVITY = 16
EXPANSION_ADD = 64
EXPANSION_SEARCH = 128
SCAN_PER_SQRT_N = 15
_FORMAT = 1

Keys = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float32]


class VectorIndex:
    """Keys -> unit vectors with cosine top-k search; see the module docstring for the two regimes."""

    def __init__(self, path: Path | None, dim: int, exact_below: int) -> None:
        if dim <= 0:
            raise ValueError(f"dim must be positive, got {dim}")
        self._path = path
        self._dim = dim
        self._exact_below = max(1, exact_below)
        self._meta: dict[str, Any] = {}
        self._generation = 0
        self._data_dirty = False
        self._meta_dirty = False
        self._ann: Index | None = None
        self._n = 0
        self._keys: Keys = np.empty(0, np.int64)
        # float32 unit rows in exact mode, int8 quantised rows in ANN mode
        self._vecs: npt.NDArray[Any] = np.empty((0, dim), np.float32)
        self._inv_norm: Floats = np.empty(0, np.float32)  # 1/|row| of the int8 rows (unused in exact mode)
        self._row: dict[int, int] = {}
        self._expansion_search = EXPANSION_SEARCH

    # -- opening and saving -------------------------------------------------------------------------------------

    @classmethod
    def open(
        cls, path: Path | None, dim: int, *, exact_below: int = EXACT_BELOW, expansion_search: int = EXPANSION_SEARCH
    ) -> VectorIndex:
        """Open the index saved at ``path`` (``path.meta.json`` and its data files), or a new empty one.

        ``path=None`` gives an in-memory index (``save()`` then does nothing). A saved index of another ``dim``
        raises StoreError: vectors of another model need a new index.
        """
        index = cls(path, dim, exact_below)
        index._expansion_search = expansion_search
        if path is not None and _meta_path(path).exists():
            index._load(path)
        index._rebalance()
        return index

    def _load(self, path: Path) -> None:
        meta_path = _meta_path(path)
        try:
            manifest = json.loads(meta_path.read_text())
            if manifest.get("format") != _FORMAT:
                raise StoreError(f"{meta_path}: vector index format {manifest.get('format')}, expected {_FORMAT}")
            if manifest["dim"] != self._dim:
                raise StoreError(f"{meta_path}: index holds {manifest['dim']}-d vectors, asked for {self._dim}-d")
            gen = int(manifest["generation"])
            keys = np.load(_data_path(path, gen, ".keys.npy"))
            inv_norm = np.load(_data_path(path, gen, ".norms.npy"))
            # copy-on-write map: opening costs nothing, rows are read when a filtered scan or get() needs them
            vecs = np.load(_data_path(path, gen, ".vectors.npy"), mmap_mode="c")
            ann = None
            if manifest["mode"] == "ann":
                ann = Index.restore(
                    str(_data_path(path, gen, ".usearch")),
                    connectivity=CONNECTIVITY,
                    expansion_add=EXPANSION_ADD,
                    expansion_search=self._expansion_search,
                )
                if ann is None or len(ann) != len(keys):
                    raise StoreError(f"{path}: graph and vectors of generation {gen} disagree")
            if vecs.shape != (len(keys), self._dim) or vecs.dtype != (np.float32 if ann is None else np.int8):
                raise StoreError(f"{path}: vectors of generation {gen} have shape {vecs.shape} and type {vecs.dtype}")
        except (OSError, KeyError, ValueError, RuntimeError, EOFError) as e:
            raise StoreError(f"{path}: cannot read the vector index ({e})") from e
        self._meta = dict(manifest.get("user", {}))
        self._generation = gen
        self._ann = ann
        self._n = len(keys)
        self._keys, self._vecs, self._inv_norm = keys.astype(np.int64), vecs, inv_norm.astype(np.float32)
        self._row = dict(zip(keys.tolist(), range(self._n), strict=True))

    def save(self) -> None:
        """Write the index and its meta atomically (data files of a new generation, then the manifest by rename).

        The manifest ``path.meta.json`` is the commit point: a crash leaves the previous generation in force.
        """
        if self._path is None or not (self._data_dirty or self._meta_dirty or self._generation == 0):
            return
        path = self._path
        path.parent.mkdir(parents=True, exist_ok=True)
        gen = self._generation
        if self._data_dirty or gen == 0:
            gen += 1
            n = self._n
            for suffix, array in ((".keys", self._keys), (".norms", self._inv_norm), (".vectors", self._vecs)):
                with _atomic(_data_path(path, gen, suffix + ".npy")) as tmp, open(tmp, "wb") as f:
                    np.save(f, array[:n])
            if self._ann is not None:
                with _atomic(_data_path(path, gen, ".usearch")) as tmp:
                    self._ann.save(str(tmp))
        manifest = {
            "format": _FORMAT,
            "dim": self._dim,
            "mode": self.mode,
            "generation": gen,
            "count": self._n,
            "ann": {"library": "usearch", "dtype": "i8", "connectivity": CONNECTIVITY, "expansion_add": EXPANSION_ADD},
            "user": self._meta,
        }
        with _atomic(_meta_path(path)) as tmp:
            tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
        self._generation, self._data_dirty, self._meta_dirty = gen, False, False
        _remove_other_generations(path, gen)

    def get_meta(self, key: str) -> Any:
        """A value stored with ``set_meta`` (e.g. the embedding model, the last store change applied), or None."""
        return self._meta.get(key)

    def set_meta(self, key: str, value: Any) -> None:
        """Set a JSON value; it is written by the next ``save()``, in the same commit as the vectors it describes."""
        self._meta[key] = json.loads(json.dumps(value))  # a copy, and what JSON cannot hold fails here, not in save()
        self._meta_dirty = True

    # -- contents -----------------------------------------------------------------------------------------------

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def expansion_search(self) -> int:
        """HNSW candidate-list size of a search (ef): recall and latency grow with it; unused in exact mode."""
        return self._expansion_search

    @expansion_search.setter
    def expansion_search(self, value: int) -> None:
        self._expansion_search = value
        if self._ann is not None:
            self._ann.expansion_search = value  # type: ignore[misc]  # usearch has a setter its stub does not show

    @property
    def mode(self) -> str:
        """``"exact"`` or ``"ann"``."""
        return "exact" if self._ann is None else "ann"

    def __len__(self) -> int:
        return self._n

    def __contains__(self, key: object) -> bool:
        return isinstance(key, int | np.integer) and int(key) in self._row

    def keys(self) -> Keys:
        """All keys, in no particular order (a copy)."""
        return self._keys[: self._n].copy()

    def get(self, keys: npt.ArrayLike) -> Floats:
        """The unit vectors of ``keys`` as (len(keys), dim) float32; KeyError for a key not in the index.

        In ANN mode these are the int8 vectors scaled back to unit length (cosine ~0.999 to what was added).
        """
        wanted = _as_keys(keys)
        rows = np.empty(len(wanted), np.int64)
        for i, key in enumerate(wanted.tolist()):
            row = self._row.get(key)
            if row is None:
                raise KeyError(key)
            rows[i] = row
        return self._rows_as_float(rows)

    # -- changes ------------------------------------------------------------------------------------------------

    def add(self, keys: npt.ArrayLike, vectors: npt.ArrayLike) -> None:
        """Add vectors under keys; a key already present gets the new vector (last one wins within a batch)."""
        new_keys = _as_keys(keys)
        vecs = np.ascontiguousarray(vectors, dtype=np.float32)
        if vecs.ndim != 2 or vecs.shape != (len(new_keys), self._dim):
            raise ValueError(f"vectors must have shape ({len(new_keys)}, {self._dim}), got {vecs.shape}")
        if len(new_keys) == 0:
            return
        if new_keys.min() < 0:
            raise ValueError("keys must be >= 0 (usearch reserves the top of the unsigned range; -1 pads results)")
        norms = np.linalg.norm(vecs, axis=1)
        if not np.all(np.isfinite(norms)) or np.any(norms == 0):
            raise ValueError("vectors must be finite and non-zero")
        if len(np.unique(new_keys)) != len(new_keys):
            last = len(new_keys) - 1 - np.unique(new_keys[::-1], return_index=True)[1]
            new_keys, vecs, norms = new_keys[last], vecs[last], norms[last]
        vecs /= norms[:, None]
        self._drop(new_keys)
        if self._ann is None and self._n + len(new_keys) >= self._exact_below:
            self._to_ann()
        if self._ann is None:
            self._append(new_keys, vecs, np.ones(len(new_keys), np.float32))
        else:
            q8 = _quantise(vecs)
            self._ann.add(new_keys.view(np.uint64), q8)
            self._append(new_keys, q8, _inv_norms(q8))
        self._data_dirty = True

    def remove(self, keys: npt.ArrayLike) -> None:
        """Remove keys; keys not in the index are ignored."""
        self._drop(_as_keys(keys))
        self._rebalance()

    def _drop(self, keys: Keys) -> None:
        present = [k for k in dict.fromkeys(keys.tolist()) if k in self._row]
        if not present:
            return
        if self._ann is not None:
            self._ann.remove(np.array(present, np.int64).view(np.uint64))
        for key in present:
            # move the last row into the hole so that rows [0, n) stay contiguous for the exact scan
            row, last = self._row.pop(key), self._n - 1
            if row != last:
                moved = int(self._keys[last])
                self._keys[row], self._vecs[row], self._inv_norm[row] = moved, self._vecs[last], self._inv_norm[last]
                self._row[moved] = row
            self._n = last
        self._data_dirty = True

    def _append(self, keys: Keys, rows: npt.NDArray[Any], inv_norm: Floats) -> None:
        need = self._n + len(keys)
        if need > len(self._keys):
            cap = max(need, int(len(self._keys) * 1.5), 1024)
            self._keys = _resized(self._keys, cap, self._n)
            self._inv_norm = _resized(self._inv_norm, cap, self._n)
            vecs = np.empty((cap, self._dim), rows.dtype)
            vecs[: self._n] = self._vecs[: self._n]
            self._vecs = vecs
        start = self._n
        self._keys[start:need], self._vecs[start:need], self._inv_norm[start:need] = keys, rows, inv_norm
        self._row.update(zip(keys.tolist(), range(start, need), strict=True))
        self._n = need

    def _rebalance(self) -> None:
        # the factor 2 of hysteresis keeps an index near the threshold from rebuilding its graph at every change
        if self._ann is None and self._n >= self._exact_below:
            self._to_ann()
        elif self._ann is not None and self._n < self._exact_below // 2:
            self._to_exact()

    def _to_ann(self) -> None:
        n = self._n
        q8 = _quantise(self._vecs[:n])
        ann = Index(
            ndim=self._dim,
            metric="cos",
            dtype="i8",
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=self._expansion_search,
        )
        if n:
            ann.add(self._keys[:n].view(np.uint64), q8)
        self._ann = ann
        self._vecs, self._inv_norm = q8, _inv_norms(q8)
        self._keys = self._keys[:n].copy()
        self._data_dirty = True

    def _to_exact(self) -> None:
        self._vecs = self._rows_as_float(np.arange(self._n))
        self._inv_norm = np.ones(self._n, np.float32)
        self._keys = self._keys[: self._n].copy()
        self._ann = None
        self._data_dirty = True

    # -- search -------------------------------------------------------------------------------------------------

    def search(self, query: npt.ArrayLike, k: int, *, allowed: npt.ArrayLike | None = None) -> tuple[Keys, Floats]:
        """The k most cosine-similar keys to ``query`` and their cosines, best first.

        ``query`` of shape (dim,) gives 1-D arrays of at most k entries; (q, dim) gives (q, min(k, len)) arrays
        where rows with fewer hits are padded with key -1 and score -inf. ``allowed`` restricts hits to those keys.
        """
        q = np.asarray(query, dtype=np.float32)
        single = q.ndim == 1
        q2 = q.reshape(1, -1) if single else q
        if q2.ndim != 2 or q2.shape[1] != self._dim:
            raise ValueError(f"query must have shape ({self._dim},) or (q, {self._dim}), got {q.shape}")
        norms = np.linalg.norm(q2, axis=1, keepdims=True)
        q2 = (q2 / np.where(norms > 0, norms, 1)).astype(np.float32)
        width = max(0, min(k, self._n))
        out_keys = np.full((len(q2), width), -1, np.int64)
        out_scores = np.full((len(q2), width), -np.inf, np.float32)
        if width == 0:
            pass
        elif allowed is None:
            if self._ann is None:
                self._scan_float(q2, None, out_keys, out_scores)
            else:
                for i in range(len(q2)):
                    self._search_graph(q2[i], width, None, out_keys[i], out_scores[i])
        else:
            allowed_keys = _sorted_unique(_as_keys(allowed))  # sorted, for the membership test by binary search
            # Scanning m rows costs ~m; the graph needs ~2k*n/m candidates at ~10x the cost of a scanned row, so
            # the break-even m is ~sqrt(200 k n) (measured: scan 10k rows 7.6 ms vs graph 0.8 ms at n=100k)
            scan_limit = min(self._exact_below, int(SCAN_PER_SQRT_N * math.sqrt(self._n)))
            if self._ann is None or len(allowed_keys) <= scan_limit:
                # a dict lookup per allowed key costs O(allowed), not O(index) as a mask over all keys would
                rows = np.array([r for r in map(self._row.get, allowed_keys.tolist()) if r is not None], np.intp)
                if len(rows) and self._ann is None:
                    self._scan_float(q2, rows, out_keys, out_scores)
                elif len(rows):
                    for i in range(len(q2)):
                        self._scan_int8(q2[i], rows, out_keys[i], out_scores[i])
            else:
                for i in range(len(q2)):
                    self._search_graph(q2[i], width, allowed_keys, out_keys[i], out_scores[i])
        if not single:
            return out_keys, out_scores
        hits = out_keys[0] != -1
        return out_keys[0][hits], out_scores[0][hits]

    def _scan_float(self, q2: Floats, rows: npt.NDArray[np.intp] | None, out_keys: Keys, out_scores: Floats) -> None:
        """Exact mode: one matrix product over all rows or the allowed ones."""
        vecs = self._vecs[: self._n] if rows is None else self._vecs[rows]
        keys = self._keys[: self._n] if rows is None else self._keys[rows]
        scores = q2 @ vecs.T
        width = min(out_keys.shape[1], scores.shape[1])
        if width < scores.shape[1]:
            top = np.argpartition(-scores, width - 1, axis=1)[:, :width]
        else:
            top = np.broadcast_to(np.arange(scores.shape[1]), scores.shape)
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        out_keys[:, :width] = keys[np.take_along_axis(top, order, axis=1)]
        out_scores[:, :width] = np.take_along_axis(top_scores, order, axis=1)

    def _scan_int8(self, q: Floats, rows: npt.NDArray[np.intp], out_keys: Keys, out_scores: Floats) -> None:
        """ANN mode, few allowed rows: usearch's int8 kernel over just those rows (3x faster than numpy's
        int8->float32 conversion and product), with the same scores as the graph search."""
        found = brute_force(self._vecs[rows], _quantise(q.reshape(1, -1))[0], len(out_keys), exact=True, threads=1)
        if isinstance(found, BatchMatches):  # never for one query; keeps the types honest
            raise TypeError("usearch answered a batch for one query")
        got = len(found.keys)
        out_keys[:got] = self._keys[rows[found.keys.astype(np.intp)]]
        out_scores[:got] = 1.0 - found.distances

    def _search_graph(self, q: Floats, k: int, allowed: Keys | None, out_keys: Keys, out_scores: Floats) -> None:
        """ANN mode: the HNSW graph; with ``allowed`` (sorted), oversampled by 2/selectivity and filtered."""
        assert self._ann is not None
        q8 = _quantise(q.reshape(1, -1))[0]
        want = k if allowed is None else min(self._n, math.ceil(2 * k * self._n / len(allowed)) + k)
        while True:
            found = self._ann.search(q8, want, threads=1)
            if isinstance(found, BatchMatches):
                raise TypeError("usearch answered a batch for one query")
            keys = found.keys.view(np.int64)
            scores = (1.0 - found.distances).astype(np.float32)
            if allowed is not None:
                at = np.minimum(np.searchsorted(allowed, keys), len(allowed) - 1)
                keep = allowed[at] == keys
                keys, scores = keys[keep], scores[keep]
            if len(keys) >= k or want >= self._n:
                break
            want = min(self._n, want * 4)  # the filter ate more than expected (allowed keys not indexed, bad luck)
        got = min(k, len(keys))
        out_keys[:got] = keys[:got]
        out_scores[:got] = scores[:got]

    def _rows_as_float(self, rows: npt.NDArray[np.int64] | npt.NDArray[np.intp]) -> Floats:
        if self._ann is None:
            return np.array(self._vecs[rows], dtype=np.float32)
        return self._vecs[rows].astype(np.float32) * self._inv_norm[rows, None]


def _as_keys(keys: npt.ArrayLike) -> Keys:
    arr = np.asarray(keys)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"keys must be integers, got {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _sorted_unique(keys: Keys) -> Keys:
    # ids from an SQL query usually come sorted; checking is O(n), sorting O(n log n)
    return keys if len(keys) < 2 or bool(np.all(keys[1:] > keys[:-1])) else np.unique(keys)


def _quantise(vecs: npt.NDArray[np.float32]) -> npt.NDArray[np.int8]:
    peak = np.abs(vecs).max(axis=1, keepdims=True)
    return np.rint(vecs * (127.0 / np.where(peak > 0, peak, 1))).astype(np.int8)


def _inv_norms(q8: npt.NDArray[np.int8]) -> Floats:
    norms = np.sqrt(np.einsum("ij,ij->i", q8, q8, dtype=np.float32))
    return np.where(norms > 0, 1.0 / np.where(norms > 0, norms, 1), 0).astype(np.float32)


def _resized(arr: npt.NDArray[Any], cap: int, used: int) -> npt.NDArray[Any]:
    out = np.empty(cap, arr.dtype)
    out[:used] = arr[:used]
    return out


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".meta.json")


def _data_path(path: Path, generation: int, suffix: str) -> Path:
    return path.with_name(f"{path.name}.{generation}{suffix}")


@contextlib.contextmanager
def _atomic(target: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success sync it and rename it over ``target``."""
    tmp = target.with_name(target.name + ".tmp")
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # a rename is durable once its directory is synced (not possible everywhere)
        _fsync(target.parent)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_other_generations(path: Path, keep: int) -> None:
    pattern = re.compile(re.escape(path.name) + r"\.(\d+)\.(keys\.npy|norms\.npy|vectors\.npy|usearch)(\.tmp)?")
    for other in path.parent.iterdir():
        m = pattern.fullmatch(other.name)
        if m and int(m.group(1)) != keep:
            with contextlib.suppress(OSError):  # still mapped by a reader on a system that forbids that
                other.unlink(missing_ok=True)
