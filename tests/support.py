"""Plain helpers the tests import by name: where the recorded fixtures are, a fake clock for the polite client, and
a fresh store on either backend (the conftest's store fixtures are made with it).

They live here, not in conftest.py, because tests/ and tests/web/ each have a conftest.py: both are imported as the
module ``conftest``, so ``from conftest import …`` found whichever was imported first when the two folders ran in
one pytest call. Fixtures stay in the conftests; names to import live in support.py (and tests/web/web_support.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from paperfeed.store import open_store

FIXTURES = Path(__file__).parent / "fixtures"


class FakeTime:
    """Clock and sleep for PoliteClient: sleeping advances the clock and is recorded, never waited."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def _with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    base = base.rsplit("/", 1)[0] + "/" + name
    return f"{base}?{query}" if query else base


@contextmanager
def fresh_store_url(pg_server_url: str | None, directory: Path) -> Iterator[str]:
    """A URL of an empty, migrated store: a SQLite file in ``directory``, or a PostgreSQL database of its own."""
    if pg_server_url is None:
        url = f"sqlite:///{directory / 'paperfeed.db'}"
        open_store(url, migrate=True).close()
        yield url
        return
    import psycopg

    name = "pf_test_" + uuid.uuid4().hex[:12]
    with psycopg.connect(pg_server_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = _with_database(pg_server_url, name)
    open_store(url, migrate=True).close()
    try:
        yield url
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
