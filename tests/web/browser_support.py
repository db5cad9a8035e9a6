"""Machinery for driving paperfeed's web app in a real browser: a demo store, a live server, a watched browser.

Shared by tests/web/test_browser.py and scripts/screenshots.py, so the screenshots in the docs show exactly the app the
browser tests check. Everything here is local: the demo store is built by the CLI from the bundled corpus, the
server listens on a free loopback port, "arXiv" is a recorded API response, and the browser is Debian's chromium
(Playwright cannot download its own here), told to stay off the network.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from paperfeed.config import Config, load_config
from paperfeed.papers import Paper

if TYPE_CHECKING:
    from fastapi import FastAPI
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Dialog,
        Page,
        Playwright,
        Request,
        Response,
        Route,
    )

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update"]
FIXTURES = Path(__file__).parents[1] / "fixtures"
# A recorded arXiv API answer for a paper the demo corpus does not hold: what /submit "fetches".
SUBMIT_FIXTURE = FIXTURES / "arxiv_api" / "arxiv.py_2026" / "bodies" / "id_1605.08386_s0_m100_199195aa31ad.xml"
SUBMIT_ID = "1605.08386"


def have_chromium() -> bool:
    return CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)


# A browser test module's ``pytestmark``; its ``browser`` fixture (tests/web/conftest.py) is chromium.
BROWSER = [
    pytest.mark.browser,
    pytest.mark.skipif(not have_chromium(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


def build_demo_store(data_dir: Path) -> str:
    """Build the demo store in ``data_dir`` with the CLI (as a newcomer would) and return its store URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERFEED_")}
    # The embedding cache would otherwise land in the user's cache dir.
    env["PAPERFEED_CACHE_DIR"] = str(data_dir / "cache")
    done = subprocess.run(
        [sys.executable, "-m", "paperfeed", "--data-dir", str(data_dir), "demo", "--no-serve", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"paperfeed demo failed ({done.returncode}): {done.stderr[-2000:]}")
    return str(json.loads(done.stdout)["store"])


def demo_config(data_dir: Path, store_url: str, base_url: str = "http://127.0.0.1:8000") -> Config:
    return load_config(
        env={
            "PAPERFEED_DATA_DIR": str(data_dir),
            "PAPERFEED_DATABASE_URL": store_url,
            "PAPERFEED_CACHE_DIR": str(data_dir / "cache"),
            "PAPERFEED_BASE_URL": base_url,
            "PAPERFEED_SECRET_KEY": "browser-test-secret",
            "PAPERFEED_LOG_LEVEL": "WARNING",
        }
    )


def recorded_fetcher(fixture: Path = SUBMIT_FIXTURE) -> Callable[[str], Paper | None]:
    """A ``fetch_paper`` for create_app that answers from a recorded arXiv API response instead of the network."""
    from paperfeed.sources.arxiv_api import parse_api_feed

    papers = {item.id: item for item in parse_api_feed(fixture.read_bytes()).items if isinstance(item, Paper)}

    def fetch(paper_id: str) -> Paper | None:
        return papers.get(paper_id)

    return fetch


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live(app: FastAPI, port: int | None = None) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a loopback port, start-up done; yields its base URL."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", proxy_headers=False)
    )
    thread = threading.Thread(target=server.run, name="paperfeed-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the web server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serving(data_dir: Path, store_url: str, fetch_paper: Callable[[str], Paper | None] | None = None) -> Iterator[str]:
    """Serve the app over the store with uvicorn in a thread; yields its base URL (http://127.0.0.1:PORT)."""
    from paperfeed.web.app import create_app

    port = free_port()
    app = create_app(
        demo_config(data_dir, store_url, f"http://127.0.0.1:{port}"), fetch_paper=fetch_paper or recorded_fetcher()
    )
    with live(app, port) as base:
        yield base


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)


@dataclass
class Watch:
    """What went wrong in a browser context: console errors, page errors, failed requests, dialogs, escapes."""

    base: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return [
            *(f"console error: {m}" for m in self.console_errors),
            *(f"page error: {m}" for m in self.page_errors),
            *(f"failed request: {m}" for m in self.failed_requests),
            *(f"dialog opened: {m}" for m in self.dialogs),
            *(f"request left the server: {m}" for m in self.blocked),
        ]

    def attach(self, context: BrowserContext) -> None:
        """Record trouble on every page of ``context``; abort (and record) any request not to our server."""
        origin = urlsplit(self.base).netloc

        def route(route: Route, request: Request) -> None:
            parts = urlsplit(request.url)
            if parts.scheme in ("data", "blob") or parts.netloc == origin:
                route.continue_()
            else:
                self.blocked.append(request.url)
                route.abort()

        context.route("**/*", route)
        context.on("page", self.watch_page)
        for page in context.pages:
            self.watch_page(page)

    def watch_page(self, page: Page) -> None:
        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.console_errors.append(f"{page.url}: {message.text}")

        def on_failed(request: Request) -> None:
            # The browser asks for the tab icon after the load event; leaving the page then cancels it, harmlessly.
            if request.failure == "net::ERR_ABORTED" and "/favicon" in request.url:
                return
            self.failed_requests.append(f"{request.method} {request.url} (on {page.url}): {request.failure}")

        def on_dialog(dialog: Dialog) -> None:
            self.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        def on_response(response: Response) -> None:
            if response.status >= 400 and response.request.resource_type != "document":
                self.failed_requests.append(f"{response.request.method} {response.url}: HTTP {response.status}")

        page.on("console", on_console)
        page.on("response", on_response)
        page.on("pageerror", lambda error: self.page_errors.append(f"{page.url}: {error}"))
        page.on("requestfailed", on_failed)
        page.on("dialog", on_dialog)


def new_context(browser: Browser, base: str, **options: Any) -> tuple[BrowserContext, Watch]:
    """A fresh browser context (its own cookies) on ``base``, watched; options go to ``browser.new_context``."""
    options.setdefault("viewport", {"width": 1280, "height": 900})
    # The copy button only shows where the clipboard API exists; granting it keeps the page as a user sees it.
    context = browser.new_context(base_url=base, permissions=["clipboard-read", "clipboard-write"], **options)
    watch = Watch(base)
    watch.attach(context)
    return context, watch


def math_paper(store_url: str, days: int = 1) -> tuple[str, str]:
    """A paper (id, title) with inline TeX ($…$) in its title, from the latest ``days`` feed days: the one whose
    abstract holds the most math. Found by a store query, so it works on whatever corpus the store holds."""
    from paperfeed.store import open_store

    store = open_store(store_url)
    try:
        best: tuple[int, str, str] | None = None
        day = store.latest_feed_day()
        for _ in range(days):
            if day is None:
                break
            for paper in store.papers_on_day(day, limit=2000):
                if paper.title.count("$") >= 2 and (best is None or paper.abstract.count("$") > best[0]):
                    best = (paper.abstract.count("$"), paper.id, paper.title)
            day = store.feed_day_near(day, -1)
        if best is None:
            raise LookupError(f"no paper with $…$ in its title in the latest {days} feed days")
        return best[1], best[2]
    finally:
        store.close()


def tex_word_paper(store_url: str, days: int = 60) -> tuple[str, str, str]:
    """A paper (id, title, word) whose title has a TeX command of four or more letters (e.g. ``\\mathbb``) inside
    ``$…$``: a search for that word finds it inside the math."""
    from paperfeed.store import open_store

    store = open_store(store_url)
    try:
        day = store.latest_feed_day()
        for _ in range(days):
            if day is None:
                break
            for paper in store.papers_on_day(day, limit=2000):
                found = re.search(r"\$[^$]*\\([A-Za-z]{4,})[^$]*\$", paper.title)
                if found:
                    return paper.id, paper.title, found.group(1)
            day = store.feed_day_near(day, -1)
        raise LookupError(f"no paper with a TeX command in its title in the latest {days} feed days")
    finally:
        store.close()
