"""Filtered nearest-neighbour search on pgvector: a filter few papers pass still gets its ``k`` nearest.

HNSW hands back its ``ef_search`` nearest rows before the filter runs; with pgvector 0.8's iterative index scans
the store scans on until ``k`` rows pass. On older pgvector (the suite's default server has 0.6) the answer may be
short, but never wrong: what comes back is always the true nearest among the papers that pass, in order.
"""

from __future__ import annotations

import numpy as np
import pytest

from paperfeed.papers import Paper
from paperfeed.store import Store

DIM = 16
N = 1500


@pytest.fixture
def vectors(store: Store, backend: str) -> np.ndarray:
    if backend != "postgres":
        pytest.skip("pgvector only (SQLite's vectors are a file index, tested in test_search_vectors.py)")
    rare = {i for i in range(0, N, 100)}  # 15 papers in the rare category
    store.upsert_papers(
        [Paper(id=f"2501.{i:05d}", title=f"P{i}", categories=["q-bio.NC" if i in rare else "cs.LG"]) for i in range(N)]
    )
    pks = store.pks_for_ids([f"2501.{i:05d}" for i in range(N)])
    data = np.random.default_rng(7).normal(size=(N, DIM)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    store.put_vectors("m", [(pks[f"2501.{i:05d}"], "h", data[i].tolist()) for i in range(N)])
    store.ensure_vector_index("m", DIM)
    return data


def test_a_rare_category_gets_its_k_nearest(store: Store, vectors: np.ndarray) -> None:
    query = vectors[3] + 0.1
    rare = [i for i in range(0, N, 100)]
    truth = sorted(rare, key=lambda i: -float(vectors[i] @ query) / float(np.linalg.norm(query)))[:10]
    pks = store.pks_for_ids([f"2501.{i:05d}" for i in truth])
    expected = [pks[f"2501.{i:05d}"] for i in truth]
    found = store.vector_search("m", DIM, query.tolist(), 10, categories=["q-bio.NC"], ef_search=20)
    got = [pk for pk, _ in found]
    assert got == expected[: len(got)]  # whatever comes back is right and in order
    sims = [s for _, s in found]
    assert sims == sorted(sims, reverse=True)
    if store._pgvector_iterates():
        assert got == expected  # and with iterative scans nothing is missing
    # unfiltered searches are untouched by the setting
    assert len(store.vector_search("m", DIM, query.tolist(), 10, ef_search=40)) == 10
