"""Shared test fixtures: a real store on SQLite (default) or PostgreSQL.

PostgreSQL runs when the tests are given one: ``PAPERFEED_TEST_PG_URL=postgresql://…`` (a server whose user may
create databases), or ``PAPERFEED_TEST_PG=start`` to start a throw-away PostgreSQL 16 with pgvector through the
``pgserver`` package. Each test then gets a fresh database of its own.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from paperfeed.store import Store, open_store
from support import fresh_store_url

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _pg_requested() -> bool:
    return bool(os.environ.get("PAPERFEED_TEST_PG_URL") or os.environ.get("PAPERFEED_TEST_PG"))


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str | None]:
    """The URL of a PostgreSQL server to create test databases on, or None when the suite runs on SQLite."""
    if not _pg_requested():
        yield None
        return
    url = os.environ.get("PAPERFEED_TEST_PG_URL")
    if url:
        yield url
        return
    import pgserver

    root = tempfile.mkdtemp(prefix="paperfeed-pg-")
    server = pgserver.get_server(root, cleanup_mode="stop")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def store_url(pg_server_url: str | None, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty, migrated store for one test."""
    with fresh_store_url(pg_server_url, tmp_path) as url:
        yield url


@pytest.fixture(scope="module")
def module_store_url(pg_server_url: str | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Like ``store_url``, once for a module whose tests only read, so they share one store."""
    with fresh_store_url(pg_server_url, tmp_path_factory.mktemp("store")) as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as s:
        yield s


@pytest.fixture
def backend(store_url: str) -> str:
    return "sqlite" if store_url.startswith("sqlite") else "postgres"
