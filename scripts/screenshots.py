"""Regenerate the screenshots in docs/screenshots/ from the real app in a real browser.

Builds the demo store in a temporary directory (as ``paperfeed demo`` does), gives it a little community life
(a few members, upvotes, comments with Markdown and math) so trending and the paper page have something to show,
serves it on a free loopback port and drives Debian's chromium through the pages:

    python scripts/screenshots.py --out docs/screenshots

Writes home-light.png, home-dark.png, trending.png, search.png, paper.png, phone-home.png, library.png and
collection.png (a member's library and one of their public collections; desktop shots at 1280x900) and
digest.png (a subscriber's digest email as `paperfeed digest preview` renders it, shown at a mail
client's width). Nothing leaves the machine: the browser may only talk to the local server.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery"
SEARCH = "gaussian splatting"
MAX_BYTES = 400_000
# (member, comment) on the math paper: what a discussion there might look like, Markdown and TeX included.
COMMENTS = [
    ("grace", "The bound in the second theorem is **tight** for small $q$; does it extend to $q = 2^m$?"),
    (
        "alan",
        "Nice construction. A quick sanity check of the first case:\n\n- $n = 8$: matches Table 2\n- `n = 16`: too",
    ),
]
MEMBERS = ["ada", "grace", "alan", "emmy", "kurt"]


def seed_community(store_url: str, math_id: str) -> None:
    """Members, votes spread over the latest day's papers, and a discussion on the math paper."""
    from paperfeed.community import rules
    from paperfeed.store import open_store

    store = open_store(store_url)
    try:
        users = {name: rules.sign_up(store, name, PASSWORD) for name in MEMBERS}
        day = store.latest_feed_day()
        papers = [p.id for p in store.papers_on_day(day, limit=40)] if day else []
        picks = [math_id, *papers[:12]]
        for rank, paper_id in enumerate(picks):
            # A long tail: the first few papers get most votes, as on any real feed.
            for voter in MEMBERS[: max(1, len(MEMBERS) - rank // 2)]:
                rules.upvote(store, users[voter], paper_id)
        for name, text in COMMENTS:
            rules.comment(store, users[name], math_id, text)
        for paper_id in papers[1:4]:
            rules.comment(store, users["emmy"], paper_id, "Code is out; the results reproduce on one GPU.")
    finally:
        store.close()


LIBRARY_TAGS = ["3d", "to cite", "reading group", "baselines"]


def seed_library(store_url: str) -> str:
    """ada's library: a dozen saved papers of the latest day, tagged, some read, with notes and ratings, and a public
    collection of five in a hand-made order; returns the collection's path."""
    from paperfeed.community import rules
    from paperfeed.library import collections, saves
    from paperfeed.store import open_store

    store = open_store(store_url)
    try:
        ada = store.user_by_name("ada")
        assert ada is not None
        day = store.latest_feed_day()
        papers = [p.id for p in store.papers_on_day(day, limit=40)] if day else []
        for i, paper_id in enumerate(papers[2:14]):
            saves.update(
                store,
                ada,
                paper_id,
                add_tags=[LIBRARY_TAGS[i % len(LIBRARY_TAGS)], *(["3d"] if i % 3 == 0 else [])],
                state="read" if i % 4 == 1 else "to-read",
                note="Compare with our ablation in §4" if i == 0 else "",
            )
        for paper_id in papers[2:5]:
            saves.rate(store, ada, paper_id, 1)
        col = collections.create(
            store,
            ada,
            "Reading group: 3D scenes",
            public=True,
            description="Papers for the Tuesday reading group, in the order we read them.",
        )
        collections.add(store, ada, col.id, papers[2:7])
        collections.move(store, ada, col.id, papers[6], -3)
        rules.upvote(store, ada, papers[2])
        return f"/u/ada/collections/{col.slug}"
    finally:
        store.close()


def library_shots(browser: Browser, base: str, out: Path, collection: str) -> list[str]:
    """The library page and a public collection's page, as ada sees them."""
    from browser_support import new_context

    context, watch = new_context(browser, base)
    page = context.new_page()
    _log_in(page, "ada")
    page.goto("/library")
    _settle(page)
    _save(page, out / "library.png", full_height=1400)
    page.goto(collection)
    _settle(page)
    _save(page, out / "collection.png", full_height=1400)
    context.close()
    return watch.problems()


def _save(page: Page, path: Path, *, full_height: int | None = None) -> None:
    if full_height:
        height = min(full_height, int(page.evaluate("document.documentElement.scrollHeight")))
        width = int(page.evaluate("window.innerWidth"))
        page.screenshot(path=str(path), full_page=True, clip={"x": 0, "y": 0, "width": width, "height": height})
    else:
        page.screenshot(path=str(path))
    size = path.stat().st_size
    print(f"{path.name:<18} {size / 1024:6.0f} KB")
    if size > MAX_BYTES:
        print(f"  warning: {path.name} is over {MAX_BYTES // 1000} KB", file=sys.stderr)


def _settle(page: Page) -> None:
    page.wait_for_load_state("networkidle")
    page.evaluate("document.fonts.ready.then(() => true)")


def _log_in(page: Page, name: str) -> None:
    page.goto("/login")
    page.get_by_label("Name or email").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")


def take(browser: Browser, base: str, out: Path, math_id: str) -> list[str]:
    """Every screenshot; returns what went wrong in the browser (console errors, failed or escaping requests)."""
    from browser_support import new_context

    problems: list[str] = []
    shots = [
        ("home-light.png", "light", "/"),
        ("home-dark.png", "dark", "/"),
        ("trending.png", "light", "/papers/trending"),
        ("search.png", "light", f"/search?q={SEARCH.replace(' ', '+')}"),
    ]
    for name, scheme, path in shots:
        context, watch = new_context(browser, base, color_scheme=scheme)
        page = context.new_page()
        page.goto(path)
        _settle(page)
        _save(page, out / name)
        context.close()
        problems += watch.problems()

    # The paper page as a member who upvoted it sees it: math rendered, the discussion, the comment box.
    context, watch = new_context(browser, base)
    page = context.new_page()
    _log_in(page, "grace")
    page.goto(f"/papers/{math_id}")
    _settle(page)
    bottom = page.locator("#comments").evaluate("el => el.getBoundingClientRect().bottom + window.scrollY")
    _save(page, out / "paper.png", full_height=int(bottom) + 24)
    context.close()
    problems += watch.problems()

    problems += digest_shot(browser, base, out)
    problems += library_shots(browser, base, out, LIBRARY_COLLECTION[0])

    context, watch = new_context(
        browser, base, viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.goto("/")
    _settle(page)
    _save(page, out / "phone-home.png")
    context.close()
    return problems + watch.problems()


def render_digest(store_url: str, data_dir: Path, base: str) -> str:
    """A confirmed subscriber with trending and two topics; the HTML of the digest they would get now."""
    import subprocess

    env_args = ["--database-url", store_url, "--data-dir", str(data_dir)]
    cli = [sys.executable, "-m", "paperfeed", *env_args]
    topics = ["--topic", "cat:cs.CV", "--topic", "query:gaussian splatting"]
    subprocess.run(
        [*cli, "subscribe", "reader@example.org", *topics, "--confirmed", "--json"], check=True, capture_output=True
    )
    html_out = data_dir / "digest.html"
    env = {**__import__("os").environ, "PAPERFEED_BASE_URL": base}
    subprocess.run(
        [*cli, "digest", "preview", "--to", "reader@example.org", "--html-out", str(html_out)],
        check=True,
        capture_output=True,
        env=env,
    )
    return html_out.read_text()


def digest_shot(browser: Browser, base: str, out: Path) -> list[str]:
    from browser_support import new_context

    context, watch = new_context(browser, base, viewport={"width": 760, "height": 1400})
    page = context.new_page()
    page.set_content(DIGEST_HTML[0])
    _save(page, out / "digest.png")
    context.close()
    return watch.problems()


DIGEST_HTML: list[str] = []
LIBRARY_COLLECTION: list[str] = []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="where to write the PNGs")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "tests" / "web"))
    from playwright.sync_api import sync_playwright

    from browser_support import build_demo_store, have_chromium, launch, math_paper, serving

    if not have_chromium():
        print("needs chromium at /usr/bin/chromium", file=sys.stderr)
        return 2
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="paperfeed-shots-") as tmp:
        data_dir = Path(tmp)
        store_url = build_demo_store(data_dir)
        math_id, _ = math_paper(store_url, days=60)
        seed_community(store_url, math_id)
        LIBRARY_COLLECTION.append(seed_library(store_url))
        with serving(data_dir, store_url) as base, sync_playwright() as playwright:
            DIGEST_HTML.append(render_digest(store_url, data_dir, base))
            browser = launch(playwright)
            try:
                problems = take(browser, base, out, math_id)
            finally:
                browser.close()
    for problem in problems:
        print(f"browser: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
