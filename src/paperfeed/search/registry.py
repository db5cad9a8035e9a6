"""Which search indexes belong to an open store: search owns that association, not the store.

Whoever opens a store for a door (the CLI, the web app, the worker, an evaluation run, a test) says where its
indexes live with ``register(store, SearchSettings)``; it costs nothing (no index is opened, nothing heavy is
imported). ``indexes.indexes_for(store)`` then opens that store's indexes on first use and every later search of
the same store object reuses them, so the doors keep calling ``search(store, query, limit)``. A store nobody
registered gets its indexes beside its database file (``SearchSettings.beside``).

Entries are weak: nothing here keeps a store alive, and a store's entry (with its opened indexes) goes with it.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import platformdirs

from paperfeed.config import Config
from paperfeed.store import Store


@dataclass(frozen=True)
class SearchSettings:
    """Where a store's search indexes live, which model embeds, and where the embedding cache is."""

    index_dir: Path
    model: str = Config.embedding_model.default
    cache_dir: str | None = None  # None: an in-memory cache (tests, throw-away stores)

    @property
    def embedding_cache_file(self) -> Path | None:
        """The embedding cache's SQLite file (None: the cache is in memory)."""
        return Path(self.cache_dir) / "embeddings.sqlite" if self.cache_dir else None

    @classmethod
    def from_config(cls, config: Config) -> SearchSettings:
        """The configured model and cache; index files beside a SQLite store, else in the data directory."""
        url = config.store_url
        if url.startswith("sqlite:///"):
            db = Path(url.removeprefix("sqlite:///"))
            index_dir = db.parent / f"{db.stem}-index"
        else:
            index_dir = config.data_path / "index"
        return cls(index_dir, config.embedding_model, config.cache_dir)

    @classmethod
    def beside(cls, store: Store) -> SearchSettings:
        """Defaults for a store nobody registered: ``<db>-index`` beside a SQLite file, else a per-URL directory."""
        if store.db.path is not None:
            return cls(store.db.path.parent / f"{store.db.path.stem}-index")
        digest = hashlib.sha1(store.db.url.encode()).hexdigest()[:12]
        return cls(Path(platformdirs.user_data_dir("paperfeed", appauthor=False)) / f"index-{digest}")


class Closable(Protocol):
    def close(self) -> None: ...


@dataclass
class Entry:
    settings: SearchSettings
    opened: Any = None  # the store's SearchIndexes once opened (typed Any: indexes.py builds on this module)


_ENTRIES: weakref.WeakKeyDictionary[Store, Entry] = weakref.WeakKeyDictionary()
LOCK = threading.RLock()  # held while an entry's indexes are opened, so a store gets one set


def register(store: Store, settings: SearchSettings) -> None:
    """Say where ``store``'s indexes live; indexes already opened with other settings are closed first."""
    with LOCK:
        found = _ENTRIES.get(store)
        if found is not None and found.settings == settings:
            return
        close_indexes(store)
        _ENTRIES[store] = Entry(settings)


def entry(store: Store) -> Entry:
    """The store's entry, made with default settings when nobody registered it."""
    with LOCK:
        found = _ENTRIES.get(store)
        if found is None:
            found = _ENTRIES[store] = Entry(SearchSettings.beside(store))
        return found


def close_indexes(store: Store) -> None:
    """Close the store's opened indexes, if any (their settings stay: a later search opens them again)."""
    with LOCK:
        found = _ENTRIES.get(store)
        opened: Closable | None = found.opened if found is not None else None
    if opened is not None:
        opened.close()


def discard(store: Store, opened: object) -> None:
    """Forget ``opened`` as the store's indexes (they are being closed by their owner); the settings stay."""
    with LOCK:
        found = _ENTRIES.get(store)
        if found is not None and found.opened is opened:
            found.opened = None
