"""Tests of the web app's browser-side assets in src/paperfeed/web/static/.

Two kinds: file checks that always run (vendored KaTeX is complete and trimmed consistently, paperfeed.js makes no
off-site requests and stays ES2017), and behaviour checks of paperfeed.js in headless Chromium through Playwright,
which run only where /usr/bin/chromium (Debian's package) is installed; Playwright's own browser download can't be
used here. The browser tests serve pages through Playwright's request routing, so no server or socket is needed.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import paperfeed

STATIC = Path(paperfeed.__file__).parent / "web" / "static"
KATEX = STATIC / "katex"
FONTS = KATEX / "fonts"
PAPERFEED_JS = STATIC / "paperfeed.js"
# What every page with math loads, fonts apart; the lead's budget is 300 KB for a page without fonts.
PAGE_ASSETS = ["katex/katex.min.css", "katex/katex.min.js", "katex/contrib/auto-render.min.js", "paperfeed.js"]
CHROMIUM = Path("/usr/bin/chromium")


# ---- files ----


@pytest.mark.parametrize(
    "relpath",
    [*PAGE_ASSETS, "katex/LICENSE", "katex/README.md"],
)
def test_vendored_file_exists(relpath: str) -> None:
    path = STATIC / relpath
    assert path.is_file(), relpath
    assert path.stat().st_size > 0, relpath


def test_katex_license_is_mit() -> None:
    assert "MIT License" in (KATEX / "LICENSE").read_text(encoding="utf-8")


def css_font_urls(css: str) -> list[str]:
    return [m.strip("'\"") for m in re.findall(r"url\(([^)]*)\)", css)]


@pytest.mark.parametrize(
    ("css", "expected"),
    [
        ('src:url(fonts/A.woff2) format("woff2")', ["fonts/A.woff2"]),
        ("src:url('fonts/A.woff2'),url(\"fonts/B.woff2\")", ["fonts/A.woff2", "fonts/B.woff2"]),
        ("body{color:red}", []),
    ],
)
def test_css_font_urls(css: str, expected: list[str]) -> None:
    assert css_font_urls(css) == expected


def test_css_references_only_present_woff2_fonts() -> None:
    urls = css_font_urls((KATEX / "katex.min.css").read_text(encoding="utf-8"))
    assert urls, "katex.min.css lost its @font-face rules"
    missing = [u for u in urls if not (KATEX / u).is_file()]
    assert missing == []
    assert [u for u in urls if not u.endswith(".woff2")] == []


def test_every_shipped_font_is_referenced() -> None:
    # A font no rule names is dead weight in the wheel.
    referenced = {Path(u).name for u in css_font_urls((KATEX / "katex.min.css").read_text(encoding="utf-8"))}
    shipped = {p.name for p in FONTS.iterdir()}
    assert shipped == referenced


def test_no_woff_or_ttf_left() -> None:
    leftovers = [p for p in STATIC.rglob("*") if p.suffix.lower() in {".woff", ".ttf", ".otf", ".eot"}]
    assert leftovers == []


@pytest.mark.parametrize("needle", ["http://", "https://", "//cdn"])
def test_paperfeed_js_has_no_network_url(needle: str) -> None:
    assert needle not in PAPERFEED_JS.read_text(encoding="utf-8").lower()


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        (r"\?\.", "optional chaining is ES2020"),
        (r"\?\?", "nullish coalescing is ES2020"),
        (r"^\s*(import|export)\b", "it is a classic script, not a module"),
    ],
)
def test_paperfeed_js_stays_es2017(pattern: str, why: str) -> None:
    assert not re.search(pattern, PAPERFEED_JS.read_text(encoding="utf-8"), re.MULTILINE), why


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_paperfeed_js_parses() -> None:
    subprocess.run(["node", "--check", str(PAPERFEED_JS)], check=True, capture_output=True, timeout=30)


def asset_sizes() -> dict[str, tuple[int, int]]:
    """Raw and gzipped byte sizes of each page asset and of the fonts directory."""
    sizes: dict[str, tuple[int, int]] = {}
    for rel in PAGE_ASSETS:
        data = (STATIC / rel).read_bytes()
        sizes[rel] = (len(data), len(gzip.compress(data, 9)))
    fonts = [p.read_bytes() for p in sorted(FONTS.glob("*.woff2"))]
    # WOFF2 is already Brotli-compressed: gzip gains nothing, so the raw size is what goes over the wire.
    sizes["katex/fonts/ (woff2)"] = (sum(map(len, fonts)), sum(map(len, fonts)))
    return sizes


def test_static_size_report(capsys: pytest.CaptureFixture[str]) -> None:
    sizes = asset_sizes()
    page_raw = sum(raw for rel, (raw, _) in sizes.items() if rel in PAGE_ASSETS)
    page_gz = sum(gz for rel, (_, gz) in sizes.items() if rel in PAGE_ASSETS)
    lines = [f"  {rel:<36} {raw / 1024:8.1f} KB raw {gz / 1024:8.1f} KB gzip" for rel, (raw, gz) in sizes.items()]
    lines.append(f"  {'page assets total (no fonts)':<36} {page_raw / 1024:8.1f} KB raw {page_gz / 1024:8.1f} KB gzip")
    with capsys.disabled():
        print("\nstatic asset sizes:\n" + "\n".join(lines))
    assert page_gz < 300 * 1024


# ---- behaviour in a browser ----

ORIGIN = "http://localhost:8765"
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".woff2": "font/woff2", ".html": "text/html"}

KATEX_SCRIPTS = """<link rel="stylesheet" href="/static/katex/katex.min.css">
<script defer src="/static/katex/katex.min.js"></script>
<script defer src="/static/katex/contrib/auto-render.min.js"></script>"""

# Served at /math with KaTeX and at /list without: parsing katex.min.js costs each test a tenth of a second, and only
# the math tests need it (paperfeed.js must cope with its absence anyway).
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>list</title>
{katex}
<script defer src="/static/paperfeed.js"></script>
</head><body>
<form role="search" action="/search"><input id="q" name="q"></form>
<div id="shortcuts-help" hidden>j k o / ?</div>
<article class="paper-entry">
  <h2 class="math"><a class="paper-link" href="/papers/1">A $x^2$ bound and $$\\sum_i y_i$$</a></h2>
  <form class="vote-form" method="post" action="/papers/1/vote">
    <input type="hidden" name="csrf" value="tok">
    <button class="vote-button" aria-pressed="false"><span class="vote-count">3</span></button>
  </form>
</article>
<article class="paper-entry">
  <h2 class="math"><a class="paper-link" href="/papers/2">Plain \\(a+b\\) title</a> <code>$not$</code></h2>
</article>
<p class="plain">$y$ stays text</p>
<pre id="bib">
@article{{x, title={{T}}}}
</pre>
<button class="copy-button" data-copy-target="bib" hidden>Copy</button>
<button class="copy-button" data-copy-target="nowhere" hidden>Copy</button>
<time class="local" datetime="2025-03-01T12:00:00Z">2025-03-01 12:00 UTC</time>
<time class="local" datetime="2025-03-01">2025-03-01</time>
</body></html>
"""

# Records the clipboard instead of touching the real one (headless Chromium has none to read back).
CLIPBOARD_STUB = """
window.__copied = [];
Object.defineProperty(navigator, "clipboard", {
  value: { writeText: (text) => { window.__copied.push(text); return Promise.resolve(); } },
});
"""


class Site:
    """Answers the page's requests from the static directory, with a vote endpoint whose reply tests choose.

    One instance serves the whole module (the route is set once per browser context); reset() clears it per test.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.vote_status = 200
        self.vote_body: Any = {"upvoted": True, "upvotes": 4}
        self.requests: list[dict[str, Any]] = []
        self.offsite: list[str] = []
        self.missing: list[str] = []
        self.errors: list[str] = []

    def handle(self, route: Any) -> None:
        req = route.request
        if not req.url.startswith(ORIGIN + "/"):
            self.offsite.append(req.url)
            route.abort()
            return
        path = req.url[len(ORIGIN) :].split("?")[0]
        self.requests.append({"method": req.method, "path": path, "headers": req.headers, "body": req.post_data})
        if path.startswith("/static/"):
            file = STATIC / path[len("/static/") :]
            if not file.is_file():
                self.missing.append(path)
                route.fulfill(status=404, body="")
                return
            route.fulfill(status=200, body=file.read_bytes(), content_type=CONTENT_TYPES.get(file.suffix, "text/plain"))
        elif path == "/papers/1/vote":
            body = self.vote_body if isinstance(self.vote_body, str) else json.dumps(self.vote_body)
            route.fulfill(status=self.vote_status, body=body, content_type="application/json")
        elif path in ("/list", "/math"):
            html = PAGE.format(katex=KATEX_SCRIPTS if path == "/math" else "")
            route.fulfill(status=200, body=html, content_type="text/html")
        else:
            route.fulfill(status=200, body=f"<!doctype html><title>{path}</title>", content_type="text/html")

    def open_page(self, browser: Any) -> Any:
        context = browser.new_context(locale="en-US", timezone_id="America/New_York")
        context.add_init_script(CLIPBOARD_STUB)
        context.route("**/*", self.handle)
        pg = context.new_page()
        pg.on("pageerror", lambda exc: self.errors.append(str(exc)))
        return pg


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=flags)
        yield b
        b.close()


@pytest.fixture(scope="module")
def tab(browser: Any) -> Iterator[tuple[Site, Any]]:
    # One context and page for the module, navigated afresh by each test: a new one per test triples the run time.
    site = Site()
    pg = site.open_page(browser)
    yield site, pg
    pg.context.close()


def load(tab: tuple[Site, Any], path: str) -> Iterator[Any]:
    site, pg = tab
    site.reset()
    pg.goto(ORIGIN + path)
    yield pg
    assert site.errors == []


@pytest.fixture
def site(tab: tuple[Site, Any]) -> Site:
    return tab[0]


@pytest.fixture
def page(tab: tuple[Site, Any]) -> Iterator[Any]:
    yield from load(tab, "/list")


@pytest.fixture
def math_page(tab: tuple[Site, Any]) -> Iterator[Any]:
    yield from load(tab, "/math")


def test_math_renders_only_in_math_elements(math_page: Any) -> None:
    page = math_page
    assert page.locator("article .math .katex").count() == 3
    assert page.locator(".katex-display").count() == 1
    assert page.locator("code .katex, .plain .katex").count() == 0
    assert page.locator("code").inner_text() == "$not$"


def test_fonts_load_from_the_site_only(math_page: Any, site: Site) -> None:
    math_page.evaluate("document.fonts.ready.then(() => true)")
    assert any(r["path"].endswith(".woff2") for r in site.requests)
    assert site.missing == []
    assert site.offsite == []


def selected_hrefs(page: Any) -> list[str]:
    result: list[str] = page.eval_on_selector_all(
        "article.selected[aria-current=true] a.paper-link", "els => els.map(e => e.getAttribute('href'))"
    )
    return result


def test_j_k_move_the_selection(page: Any) -> None:
    page.keyboard.press("j")
    assert selected_hrefs(page) == ["/papers/1"]
    page.keyboard.press("j")
    page.keyboard.press("j")  # stays on the last entry
    assert selected_hrefs(page) == ["/papers/2"]
    assert page.evaluate("document.activeElement.classList.contains('paper-entry')")
    assert page.evaluate("document.activeElement.getAttribute('tabindex')") == "-1"
    page.keyboard.press("k")
    assert selected_hrefs(page) == ["/papers/1"]
    assert page.locator("article[aria-current]").count() == 1


def test_keys_ignored_while_typing_or_with_modifiers(page: Any) -> None:
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("jk/")
    assert page.input_value("#q") == "jk/"
    assert selected_hrefs(page) == []
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("Control+j")
    assert selected_hrefs(page) == []


def test_question_mark_toggles_help(page: Any) -> None:
    help_box = page.locator("#shortcuts-help")
    page.keyboard.press("?")
    assert help_box.is_visible()
    page.keyboard.press("?")
    assert not help_box.is_visible()


@pytest.mark.parametrize("key", ["o", "Enter"])
def test_open_key_follows_the_paper_link(page: Any, key: str) -> None:
    page.keyboard.press("j")
    page.keyboard.press("j")
    with page.expect_navigation():
        page.keyboard.press(key)
    assert page.url == ORIGIN + "/papers/2"


def test_vote_updates_in_place(page: Any, site: Site) -> None:
    page.click(".vote-button")
    page.wait_for_selector(".vote-button[aria-pressed=true]")
    assert page.inner_text(".vote-count") == "4"
    assert page.url == ORIGIN + "/list"
    (vote,) = [r for r in site.requests if r["path"] == "/papers/1/vote"]
    assert vote["method"] == "POST"
    assert vote["headers"]["accept"] == "application/json"
    assert "tok" in vote["body"]


def test_vote_401_goes_to_login(page: Any, site: Site) -> None:
    site.vote_status = 401
    with page.expect_navigation():
        page.click(".vote-button")
    assert page.url == ORIGIN + "/login?next=%2Flist"


def test_vote_error_falls_back_to_form_post(page: Any, site: Site) -> None:
    site.vote_status = 500
    with page.expect_navigation():
        page.click(".vote-button")
    votes = [r for r in site.requests if r["path"] == "/papers/1/vote"]
    assert len(votes) == 2
    assert votes[1]["headers"]["accept"] != "application/json"
    assert "tok" in votes[1]["body"]


def test_vote_taken_without_json_is_not_posted_twice(page: Any, site: Site) -> None:
    # A 2xx that isn't the JSON reply means the server counted the vote; posting again would toggle it back.
    site.vote_body = "<!doctype html><title>voted</title>"
    with page.expect_navigation():
        page.click(".vote-button")
    assert [r["method"] for r in site.requests if r["path"] == "/papers/1/vote"] == ["POST"]
    assert page.url == ORIGIN + "/list"


def test_copy_button(browser: Any) -> None:
    # A context of its own: the fake clock would stay installed in the shared one.
    site = Site()
    page = site.open_page(browser)
    page.clock.install()
    page.goto(ORIGIN + "/list")
    copy = page.locator("button.copy-button[data-copy-target=bib]")
    assert copy.is_visible()
    assert not page.locator("button.copy-button[data-copy-target=nowhere]").is_visible()
    copy.click()
    assert page.evaluate("window.__copied") == ["@article{x, title={T}}"]
    assert copy.inner_text() == "Copied"
    page.clock.run_for(1600)
    assert copy.inner_text() == "Copy"
    page.context.close()
    assert site.errors == []


def test_local_time(page: Any) -> None:
    times = page.locator("time.local")
    # ICU versions differ on whether a narrow no-break space precedes "AM".
    assert re.sub(r"\s", " ", times.nth(0).inner_text()) == "Mar 1, 2025, 7:00 AM"
    assert times.nth(0).get_attribute("title") == "2025-03-01 12:00 UTC"
    assert times.nth(1).inner_text() == "2025-03-01"
