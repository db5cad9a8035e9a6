"""Vector index of the embedded (SQLite) deployment: paper key -> unit vector, cosine top-k, filters, files.

It owns the dense half of search when paperfeed runs as one process over SQLite: the caller embeds texts, passes
int64 keys (paper row ids, >= 0) with L2-normalised float32 vectors, and asks for the k most similar keys,
optionally only among an ``allowed`` key set (a category, a date range). Papers arrive daily and a paper's vector
changes with its text, so adds, replacements and removals are incremental; ``save()`` commits to files beside
``path`` (atomically, by generation) and ``open()`` reloads them; ``stale()`` says when another process committed
since (the caller reopens; ``search/dense.py`` does, off the request path).

Two regimes, chosen by size:

* exact, below ``exact_below`` vectors: a contiguous float32 matrix and one BLAS product; exact scores.
* ANN, from ``exact_below`` on: a faiss IVF index with 8-bit scalar quantisation (``IVF<lists>,SQ8``, inner
  product, a hash map id -> slot so that single ids can be removed and read back). Lists = min(4096, 4 sqrt(n),
  n/40), trained on the vectors present; once the index holds 4x what it was trained on it is trained again
  from its own decoded vectors (the add() that crosses that line takes ~50 s at 400k, ~2 min at 1.6M).
  Each query probes NPROBE lists.

Measured by bench/vectors.py (bench/results/vectors.md) on this 2-core machine while other jobs ran (load 3-8,
so times are pessimistic), k=10, recall@10 against an exact float32 scan:

    set                          n     exact p50   IVF-SQ8 nprobe 64: build  add-one  p50     recall  RAM     file
    synthetic, 2,000 clusters    100k  32 ms       32 s    0.07 ms  0.40 ms  0.990   55 MB   41 MB
    synthetic, 2,000 clusters    1M    153 ms      80 s    0.11 ms  1.04 ms  0.981   492 MB  393 MB
    real MiniLM abstracts        15k   1.4 ms      1.1 s   0.03 ms  0.15 ms  0.993   -       6 MB
    exact scan p50 by n: 5k 0.18 ms, 10k 0.85 ms, 20k 1.9 ms, 50k 12 ms -> EXACT_BELOW = 10,000
    1M filtered (random keys allowed): 0.5 % 2.5 ms / 0.986, 2 % 1.3 ms / 0.993, 10 % 1.1 ms / 0.992

Saving takes 0.35 s and opening 0.43 s at 1M. usearch's HNSW over int8 (M=16, ef_add=64) was as fast per query but
reached only recall 0.90 at 1M even with ef=256, took 9.4 min to build and 1.1 GB, and could only filter after the
graph walk (0.84 with 2 % allowed); hnswlib keeps float32 (1.5 GB at 1M) and faiss's HNSW cannot remove.

Filtered search (``allowed``): exact mode scans the allowed rows. ANN mode reads back and scans the allowed
vectors when there are at most SCAN_MAX of them (~2 us a key); otherwise it searches with a bitmap selector and
probes more lists the rarer the allowed keys are (enough to meet ~200 k allowed vectors), capped at all lists.

Scores are cosines; in ANN mode, of the query with the 8-bit decoded vectors (within 0.002 of the float ones
on real MiniLM vectors).
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

import faiss as _faiss
import numpy as np
import numpy.typing as npt

from paperfeed.errors import StoreError

# faiss ships a py.typed stub that lacks most of the IVF API (DirectMap, invlists, keyword search parameters)
faiss: Any = _faiss

EXACT_BELOW = 10_000
NPROBE = 64
SCAN_MAX = 500
FILTER_REACH = 200
_MAX_LISTS = 4_096
_RETRAIN_GROWTH = 4
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
        self._impl: _Exact | _IVF = _Exact(dim)
        self._meta: dict[str, Any] = {}
        self._generation = 0
        self._stamp: tuple[int, int, int] | None = None  # of the manifest this copy was loaded from or saved as
        self._data_dirty = False
        self._meta_dirty = False

    # -- opening and saving -------------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | None, dim: int, *, exact_below: int = EXACT_BELOW) -> VectorIndex:
        """Open the index saved at ``path`` (``path.meta.json`` and its data files), or a new empty one.

        ``path=None`` gives an in-memory index (``save()`` then does nothing). A saved index of another ``dim``
        raises StoreError: vectors of another model need a new index.
        """
        index = cls(path, dim, exact_below)
        if path is not None and _meta_path(path).exists():
            index._load(path)
        index._rebalance()
        return index

    def _load(self, path: Path) -> None:
        meta_path = _meta_path(path)
        self._stamp = _stamp_of(meta_path)  # before reading: a commit made meanwhile leaves this copy stale
        try:
            manifest = json.loads(meta_path.read_text())
            if manifest.get("format") != _FORMAT:
                raise StoreError(f"{meta_path}: vector index format {manifest.get('format')}, expected {_FORMAT}")
            if manifest["dim"] != self._dim:
                raise StoreError(f"{meta_path}: index holds {manifest['dim']}-d vectors, asked for {self._dim}-d")
            gen = int(manifest["generation"])
            if manifest["mode"] == "ann":
                self._impl = _IVF.load(_data_path(path, gen, ".faiss"), self._dim, int(manifest["trained_on"]))
            else:
                self._impl = _Exact.load(_data_path(path, gen, ".keys.npy"), _data_path(path, gen, ".vectors.npy"))
            if len(self._impl) != manifest["count"] or self._impl.dim != self._dim:
                raise StoreError(
                    f"{path}: generation {gen} holds {len(self._impl)} vectors, expected {manifest['count']}"
                )
        except (OSError, KeyError, ValueError, RuntimeError, EOFError) as e:
            raise StoreError(f"{path}: cannot read the vector index ({e})") from e
        self._meta = dict(manifest.get("user", {}))
        self._generation = gen

    def save(self) -> None:
        """Commit the vectors and the meta: data files of a new generation, then the manifest by atomic rename.

        The manifest ``path.meta.json`` is the commit point: after a crash the previous generation is in force.
        """
        if self._path is None or not (self._data_dirty or self._meta_dirty or self._generation == 0):
            return
        path = self._path
        path.parent.mkdir(parents=True, exist_ok=True)
        gen = self._generation
        if self._data_dirty or gen == 0:
            gen += 1
            if isinstance(self._impl, _IVF):
                with _atomic(_data_path(path, gen, ".faiss")) as tmp:
                    self._impl.save(tmp)
            else:
                with (
                    _atomic(_data_path(path, gen, ".keys.npy")) as keys_tmp,
                    _atomic(_data_path(path, gen, ".vectors.npy")) as vecs_tmp,
                ):
                    self._impl.save(keys_tmp, vecs_tmp)
        manifest = {"format": _FORMAT, "dim": self._dim, "generation": gen, "user": self._meta} | self.info()
        with _atomic(_meta_path(path)) as tmp:
            tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
        self._generation, self._data_dirty, self._meta_dirty = gen, False, False
        self._stamp = _stamp_of(_meta_path(path))
        _remove_other_generations(path, gen)

    @property
    def generation(self) -> int:
        """The committed generation this copy holds (0: never saved); each commit to the files adds one."""
        return self._generation

    def stale(self) -> bool:
        """Whether the files were committed (or removed) since this copy was loaded or saved: another process
        wrote the index, and ``open()`` would give its newer state."""
        return self._path is not None and _stamp_of(_meta_path(self._path)) != self._stamp

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
    def mode(self) -> str:
        """``"exact"`` or ``"ann"``."""
        return "ann" if isinstance(self._impl, _IVF) else "exact"

    def info(self) -> dict[str, Any]:
        """Mode, count and, in ANN mode, the IVF lists and the count it was trained on (for status pages)."""
        out: dict[str, Any] = {"mode": self.mode, "count": len(self)}
        if isinstance(self._impl, _IVF):
            out |= {"index": f"IVF{self._impl.lists},SQ8", "nprobe": NPROBE, "trained_on": self._impl.trained_on}
        return out

    def __len__(self) -> int:
        return len(self._impl)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, int | np.integer) and int(key) in self._impl

    def keys(self) -> Keys:
        """All keys, in no particular order (a copy)."""
        return self._impl.keys()

    def get(self, keys: npt.ArrayLike) -> Floats:
        """The unit vectors of ``keys`` as (len(keys), dim) float32; KeyError for a key not in the index.

        In ANN mode these are the 8-bit vectors decoded and scaled back to unit length (cosine 0.9999 to the input).
        """
        wanted = _as_keys(keys)
        for key in wanted.tolist():
            if key not in self._impl:
                raise KeyError(key)
        return self._impl.get(wanted)

    # -- changes ------------------------------------------------------------------------------------------------

    def add(self, keys: npt.ArrayLike, vectors: npt.ArrayLike) -> None:
        """Add vectors under keys; a key already present gets the new vector (last one wins within a batch)."""
        new_keys = _as_keys(keys)
        vecs = np.array(vectors, dtype=np.float32, order="C")  # a copy: normalised in place below
        if vecs.ndim != 2 or vecs.shape != (len(new_keys), self._dim):
            raise ValueError(f"vectors must have shape ({len(new_keys)}, {self._dim}), got {vecs.shape}")
        if len(new_keys) == 0:
            return
        if new_keys.min() < 0:
            raise ValueError("keys must be >= 0 (-1 pads results)")
        norms = np.linalg.norm(vecs, axis=1)
        if not np.all(np.isfinite(norms)) or np.any(norms == 0):
            raise ValueError("vectors must be finite and non-zero")
        if len(np.unique(new_keys)) != len(new_keys):
            last = len(new_keys) - 1 - np.unique(new_keys[::-1], return_index=True)[1]
            new_keys, vecs, norms = new_keys[last], vecs[last], norms[last]
        vecs /= norms[:, None]
        self._impl.remove(new_keys)
        total = len(self._impl) + len(new_keys)
        impl = self._impl
        if (isinstance(impl, _Exact) and total >= self._exact_below) or (
            isinstance(impl, _IVF) and total >= _RETRAIN_GROWTH * impl.trained_on
        ):
            # train on everything at once: the new vectors exactly, the present ones as stored
            old = impl.keys()
            self._impl = _IVF.build(
                self._dim, np.concatenate([old, new_keys]), np.concatenate([_unit(impl.get(old)), vecs])
            )
        else:
            impl.add(new_keys, vecs)
        self._data_dirty = True

    def remove(self, keys: npt.ArrayLike) -> None:
        """Remove keys; keys not in the index are ignored."""
        if self._impl.remove(_as_keys(keys)):
            self._data_dirty = True
            self._rebalance()

    def _rebalance(self) -> None:
        # the factor 2 of hysteresis keeps an index near the threshold from being rebuilt at every change
        impl, n = self._impl, len(self._impl)
        if isinstance(impl, _Exact) and n >= self._exact_below:
            self._impl = _IVF.build(self._dim, impl.keys(), impl.get(impl.keys()))
        elif isinstance(impl, _IVF) and n < self._exact_below // 2:
            keys = impl.keys()
            self._impl = _Exact(self._dim, keys, _unit(impl.get(keys)))
        else:
            return
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
        q2 = np.ascontiguousarray(q2 / np.where(norms > 0, norms, 1), dtype=np.float32)
        width = max(0, min(k, len(self._impl)))
        out_keys = np.full((len(q2), width), -1, np.int64)
        out_scores = np.full((len(q2), width), -np.inf, np.float32)
        if width:
            allowed_keys = None if allowed is None else _sorted_unique(_as_keys(allowed))
            self._impl.search(q2, allowed_keys, out_keys, out_scores)
        if not single:
            return out_keys, out_scores
        hits = out_keys[0] != -1
        return out_keys[0][hits], out_scores[0][hits]


class _Exact:
    """Rows [0, n) of a float32 matrix, a key per row, and a dict key -> row; removal moves the last row in."""

    def __init__(self, dim: int, keys: Keys | None = None, vecs: npt.NDArray[np.float32] | None = None) -> None:
        self.dim = dim
        self._keys: Keys = np.empty(0, np.int64) if keys is None else keys
        self._vecs: npt.NDArray[np.float32] = np.empty((0, dim), np.float32) if vecs is None else vecs
        self._n = len(self._keys)
        self._row = dict(zip(self._keys.tolist(), range(self._n), strict=True))

    @classmethod
    def load(cls, keys_path: Path, vecs_path: Path) -> _Exact:
        keys = np.load(keys_path)
        vecs = np.load(vecs_path, mmap_mode="c")  # copy-on-write map: open now, read pages when used
        if vecs.dtype != np.float32 or vecs.ndim != 2 or len(vecs) != len(keys):
            raise ValueError(f"{vecs_path}: {vecs.dtype} {vecs.shape} for {len(keys)} keys")
        return cls(vecs.shape[1], keys.astype(np.int64), vecs)

    def save(self, keys_path: Path, vecs_path: Path) -> None:
        for target, array in ((keys_path, self._keys), (vecs_path, self._vecs)):
            with open(target, "wb") as f:
                np.save(f, array[: self._n])

    def __len__(self) -> int:
        return self._n

    def __contains__(self, key: int) -> bool:
        return key in self._row

    def keys(self) -> Keys:
        return self._keys[: self._n].copy()

    def get(self, keys: Keys) -> Floats:
        return np.array(self._vecs[[self._row[k] for k in keys.tolist()]], dtype=np.float32).reshape(-1, self.dim)

    def add(self, keys: Keys, vecs: Floats) -> None:
        need = self._n + len(keys)
        if need > len(self._keys):
            cap = max(need, int(len(self._keys) * 1.5), 1024)
            grown_keys, grown_vecs = np.empty(cap, np.int64), np.empty((cap, self.dim), np.float32)
            grown_keys[: self._n], grown_vecs[: self._n] = self._keys[: self._n], self._vecs[: self._n]
            self._keys, self._vecs = grown_keys, grown_vecs
        self._keys[self._n : need], self._vecs[self._n : need] = keys, vecs
        self._row.update(zip(keys.tolist(), range(self._n, need), strict=True))
        self._n = need

    def remove(self, keys: Keys) -> int:
        removed = 0
        for key in keys.tolist():
            row = self._row.pop(key, None)
            if row is None:
                continue
            last = self._n - 1
            if row != last:  # keep rows [0, n) contiguous for the scan
                moved = int(self._keys[last])
                self._keys[row], self._vecs[row] = moved, self._vecs[last]
                self._row[moved] = row
            self._n, removed = last, removed + 1
        return removed

    def search(self, q2: Floats, allowed: Keys | None, out_keys: Keys, out_scores: Floats) -> None:
        if allowed is None:
            keys, vecs = self._keys[: self._n], self._vecs[: self._n]
        else:
            rows = np.array([r for r in map(self._row.get, allowed.tolist()) if r is not None], np.intp)
            keys, vecs = self._keys[rows], self._vecs[rows]
        _top_k(q2 @ vecs.T, keys, out_keys, out_scores)


class _IVF:
    """faiss IVF-SQ8 over inner product whose ids are the keys, and the set of keys it holds."""

    def __init__(self, index: Any, members: set[int], trained_on: int) -> None:
        self._index = index
        self._members = members
        self.trained_on = trained_on
        self.dim: int = index.d

    @property
    def lists(self) -> int:
        return int(self._index.nlist)

    @classmethod
    def build(cls, dim: int, keys: Keys, vecs: Floats) -> _IVF:
        n = len(keys)
        lists = max(1, min(_MAX_LISTS, int(4 * math.sqrt(n)), n // 40))
        index = faiss.index_factory(dim, f"IVF{lists},SQ8", faiss.METRIC_INNER_PRODUCT)
        # k-means needs ~40 points a list; more only costs training time
        sample = vecs if n <= 64 * lists else vecs[np.random.default_rng(0).choice(n, 64 * lists, replace=False)]
        index.train(np.ascontiguousarray(sample))
        index.set_direct_map_type(faiss.DirectMap.Hashtable)
        index.add_with_ids(np.ascontiguousarray(vecs), np.ascontiguousarray(keys))
        return cls(index, set(keys.tolist()), n)

    @classmethod
    def load(cls, path: Path, dim: int, trained_on: int) -> _IVF:
        index = faiss.read_index(str(path))
        invlists = index.invlists
        ids = [
            faiss.rev_swig_ptr(invlists.get_ids(i), invlists.list_size(i)).copy()
            for i in range(index.nlist)
            if invlists.list_size(i)
        ]
        return cls(index, set(np.concatenate(ids).tolist()) if ids else set(), trained_on)

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, key: int) -> bool:
        return key in self._members

    def keys(self) -> Keys:
        return np.fromiter(self._members, np.int64, len(self._members))

    def get(self, keys: Keys) -> Floats:
        if not len(keys):
            return np.empty((0, self.dim), np.float32)
        return _unit(self._index.reconstruct_batch(keys))

    def add(self, keys: Keys, vecs: Floats) -> None:
        self._index.add_with_ids(vecs, keys)
        self._members.update(keys.tolist())

    def remove(self, keys: Keys) -> int:
        present = [k for k in keys.tolist() if k in self._members]
        if present:
            # the hash map id -> slot removes in O(1) a key, but only with an array selector
            self._index.remove_ids(faiss.IDSelectorArray(np.array(present, np.int64)))
            self._members.difference_update(present)
        return len(present)

    def search(self, q2: Floats, allowed: Keys | None, out_keys: Keys, out_scores: Floats) -> None:
        k = out_keys.shape[1]
        if allowed is None:
            scores, keys = self._index.search(q2, k, params=faiss.SearchParametersIVF(nprobe=NPROBE))
        elif len(allowed) <= SCAN_MAX:
            present = allowed[np.fromiter((key in self._members for key in allowed.tolist()), bool, len(allowed))]
            if len(present):
                _top_k(q2 @ self._index.reconstruct_batch(present).T, present, out_keys, out_scores)
            return
        else:
            # probe until ~200 k allowed vectors are met on average: the k best allowed ones lie further out the
            # rarer they are (at 1M, 2 % allowed: 128 lists gave recall 0.976, 512 lists 0.993)
            nprobe = min(self.lists, max(NPROBE, math.ceil(FILTER_REACH * k * self.lists / len(allowed))))
            selector, _bits = _selector(allowed)  # _bits backs the selector: keep it alive through the search
            scores, keys = self._index.search(q2, k, params=faiss.SearchParametersIVF(sel=selector, nprobe=nprobe))
            if nprobe < self.lists and (keys[:, -1] == -1).any():  # too few allowed keys met: probe them all
                params = faiss.SearchParametersIVF(sel=selector, nprobe=self.lists)
                scores, keys = self._index.search(q2, k, params=params)
        found = keys != -1
        out_keys[found], out_scores[found] = keys[found], scores[found]


def _selector(allowed: Keys) -> tuple[Any, npt.NDArray[np.uint8] | None]:
    """A bitmap over key values when they are dense enough (1M keys: 1 ms), else faiss's hash set (15 ms)."""
    top = int(allowed[-1]) + 1
    if top > 64 * len(allowed) and top > 1 << 20:
        return faiss.IDSelectorBatch(allowed), None
    mask = np.zeros(top, bool)
    mask[allowed] = True
    bits = np.packbits(mask, bitorder="little")
    return faiss.IDSelectorBitmap(len(bits), faiss.swig_ptr(bits)), bits  # its size is in bytes, not ids


def _sorted_unique(keys: Keys) -> Keys:
    # ids from an SQL query usually come sorted and unique: checking is O(n), sorting O(n log n)
    return keys if len(keys) < 2 or bool(np.all(keys[1:] > keys[:-1])) else np.unique(keys)


def _top_k(scores: Floats, keys: Keys, out_keys: Keys, out_scores: Floats) -> None:
    width = min(out_keys.shape[1], scores.shape[1])
    if width == 0:
        return
    if width < scores.shape[1]:
        top = np.argpartition(-scores, width - 1, axis=1)[:, :width]
    else:
        top = np.broadcast_to(np.arange(scores.shape[1]), scores.shape)
    top_scores = np.take_along_axis(scores, top, axis=1)
    order = np.argsort(-top_scores, axis=1, kind="stable")
    out_keys[:, :width] = keys[np.take_along_axis(top, order, axis=1)]
    out_scores[:, :width] = np.take_along_axis(top_scores, order, axis=1)


def _as_keys(keys: npt.ArrayLike) -> Keys:
    arr = np.asarray(keys)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"keys must be integers, got {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _unit(vecs: Floats) -> Floats:
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    return (vecs / np.where(norms > 0, norms, 1)).astype(np.float32)


def _stamp_of(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


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
    pattern = re.compile(re.escape(path.name) + r"\.(\d+)\.(keys\.npy|vectors\.npy|faiss)(\.tmp)?")
    for other in path.parent.iterdir():
        m = pattern.fullmatch(other.name)
        if m and int(m.group(1)) != keep:
            with contextlib.suppress(OSError):  # still mapped by a reader on a system that forbids that
                other.unlink(missing_ok=True)
