"""Fixtures shared by the web tests (pages, members, subscriptions, the JSON API, the Hugging Face client, the
browser): a running site on the test's real store, logged-in members, one embedding cache for the whole run, cheap
password hashing with a frozen rate-limit clock, and the app served over a loopback socket.

The plain helpers that tests call by name (``Browser``, ``Site``, the paper builders, snapshots) are in
web_support.py; the browser machinery shared with scripts/screenshots.py is in browser_support.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from browser_support import launch
from paperfeed.community import rules
from paperfeed.config import load_config
from paperfeed.store import open_store
from paperfeed.web.app import create_app
from web_support import NOW, Browser, FakeArxiv, Site

if TYPE_CHECKING:
    from playwright.sync_api import Browser as Chromium


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters (same rules, a millisecond a hash) and a rate-limit clock frozen at NOW, so the tests
    are fast and never straddle a window boundary."""
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(rules, "_hasher", fast)
    monkeypatch.setattr(rules, "_DUMMY_HASH", fast.hash("dummy"))
    monkeypatch.setattr(rules, "time", SimpleNamespace(time=lambda: NOW))


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    """Debian's chromium, headless and off the network, for one module's browser tests (browser_support.BROWSER)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def embed_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedding cache for the run: each corpus is embedded once, later syncs read its vectors from here."""
    return tmp_path_factory.mktemp("embeddings")


@contextmanager
def running_site(store_url: str, tmp_path: Path, embed_cache: Path, **env: str) -> Iterator[Site]:
    """A running app (start-up done) on the store at ``store_url``; ``env`` adds settings (PAPERFEED_…)."""
    config = load_config(
        env={
            "PAPERFEED_DATA_DIR": str(tmp_path / "data"),
            "PAPERFEED_DATABASE_URL": store_url,
            "PAPERFEED_CACHE_DIR": str(embed_cache),
            **env,
        }
    )
    arxiv = FakeArxiv()
    with open_store(config.store_url) as store:
        app = create_app(config, store=store, fetch_paper=arxiv)
        with TestClient(app):  # runs the app's start-up and shut-down
            yield Site(app, store, arxiv)


@pytest.fixture
def site_with(quick: None, store_url: str, tmp_path: Path, embed_cache: Path) -> Iterator[Callable[..., Site]]:
    """Start a site on the test's store with settings of its own (``PAPERFEED_BASE_URL="https://…"``)."""
    with ExitStack() as stack:

        def start(**env: str) -> Site:
            return stack.enter_context(running_site(store_url, tmp_path, embed_cache, **env))

        yield start


@pytest.fixture
def site(site_with: Callable[..., Site]) -> Site:
    return site_with()


@pytest.fixture
def alice(site: Site) -> Browser:
    """The site's first member (so its admin), logged in."""
    browser = site.browser()
    assert browser.sign_up("alice", "alice@example.org").status_code == 303
    return browser


@pytest.fixture
def bob(site: Site, alice: Browser) -> Browser:
    """The second member, logged in."""
    browser = site.browser()
    assert browser.sign_up("bob").status_code == 303
    return browser
