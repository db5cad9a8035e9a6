"""The double opt-in in a real browser on a site without a mail server: the subscribe page says what became of the
confirmation mail (kept in the local outbox, or not sent and why), and the outbox's link completes it.

Each test serves its own small store with uvicorn on loopback and drives Debian's chromium through Playwright;
screenshots of the pages go to the test's directory (``PAPERFEED_SHOTS`` names another) for a person to look at.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from browser_support import BROWSER, free_port, live, new_context
from paperfeed.config import load_config
from paperfeed.store import open_store
from web_support import PASSWORD, paper

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = BROWSER
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@contextmanager
def site(store_url: str, tmp_path: Path, **env: str) -> Iterator[str]:
    from paperfeed.web.app import create_app

    port = free_port()
    config = load_config(
        env={
            "PAPERFEED_DATA_DIR": str(tmp_path / "data"),
            "PAPERFEED_DATABASE_URL": store_url,
            "PAPERFEED_CACHE_DIR": str(tmp_path / "cache"),
            "PAPERFEED_BASE_URL": f"http://127.0.0.1:{port}",
            "PAPERFEED_SECRET_KEY": "browser-test-secret",
            "PAPERFEED_LOG_LEVEL": "WARNING",
            **env,
        }
    )
    with open_store(store_url) as store:
        store.upsert_papers([paper("2610.50001", "Gaussian splatting for rooms", "2026-10-05")])
    with live(create_app(config), port) as base:
        yield base


def shot(page: Page, tmp_path: Path, name: str) -> None:
    folder = Path(os.environ.get("PAPERFEED_SHOTS") or tmp_path)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def subscribe(page: Page, email: str) -> None:
    page.goto("/papers/date/2026-10-05")
    page.fill("#subscribe-email", email)
    page.select_option("#subscribe-frequency", "weekly")
    page.click("form.subscribe button[type=submit]")
    page.wait_for_url(re.compile(r"/subscribe$"))
    page.wait_for_load_state()


def test_the_outbox_completes_the_double_opt_in(browser: Browser, store_url: str, tmp_path: Path) -> None:
    with site(store_url, tmp_path, PAPERFEED_MAIL_TRANSPORT="outbox") as base:
        context, watch = new_context(browser, base)
        page = context.new_page()
        subscribe(page, "reader@example.org")
        expect(page.locator("h1")).to_have_text("Confirm in the outbox")
        expect(page.locator("main")).not_to_contain_text("We sent")
        shot(page, tmp_path, "subscribed-outbox")
        page.click("text=open the outbox")
        expect(page.locator(".outbox-message h2")).to_contain_text("Confirm")
        expect(page.locator(".outbox-message")).to_contain_text("reader@example.org")
        shot(page, tmp_path, "outbox")
        page.click(".outbox-links a[href*='/subscribe/confirm']")
        expect(page.locator("main")).to_contain_text("Subscription confirmed")
        context.close()
        assert watch.problems() == [], "\n".join(watch.problems())
    with open_store(store_url) as store:
        subscriber = store.subscriber_by_email("reader@example.org")
        assert subscriber is not None and (subscriber.status, subscriber.frequency) == ("active", "weekly")


def test_no_mail_server_is_said_so(browser: Browser, store_url: str, tmp_path: Path) -> None:
    with site(store_url, tmp_path, PAPERFEED_SMTP_HOST="127.0.0.1", PAPERFEED_SMTP_PORT=str(free_port())) as base:
        context, watch = new_context(browser, base)
        page = context.new_page()
        subscribe(page, "reader@example.org")
        expect(page.locator("h1")).to_have_text("The confirmation mail could not be sent")
        expect(page.locator("[role=alert]")).to_contain_text("could not be reached")
        expect(page.locator("main")).not_to_contain_text("We sent")
        shot(page, tmp_path, "subscribed-unsent")
        context.close()
        assert watch.problems() == [], "\n".join(watch.problems())


def test_settings_say_pending_until_confirmed(browser: Browser, store_url: str, tmp_path: Path) -> None:
    with site(store_url, tmp_path, PAPERFEED_MAIL_TRANSPORT="outbox") as base:
        context, watch = new_context(browser, base)
        page = context.new_page()
        page.goto("/signup")
        page.get_by_label(re.compile(r"^Name")).fill("ada")
        page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
        page.get_by_role("button", name="Sign up").click()
        page.wait_for_load_state()
        subscribe(page, "ada@example.org")
        page.goto("/settings#subscriptions")
        status = page.locator(".subscription-status")
        expect(status).to_have_text("Pending confirmation")
        expect(page.locator("#subscriptions")).to_contain_text("Nothing is sent to this address until")
        shot(page, tmp_path, "settings-pending")
        # Subscribing the address again from settings (the address alone) keeps the weekly digest.
        page.fill("#new-sub-email", "ada@example.org")
        page.click("#subscriptions form.inline-form button[type=submit]")
        page.wait_for_url(re.compile(r"/subscribe$"))
        page.wait_for_load_state()
        page.goto("/settings#subscriptions")
        expect(page.locator("select[name=frequency]")).to_have_value("weekly")
        page.goto("/outbox")
        page.locator(".outbox-links a[href*='/subscribe/confirm']").first.click()
        expect(page.locator("main")).to_contain_text("Subscription confirmed")
        page.wait_for_load_state()
        page.goto("/settings#subscriptions")
        expect(status).to_have_text("Active")
        context.close()
        assert watch.problems() == [], "\n".join(watch.problems())
