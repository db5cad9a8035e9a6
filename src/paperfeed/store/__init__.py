"""paperfeed's storage layer: the only code that speaks SQL, on SQLite (embedded default) or PostgreSQL."""

from paperfeed.store.core import Store, UpsertResult, utcnow

__all__ = ["Store", "UpsertResult", "open_store", "utcnow"]


def open_store(url: str, *, migrate: bool = False) -> Store:
    """Open the store at ``url``; with ``migrate`` apply pending migrations, else refuse an out-of-date schema."""
    store = Store(url)
    try:
        if migrate:
            store.migrate()
        store.check()
    except BaseException:
        store.close()
        raise
    return store
