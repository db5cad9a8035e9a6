"""paperfeed's storage layer: the only code that speaks SQL, on SQLite (embedded default) or PostgreSQL."""

from typing import Any

from paperfeed.store.core import Store, UpsertResult, utcnow

__all__ = ["Store", "UpsertResult", "open_store", "utcnow"]


def open_store(url: str, *, migrate: bool = False, **options: Any) -> Store:
    """Open the store at ``url``; with ``migrate`` apply pending migrations, else refuse an out-of-date schema.

    ``options`` (index_dir, embedding_model, cache_dir) tell search where the store's indexes live."""
    store = Store(url, **options)
    try:
        if migrate:
            store.migrate()
        store.check()
    except BaseException:
        store.close()
        raise
    return store
