"""Which indexes belong to a store: search's registry, not the store (on a real store, SQLite or PostgreSQL)."""

from __future__ import annotations

import gc
from pathlib import Path

from paperfeed.search import registry
from paperfeed.search.indexes import indexes_for, open_indexes
from paperfeed.search.registry import SearchSettings, close_indexes, register
from paperfeed.store import Store, open_store


def test_a_store_gets_the_indexes_registered_for_it_once(store: Store, tmp_path: Path) -> None:
    register(store, SearchSettings(tmp_path / "a"))
    first = indexes_for(store)
    assert indexes_for(store) is first and first.index_dir == tmp_path / "a"
    register(store, SearchSettings(tmp_path / "a"))  # the same settings again: nothing changes
    assert indexes_for(store) is first
    register(store, SearchSettings(tmp_path / "b"))  # other settings: the old indexes are closed, new ones open
    second = indexes_for(store)
    assert second is not first and second.index_dir == tmp_path / "b"
    close_indexes(store)  # e.g. the web app shutting down: the settings stay
    third = indexes_for(store)
    assert third is not second and third.index_dir == tmp_path / "b"


def test_a_store_nobody_registered_keeps_its_indexes_beside_it(store: Store) -> None:
    assert indexes_for(store).settings == SearchSettings.beside(store)


def test_indexes_never_keep_their_store_alive(store_url: str, tmp_path: Path) -> None:
    before = len(registry._ENTRIES)
    store = open_store(store_url)
    open_indexes(store, SearchSettings(tmp_path / "index")).keyword  # noqa: B018 - open one index
    assert len(registry._ENTRIES) == before + 1
    store.close()
    del store
    gc.collect()
    assert len(registry._ENTRIES) == before
