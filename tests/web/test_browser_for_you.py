"""The home page's blend in a real browser (Debian's chromium through Playwright) over the demo corpus: a member
with a small library moves the control (with JavaScript it applies on change, without it the Apply button does),
the day reorders itself, each paper says why, and the choice is still there on the next visit; a member who tagged
their library sees the tag named as the reason, linked to their library filtered by it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from browser_support import BROWSER, build_demo_store, new_context, recorded_fetcher, serving
from web_support import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = BROWSER
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo with two members: ada upvoted the speech papers of the days before the latest, bea saved them
    tagged "speech"."""
    from paperfeed.community import rules
    from paperfeed.library import saves
    from paperfeed.store import open_store

    data_dir = tmp_path_factory.mktemp("demo-for-you")
    store_url = build_demo_store(data_dir)
    store = open_store(store_url)
    try:
        ada = rules.sign_up(store, "ada", PASSWORD)
        bea = rules.sign_up(store, "bea", PASSWORD)
        latest = store.latest_feed_day()
        assert latest
        for f in store.listed_features("2026-06-01", latest):
            if "speech" in f.title.lower() and f.id not in {x.id for x in store.listed_features(latest, latest)}:
                rules.upvote(store, ada, f.id)
                saves.update(store, bea, f.id, add_tags=["speech"])
    finally:
        store.close()
    with serving(data_dir, store_url, fetch_paper=recorded_fetcher()) as base:
        yield base


def _log_in(page: Page, name: str = "ada") -> None:
    page.goto("/login")
    page.get_by_label("Name or email").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")


def _titles(page: Page) -> list[str]:
    return [t.strip() for t in page.locator(".paper-entry .paper-link").all_inner_texts()]


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_the_blend_reorders_the_home_page_with_reasons(browser: Browser, site: str, javascript: bool) -> None:
    context, watch = new_context(browser, site, java_script_enabled=javascript)
    page = context.new_page()
    _log_in(page)
    page.goto("/")
    community = _titles(page)
    expect(page.get_by_role("group", name="Order: community ↔ personal")).to_be_visible()
    page.get_by_label("Personal").check()
    if not javascript:
        page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_label("Personal")).to_be_checked()
    personal = _titles(page)
    assert personal != community and sorted(personal) != []
    first = page.locator(".paper-entry").first
    expect(first.locator(".for-you-reasons li").first).to_contain_text(re.compile(r"Close to|By |In "))
    first.get_by_text("Score").click()
    expect(first.locator(".why p").last).to_contain_text("community")
    page.goto("/")  # remembered
    expect(page.get_by_label("Personal")).to_be_checked()
    assert _titles(page) == personal
    page.get_by_label("Community").check()
    if not javascript:
        page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state("networkidle")
    assert _titles(page) == community
    context.close()
    assert watch.problems() == [], "\n".join(watch.problems())


def test_a_path_is_kept_when_the_blend_changes(browser: Browser, site: str, tmp_path: Path) -> None:
    context, watch = new_context(browser, site)
    page = context.new_page()
    _log_in(page)
    page.goto("/papers/week/2026-W26")
    page.get_by_label("Half").check()
    page.wait_for_url("**/papers/week/2026-W26")
    expect(page.get_by_label("Half")).to_be_checked()
    context.close()
    assert watch.problems() == [], "\n".join(watch.problems())


def test_the_tag_that_pulled_a_paper_in_links_the_library_by_it(browser: Browser, site: str) -> None:
    context, watch = new_context(browser, site)
    page = context.new_page()
    _log_in(page, "bea")
    page.goto("/for-you")
    reason = page.locator(".paper-entry").first.locator(".for-you-reasons li").first
    expect(reason).to_have_text(re.compile(r"^Close to \d+ papers you tagged speech$"))
    reason.get_by_role("link", name="speech").click()
    page.wait_for_url("**/library?tag=speech")
    expect(page.locator(".tags-cloud a[aria-current=true]")).to_contain_text("speech")
    assert page.locator(".paper-entry").count() > 0
    context.close()
    assert watch.problems() == [], "\n".join(watch.problems())
