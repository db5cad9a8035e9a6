"""paperfeed's storage layer: the only code that speaks SQL, on SQLite (embedded default) or PostgreSQL."""

from paperfeed.errors import StoreError
from paperfeed.store.core import Store, UpsertResult, utcnow

__all__ = ["Store", "UpsertResult", "open_store", "utcnow"]


def open_store(url: str, *, migrate: bool = False) -> Store:
    """Open the store at ``url``; with ``migrate`` apply pending migrations, else refuse an out-of-date schema.

    Without ``migrate`` a SQLite store that does not exist is refused before anything is opened: connecting would
    create an empty database file, and a command that only reads must leave nothing behind."""
    store = Store(url)
    if not migrate and store.db.path is not None and not store.db.path.exists():
        store.close()
        raise StoreError(
            f"there is no store at {store.db.path}: run `paperfeed init` to create it "
            "(or `paperfeed demo` to load the demo corpus into it)"
        )
    try:
        if migrate:
            store.migrate()
        store.check()
    except BaseException:
        store.close()
        raise
    return store
