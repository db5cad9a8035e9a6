"""VectorIndex: exact scan below the threshold, faiss IVF-SQ8 above it, filters, replace/remove, files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from paperfeed.errors import StoreError
from paperfeed.search.vectors import VectorIndex

DIM = 64


def clustered(n: int, dim: int = DIM, clusters: int = 200, seed: int = 0) -> npt.NDArray[np.float32]:
    """Unit vectors around random cluster centres (cosine ~0.5 within a cluster), like text embeddings."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = centres[rng.integers(0, clusters, n)] + rng.standard_normal((n, dim)).astype(np.float32) / np.sqrt(dim)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def exact_top(base: npt.NDArray[np.float32], keys: npt.NDArray[np.int64], q: npt.NDArray[np.float32], k: int):  # type: ignore[no-untyped-def]
    scores = q @ base.T
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1), axis=1)
    return keys[order], np.take_along_axis(scores, order, axis=1)


def recall(found: npt.NDArray[np.int64], truth: npt.NDArray[np.int64]) -> float:
    return float(np.mean([len(set(f.tolist()) & set(t.tolist())) / len(t) for f, t in zip(found, truth, strict=True)]))


@pytest.fixture(scope="module")
def data() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    x = clustered(20_200)
    return x[:20_000], x[20_000:]


@pytest.fixture(scope="module")
def ann(data: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]) -> VectorIndex:
    index = VectorIndex.open(None, DIM, exact_below=1_000)
    index.add(np.arange(20_000) * 3 + 7, data[0])  # keys that are not row numbers
    assert index.mode == "ann"
    return index


def test_exact_below_threshold_matches_brute_force() -> None:
    base, q = clustered(2_000, seed=1), clustered(20, seed=2)
    keys = np.arange(2_000, dtype=np.int64) + 100
    index = VectorIndex.open(None, DIM)
    index.add(keys, base)
    assert index.mode == "exact" and len(index) == 2_000
    want_keys, want_scores = exact_top(base, keys, q, 10)
    got_keys, got_scores = index.search(q, 10)
    assert np.array_equal(got_keys, want_keys)
    np.testing.assert_allclose(got_scores, want_scores, atol=1e-5)
    one_keys, one_scores = index.search(q[3], 10)
    assert one_keys.shape == (10,) and np.array_equal(one_keys, want_keys[3])
    assert one_scores[0] <= 1.0 + 1e-5 and np.all(np.diff(one_scores) <= 0)


def test_ann_recall_at_10(ann: VectorIndex, data: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]) -> None:
    base, q = data
    truth, _ = exact_top(base, np.arange(20_000) * 3 + 7, q, 10)
    found, scores = ann.search(q, 10)
    assert found.shape == (200, 10)
    assert recall(found, truth) >= 0.95
    # scores are cosines with the 8-bit decoded vectors: close to the float ones
    np.testing.assert_allclose(scores[:, 0], np.sum(q * base[(found[:, 0] - 7) // 3], axis=1), atol=0.02)


def test_ann_get_returns_near_unit_copies(
    ann: VectorIndex, data: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]
) -> None:
    got = ann.get(np.array([7, 10, 13]))
    assert got.shape == (3, DIM) and got.dtype == np.float32
    assert np.all(np.sum(got * data[0][:3], axis=1) > 0.99)
    with pytest.raises(KeyError):
        ann.get(np.array([8]))


@pytest.mark.parametrize("exact_below", [10_000, 50])
def test_add_replaces_and_remove_drops(exact_below: int) -> None:
    base = clustered(200, seed=3)
    index = VectorIndex.open(None, DIM, exact_below=exact_below)
    index.add(np.arange(200), base)
    mode = index.mode
    assert mode == ("exact" if exact_below > 200 else "ann")

    index.add(np.array([5]), base[150:151])  # key 5 now carries the vector of key 150
    assert len(index) == 200
    assert float(index.get(np.array([5]))[0] @ base[150]) > 0.99
    top, _ = index.search(base[150], 2)
    assert set(top.tolist()) == {5, 150}
    top, _ = index.search(base[5], 5)
    assert 5 not in top.tolist()

    index.add(np.array([300, 300]), base[[10, 20]])  # twice in one batch: the last one wins
    assert len(index) == 201 and float(index.get(np.array([300]))[0] @ base[20]) > 0.99

    index.remove(np.array([5, 300, 999_999]))  # an unknown key is ignored
    assert len(index) == 199 and 5 not in index and 300 not in index and 6 in index
    top, _ = index.search(base[150], 199)
    assert 5 not in top.tolist() and 300 not in top.tolist() and len(top) == 199
    assert index.mode == mode


def test_mode_follows_size_with_hysteresis() -> None:
    base = clustered(400, seed=4)
    index = VectorIndex.open(None, DIM, exact_below=300)
    index.add(np.arange(250), base[:250])
    assert index.mode == "exact"
    index.add(np.arange(250, 400), base[250:])
    assert index.mode == "ann"
    index.remove(np.arange(200))
    assert index.mode == "ann"  # 200 left: between half the threshold and the threshold
    index.remove(np.arange(200, 260))
    assert index.mode == "exact" and len(index) == 140
    top, _ = index.search(base[300], 1)
    assert top.tolist() == [300]


def test_allowed_small_set_is_scanned(ann: VectorIndex, data: tuple[npt.NDArray[np.float32], ...]) -> None:
    base, q = data
    keys = np.arange(20_000) * 3 + 7
    pick = np.arange(0, 20_000, 80)  # 250 rows: at most SCAN_MAX, so the decoded vectors are scanned
    allowed = np.concatenate([keys[pick], [1, 2, 4]])  # plus keys that are not indexed
    want, _ = exact_top(base[pick], keys[pick], q, 10)
    got, _ = ann.search(q, 10, allowed=allowed)
    assert np.isin(got, keys[pick]).all()
    assert recall(got, want) >= 0.97  # only 8-bit rounding separates it from the float scan


def test_allowed_selector_never_leaks_other_keys(ann: VectorIndex, data: tuple[npt.NDArray[np.float32], ...]) -> None:
    _, q = data
    allowed = np.arange(600) * 3 + 7  # the 600 smallest keys: a bitmap selector, with indexed keys above its end
    got, _ = ann.search(q[:50], 10, allowed=allowed)
    assert np.isin(got, allowed).all()


def test_allowed_large_set_uses_ann_and_filters(ann: VectorIndex, data: tuple[npt.NDArray[np.float32], ...]) -> None:
    base, q = data
    keys = np.arange(20_000) * 3 + 7
    pick = np.arange(0, 20_000, 4)  # 5,000 rows: over SCAN_MAX, so an IVF search through a selector
    want, _ = exact_top(base[pick], keys[pick], q, 10)
    got, _ = ann.search(q, 10, allowed=keys[pick])
    assert np.isin(got, keys[pick]).all()
    assert recall(got, want) >= 0.9


def test_allowed_mostly_unknown_keys_retries_wider(ann: VectorIndex, data: tuple[npt.NDArray[np.float32], ...]) -> None:
    base, q = data
    keys = np.arange(20_000) * 3 + 7
    pick = np.arange(0, 20_000, 8)  # 2,500 indexed keys hidden among 60,000 unknown ones
    allowed = np.concatenate([keys[pick], np.arange(60_000) * 3 + 8])
    want, _ = exact_top(base[pick], keys[pick], q[:50], 10)
    got, _ = ann.search(q[:50], 10, allowed=allowed)
    assert np.isin(got, keys[pick]).all()
    assert recall(got, want) >= 0.9


def test_allowed_keys_too_rare_for_the_probed_lists(
    ann: VectorIndex, data: tuple[npt.NDArray[np.float32], ...]
) -> None:
    _, q = data
    keys = np.arange(20_000) * 3 + 7
    allowed = np.concatenate([keys[[1, 5_000, 10_000, 15_000, 19_999]], np.arange(3_000) * 3 + 8])
    got, scores = ann.search(q[0], 10, allowed=allowed)  # 3,005 keys: a filtered IVF search, 5 of them indexed
    assert sorted(got.tolist()) == sorted(keys[[1, 5_000, 10_000, 15_000, 19_999]].tolist())
    assert np.all(np.diff(scores) <= 0)


def test_ann_trains_again_when_it_has_grown() -> None:
    base = clustered(1_000, seed=9)
    index = VectorIndex.open(None, DIM, exact_below=100)
    index.add(np.arange(150), base[:150])
    assert index.info()["trained_on"] == 150
    index.add(np.arange(150, 400), base[150:400])
    assert index.info()["trained_on"] == 150  # 400 < 4 x 150: new vectors go into the trained lists
    index.add(np.arange(400, 1_000), base[400:])
    info = index.info()
    assert info["trained_on"] == 1_000 and info["count"] == 1_000 and info["index"] == "IVF25,SQ8"
    top, _ = index.search(base[123], 1)
    assert top.tolist() == [123]


def test_allowed_edge_cases() -> None:
    base = clustered(50, seed=5)
    index = VectorIndex.open(None, DIM)
    index.add(np.arange(50), base)
    assert index.search(base[0], 5, allowed=np.array([], np.int64))[0].size == 0
    keys, scores = index.search(base[0], 5, allowed=np.array([3, 4, 77]))
    assert sorted(keys.tolist()) == [3, 4] and scores.shape == (2,)
    batch_keys, batch_scores = index.search(base[:2], 5, allowed=np.array([3, 4]))
    assert batch_keys.shape == (2, 5) and (batch_keys[:, 2:] == -1).all() and np.isneginf(batch_scores[:, 2:]).all()


def test_empty_index(tmp_path: Path) -> None:
    index = VectorIndex.open(tmp_path / "vectors", DIM)
    assert len(index) == 0 and index.keys().size == 0
    keys, scores = index.search(np.ones(DIM, np.float32), 10)
    assert keys.shape == (0,) and scores.shape == (0,)
    assert index.search(np.ones((3, DIM), np.float32), 10)[0].shape == (3, 0)
    index.remove(np.array([1]))
    with pytest.raises(KeyError):
        index.get(np.array([1]))
    index.save()
    assert len(VectorIndex.open(tmp_path / "vectors", DIM)) == 0


@pytest.mark.parametrize("exact_below", [10_000, 100])
def test_save_and_reopen(tmp_path: Path, exact_below: int) -> None:
    base, q = clustered(500, seed=6), clustered(5, seed=7)
    path = tmp_path / "data" / "vectors"
    index = VectorIndex.open(path, DIM, exact_below=exact_below)
    index.add(np.arange(500) + 1_000, base)
    index.set_meta("model", "minilm")
    index.set_meta("seq", 41)
    index.save()
    before = index.search(q, 10)

    again = VectorIndex.open(path, DIM, exact_below=exact_below)
    assert again.mode == index.mode and len(again) == 500
    assert again.get_meta("model") == "minilm" and again.get_meta("seq") == 41 and again.get_meta("nope") is None
    after = again.search(q, 10)
    assert np.array_equal(after[0], before[0])
    np.testing.assert_allclose(after[1], before[1], atol=1e-6)

    again.remove(np.arange(1_000, 1_010))
    again.add(np.array([5]), base[:1])
    again.set_meta("seq", 42)
    again.save()
    third = VectorIndex.open(path, DIM, exact_below=exact_below)
    assert len(third) == 491 and 1_000 not in third and 5 in third and third.get_meta("seq") == 42
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(
        ["vectors.meta.json"]
        + (["vectors.2.faiss"] if third.mode == "ann" else ["vectors.2.keys.npy", "vectors.2.vectors.npy"])
    )


def test_meta_only_save_keeps_generation(tmp_path: Path) -> None:
    index = VectorIndex.open(tmp_path / "v", DIM)
    index.add(np.arange(3), clustered(3))
    index.save()
    index.set_meta("seq", 1)
    index.save()
    manifest = json.loads((tmp_path / "v.meta.json").read_text())
    assert manifest["generation"] == 1 and manifest["user"] == {"seq": 1} and manifest["dim"] == DIM


def test_reopen_with_other_dim_or_broken_files(tmp_path: Path) -> None:
    index = VectorIndex.open(tmp_path / "v", DIM)
    index.add(np.arange(3), clustered(3))
    index.save()
    with pytest.raises(StoreError, match="64-d"):
        VectorIndex.open(tmp_path / "v", 32)
    (tmp_path / "v.1.keys.npy").write_bytes(b"not an array")
    with pytest.raises(StoreError):
        VectorIndex.open(tmp_path / "v", DIM)


def test_in_memory_save_is_a_no_op() -> None:
    index = VectorIndex.open(None, DIM)
    index.add(np.arange(3), clustered(3))
    index.save()
    assert len(index) == 3


@pytest.mark.parametrize(
    ("keys", "vectors"),
    [
        (np.arange(2), np.ones((3, DIM), np.float32)),  # count mismatch
        (np.arange(2), np.ones((2, DIM + 1), np.float32)),  # wrong dim
        (np.arange(2), np.zeros((2, DIM), np.float32)),  # zero vector has no direction
        (np.arange(1), np.full((1, DIM), np.nan, np.float32)),
        (np.array([1.5]), np.ones((1, DIM), np.float32)),  # keys must be integers
        (np.array([-1]), np.ones((1, DIM), np.float32)),  # -1 pads batch results
    ],
)
def test_add_rejects_bad_input(keys: npt.NDArray[np.generic], vectors: npt.NDArray[np.float32]) -> None:
    with pytest.raises(ValueError):
        VectorIndex.open(None, DIM).add(keys, vectors)


def test_query_of_wrong_dim() -> None:
    with pytest.raises(ValueError):
        VectorIndex.open(None, DIM).search(np.ones(DIM + 1, np.float32), 3)


def test_crash_before_the_manifest_keeps_the_previous_generation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = clustered(20, seed=8)
    index = VectorIndex.open(tmp_path / "v", DIM)
    index.add(np.arange(10), base[:10])
    index.set_meta("seq", 1)
    index.save()
    index.add(np.arange(10, 20), base[10:])
    index.set_meta("seq", 2)
    real_replace = os.replace

    def crash_on_manifest(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if str(dst).endswith(".meta.json"):
            raise OSError("power cut")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_manifest)
    with pytest.raises(OSError, match="power cut"):
        index.save()
    monkeypatch.setattr(os, "replace", real_replace)

    survivor = VectorIndex.open(tmp_path / "v", DIM)
    assert len(survivor) == 10 and survivor.get_meta("seq") == 1
    survivor.save()  # nothing changed: no new generation
    index.save()  # the writer retries and wins; the orphaned files of the failed attempt are gone
    assert len(VectorIndex.open(tmp_path / "v", DIM)) == 20
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp") or ".1." in p.name]
