"""The library in a real browser: a newcomer with nothing saved is offered an import, imports a list, tags and
filters their library, saves from the daily feed with the keyboard alone, rates a paper, and makes a public
collection whose page, feed and export links work. Chromium drives the app over a copy of the demo store; a console
error, failed request or dialog fails the test."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from browser_support import BROWSER, build_demo_store, new_context, serving
from paperfeed.store import open_store
from web_support import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = BROWSER
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


def navigate(page: Page, target: Locator) -> None:
    """Click something that loads a new page, and wait until that page has loaded (scripts included): leaving a
    page whose scripts are still loading is a failed request, which the watch reports."""
    with page.expect_navigation(wait_until="load"):
        target.click()


def test_a_newcomer_builds_a_library_and_a_public_collection(browser: Browser, tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    data_dir.mkdir()
    store_url = build_demo_store(data_dir)
    with open_store(store_url) as store:
        day = store.latest_feed_day()
        assert day
        ids = [p.id for p in store.papers_on_day(day, limit=10)]
    with serving(data_dir, store_url) as base:
        context, watch = new_context(browser, base)
        page = context.new_page()
        page.goto("/signup")
        page.get_by_label(re.compile(r"^Name")).fill("newcomer")
        page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
        navigate(page, page.get_by_role("button", name="Sign up"))
        page.wait_for_url(f"{base}/")

        # Nothing saved yet: the library offers an import and categories instead of an empty page.
        navigate(page, page.get_by_role("link", name="Library", exact=True))
        expect(page.get_by_role("heading", name="Start your library in a minute")).to_be_visible()
        assert page.locator(".library-start a.tag").count() >= 1
        navigate(page, page.locator(".library-start").get_by_role("link", name=re.compile("^Import")))
        page.wait_for_url("**/library/import")

        # Import three demo papers by id or link and one unknown id: the report lists both.
        listing = f"{ids[0]}\nhttps://arxiv.org/abs/{ids[1]}v1\narXiv:{ids[2]}\n2699.99999\n"
        page.get_by_label(re.compile("or paste BibTeX")).fill(listing)
        page.get_by_label(re.compile("^Tag everything imported")).fill("imported")
        navigate(page, page.get_by_role("button", name="Import"))
        expect(page.locator("#report-h")).to_contain_text("3 matched, 1 not found")
        expect(page.locator(".import-unmatched")).to_contain_text("2699.99999")

        # The library: three papers; tag one, then filter by that tag.
        navigate(page, page.get_by_role("link", name="Go to your library"))
        assert page.locator(".library-item").count() == 3
        first = page.locator(".library-item").first
        first.get_by_label("Add tags").fill("reading group")
        navigate(page, first.get_by_role("button", name="Save changes"))
        page.get_by_label("Tag", exact=True).select_option("reading group")
        navigate(page, page.get_by_role("button", name="Filter"))
        expect(page.locator(".library-item")).to_have_count(1)
        expect(page.locator(".library-item .tag", has_text="reading group")).to_be_visible()

        # Save a fourth paper from the daily feed with the keyboard only.
        page.wait_for_load_state("load")
        page.goto("/")
        button = page.locator(f'form[action="/library/{ids[3]}/save"] button')
        button.focus()
        expect(button).to_be_focused()
        with page.expect_navigation(wait_until="load"):
            page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/")
        expect(page.locator(f'form[action="/library/{ids[3]}/unsave"] button')).to_have_text("★ Saved")

        # On its page: a private "more like this", and a new public collection made with it.
        page.wait_for_load_state("load")
        page.goto(f"/papers/{ids[3]}")
        expect(page.locator(".library-panel")).to_contain_text("Ratings are private")
        navigate(page, page.get_by_role("button", name="More like this"))
        expect(page.get_by_role("button", name="More like this")).to_have_attribute("aria-pressed", "true")
        page.get_by_label("New collection").fill("Week one")
        navigate(page, page.get_by_role("button", name="Create it with this paper"))
        page.wait_for_url(f"{base}/papers/{ids[3]}")
        page.wait_for_load_state("load")
        page.goto("/u/newcomer/collections/week-one")
        expect(page.locator("h1")).to_contain_text("Week one")
        page.locator("summary", has_text="Edit this collection").click()
        page.get_by_role("checkbox", name=re.compile("Public")).check()
        navigate(page, page.get_by_role("button", name="Save", exact=True))
        expect(page.locator("h1 small")).to_contain_text("a public collection by newcomer")
        feed = page.get_by_role("link", name="Atom")
        assert page.request.get(base + str(feed.get_attribute("href"))).ok
        assert page.request.get(f"{base}/u/newcomer/collections/week-one/export.bib").text().startswith("@misc{")
        page.wait_for_load_state("load")
        context.close()
    assert watch.problems() == [], "\n".join(watch.problems())
    shutil.rmtree(data_dir, ignore_errors=True)
