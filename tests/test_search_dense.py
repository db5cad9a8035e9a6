"""The file vector index (SQLite deployments) shared by several processes: readers follow commits made elsewhere,
writers never drop each other's vectors. Two ``FileDenseIndex`` on one path stand for two processes (a web node and
``paperfeed index`` or the worker): each has its own copy in memory, as separate processes do."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from paperfeed.search import dense
from paperfeed.search.dense import FileDenseIndex
from paperfeed.store import Store, open_store

DIM = 4


def unit(*values: float) -> np.ndarray:
    v = np.array([values], dtype=np.float32)
    return v / np.linalg.norm(v)


@pytest.fixture(autouse=True)
def reload_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dense, "RELOAD_SECONDS", 0.0)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Store:
    return open_store(f"sqlite:///{tmp_path / 'paperfeed.db'}", migrate=True)


def test_a_reader_follows_another_process_commits(sqlite_store: Store, tmp_path: Path) -> None:
    web = FileDenseIndex(sqlite_store, tmp_path / "vectors", "m", DIM)
    worker = FileDenseIndex(sqlite_store, tmp_path / "vectors", "m", DIM)
    assert web.nearest(unit(1, 0, 0, 0)[0], 5) == []
    worker.apply([7], ["h7"], unit(1, 0, 0, 0), [], 3)
    assert web.wait_for_reload(30)
    assert [key for key, _ in web.nearest(unit(1, 0, 0, 0)[0], 5)] == [7]
    assert web.applied_seq() == 3 and web.vector_of(7) is not None
    worker.apply([], [], np.zeros((0, DIM), np.float32), [7], 4)  # a deletion elsewhere reaches the reader too
    assert web.wait_for_reload(30)
    assert web.nearest(unit(1, 0, 0, 0)[0], 5) == [] and web.applied_seq() == 4


def test_two_writers_keep_each_others_vectors(sqlite_store: Store, tmp_path: Path) -> None:
    first = FileDenseIndex(sqlite_store, tmp_path / "vectors", "m", DIM)
    second = FileDenseIndex(sqlite_store, tmp_path / "vectors", "m", DIM)  # opened before the first one wrote
    first.apply([1], ["h1"], unit(1, 0, 0, 0), [], 5)
    second.apply([2], ["h2"], unit(0, 1, 0, 0), [], 3)  # a slower writer, further behind in the store's changes
    fresh = FileDenseIndex(sqlite_store, tmp_path / "vectors", "m", DIM)
    assert fresh.vectors_of([1, 2])[1].tolist() == [True, True]
    assert fresh.applied_seq() == 5  # progress never moves back
    assert first.wait_for_reload(30) and first.vectors_of([1, 2])[1].all()


def test_a_deleted_index_directory_is_followed_too(sqlite_store: Store, tmp_path: Path) -> None:
    web = FileDenseIndex(sqlite_store, tmp_path / "index" / "vectors", "m", DIM)
    FileDenseIndex(sqlite_store, tmp_path / "index" / "vectors", "m", DIM).apply([1], ["h"], unit(1, 1, 0, 0), [], 2)
    assert web.wait_for_reload(30) and web.info()["count"] == 1
    for path in (tmp_path / "index").iterdir():
        path.unlink()
    assert web.wait_for_reload(30) and web.info()["count"] == 0 and web.applied_seq() == 0
