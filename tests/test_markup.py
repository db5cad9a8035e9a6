"""Comment rendering: hostile input never yields executable HTML, the Markdown subset renders as documented,
TeX math survives as text for KaTeX, and the stored-comment checks."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from paperfeed.community.markup import (
    ALLOWED_TAGS,
    LINK_REL,
    MAX_COMMENT_CHARS,
    check_comment,
    comment_preview,
    render_comment,
)
from paperfeed.errors import BadInput

REL = f'rel="{LINK_REL}"'


class _Collector(HTMLParser):
    """Every element and attribute a browser would build from the HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def assert_inert(html: str) -> None:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    allowed_attrs = {"a": {"href", "rel", "title"}, "ol": {"start"}}
    for tag, attrs in collector.elements:
        assert tag in ALLOWED_TAGS, (tag, html)
        assert set(attrs) <= allowed_attrs.get(tag, set()), (tag, attrs, html)
        if tag == "a":
            href = attrs.get("href") or ""
            assert href == "" or href.split(":", 1)[0].lower() in {"http", "https", "mailto"}, html
            assert attrs.get("rel") == LINK_REL, html
        if tag == "ol" and "start" in attrs:
            assert (attrs["start"] or "").isdigit()
    attr_text = _attr_text(collector)
    for needle in ("javascript:", "vbscript:", "data:", "file:"):
        # Harmless as escaped text; never inside an attribute.
        assert needle not in attr_text, html


def _attr_text(collector: _Collector) -> str:
    return " ".join(str(v).lower() for _, attrs in collector.elements for v in attrs.values())


XSS = [
    ("script tag", "<script>alert(1)</script>"),
    ("script tag, mixed case", "<ScRiPt>alert(1)</sCrIpT>"),
    ("img onerror", "<img src=x onerror=alert(1)>"),
    ("svg onload", "<svg onload=alert(1)>"),
    ("raw anchor javascript", '<a href="javascript:alert(1)">x</a>'),
    ("iframe and comment", "<!-- c --><iframe src=//evil.example></iframe>"),
    ("style tag", "<style>body{display:none}</style>"),
    ("onclick on an inline tag", "*<b onclick=alert(1)>x</b>*"),
    ("html entities for a tag", "&lt;script&gt;alert(1)&lt;/script&gt; &#60;img src=x onerror=alert(1)&#62;"),
    ("md link javascript", "[click](javascript:alert(1))"),
    ("md link javascript, mixed case", "[click](JaVaScRiPt:alert(1))"),
    ("md link javascript, entity colon", "[click](javascript&#58;alert(1))"),
    ("md link javascript, leading space", "[click]( javascript:alert(1))"),
    ("md link javascript, percent-encoded", "[click](javascript%3Aalert(1))"),
    ("md link vbscript", "[click](vbscript:msgbox(1))"),
    ("md link file", "[click](file:///etc/passwd)"),
    ("md link data", "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"),
    ("md image data", "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)"),
    ("md image onerror", '![x](https://example.org/x.png "a\\" onerror=\\"alert(1)")'),
    ("link title breakout", '[x](https://example.org "t\\" onmouseover=\\"alert(1)")'),
    ("autolink javascript", "<javascript:alert(1)>"),
    ("bare url with quote", 'https://example.org/"><script>alert(1)</script>'),
    ("relative link", "[x](/logout) [y](//evil.example/)"),
    ("fence breakout", "```\n</code></pre><script>alert(1)</script>\n```"),
    ("fence info string", '```" onmouseover="alert(1)\nx\n```'),
    ("code span", "`<script>alert(1)</script>`"),
    ("math with script", "$<script>alert(1)</script>$ and $$<img src=x onerror=alert(1)>$$"),
    ("nested quotes", "> <script>alert(1)</script>\n>> <img src=x onerror=alert(1)>\n>>> [x](javascript:alert(1))"),
    ("deep nesting", ">" * 500 + " x"),
    ("NUL byte", "\x00<script>alert(1)</script>"),
]


@pytest.mark.parametrize(("name", "text"), XSS, ids=[name for name, _ in XSS])
def test_hostile_input_renders_inert(name: str, text: str) -> None:
    html = render_comment(text)
    assert_inert(html)
    assert "<script" not in html.lower()


def test_hostile_text_stays_visible_as_text() -> None:
    # Refused markup is shown, escaped, rather than silently dropped: the reader sees what was typed.
    assert render_comment("<script>alert(1)</script>") == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"
    assert render_comment("[click](javascript:alert(1))") == "<p>[click](javascript:alert(1))</p>\n"


FORMATTING = [
    ("paragraph", "plain", "<p>plain</p>\n"),
    ("paragraphs", "one\n\ntwo", "<p>one</p>\n<p>two</p>\n"),
    ("line break", "one\ntwo", "<p>one<br>\ntwo</p>\n"),
    ("emphasis", "a *em* b _em_", "<p>a <em>em</em> b <em>em</em></p>\n"),
    ("strong", "**bold** __bold__", "<p><strong>bold</strong> <strong>bold</strong></p>\n"),
    ("escaped star", "\\*not em\\*", "<p>*not em*</p>\n"),
    ("code", "`x < y`", "<p><code>x &lt; y</code></p>\n"),
    ("fence", "```python\nif a < b:\n    pass\n```", "<pre><code>if a &lt; b:\n    pass\n</code></pre>\n"),
    ("bullets", "- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n"),
    ("numbers", "1. a\n2. b", "<ol>\n<li>a</li>\n<li>b</li>\n</ol>\n"),
    ("numbers from 3", "3. c", '<ol start="3">\n<li>c</li>\n</ol>\n'),
    ("quote", "> q", "<blockquote>\n<p>q</p>\n</blockquote>\n"),
    (
        "nested quote",
        "> a\n>> b",
        "<blockquote>\n<p>a</p>\n<blockquote>\n<p>b</p>\n</blockquote>\n</blockquote>\n",
    ),
    ("link", "[text](https://example.org)", f'<p><a href="https://example.org" {REL}>text</a></p>\n'),
    ("mailto", "[m](mailto:a@example.org)", f'<p><a href="mailto:a@example.org" {REL}>m</a></p>\n'),
    ("autolink", "<https://example.org>", f'<p><a href="https://example.org" {REL}>https://example.org</a></p>\n'),
    ("email autolink", "<a@example.org>", f'<p><a href="mailto:a@example.org" {REL}>a@example.org</a></p>\n'),
    (
        "bare url, trailing dot",
        "see https://example.org/x?a=1&b=2.",
        f'<p>see <a href="https://example.org/x?a=1&amp;b=2" {REL}>https://example.org/x?a=1&amp;b=2</a>.</p>\n',
    ),
    (
        "bare url in parentheses",
        "(https://en.wikipedia.org/wiki/Foo_(bar))",
        f'<p>(<a href="https://en.wikipedia.org/wiki/Foo_(bar)" {REL}>https://en.wikipedia.org/wiki/Foo_(bar)</a>)</p>\n',
    ),
    (
        "bare url with underscores",
        "https://example.org/a_b_c_",
        f'<p><a href="https://example.org/a_b_c" {REL}>https://example.org/a_b_c</a>_</p>\n',
    ),
    (
        "url as link text",
        "[https://a.example](https://a.example)",
        f'<p><a href="https://a.example" {REL}>https://a.example</a></p>\n',
    ),
    ("no heading", "# Not a heading", "<p># Not a heading</p>\n"),
    ("no rule", "---", "<p>---</p>\n"),
    ("no image", "![alt](https://example.org/i.png)", f'<p>!<a href="https://example.org/i.png" {REL}>alt</a></p>\n'),
    ("no raw html", "<b>raw</b>", "<p>&lt;b&gt;raw&lt;/b&gt;</p>\n"),
    ("no tables", "a | b\n--|--", "<p>a | b<br>\n--|--</p>\n"),
    ("no strikethrough", "~~x~~", "<p>~~x~~</p>\n"),
    ("entity", "Tom &amp; Jerry", "<p>Tom &amp; Jerry</p>\n"),
]


@pytest.mark.parametrize(("name", "text", "expected"), FORMATTING, ids=[name for name, _, _ in FORMATTING])
def test_formatting(name: str, text: str, expected: str) -> None:
    assert render_comment(text) == expected


MATH = [
    ("underscores and stars", "$a_b * c_d$", "<p>$a_b * c_d$</p>\n"),
    ("two spans", "$a_b$ and $c_d$", "<p>$a_b$ and $c_d$</p>\n"),
    ("display", "$$\\sum_{i} x_i^2$$", "<p>$$\\sum_{i} x_i^2$$</p>\n"),
    ("backslash escapes kept", "$\\{x\\} \\_$", "<p>$\\{x\\} \\_$</p>\n"),
    ("html escaped", "$x<y$", "<p>$x&lt;y$</p>\n"),
    ("inside emphasis", "*see $a_b$*", "<p><em>see $a_b$</em></p>\n"),
    ("url inside math is not a link", "$http://x_y$", "<p>$http://x_y$</p>\n"),
    ("in link text", "[$a_b$](https://example.org)", f'<p><a href="https://example.org" {REL}>$a_b$</a></p>\n'),
    ("in code stays code", "`$a_b$`", "<p><code>$a_b$</code></p>\n"),
    ("prices are not math", "costs $5 and *$10*", "<p>costs $5 and <em>$10</em></p>\n"),
    ("space after opener: not math", "$ *a* $", "<p>$ <em>a</em> $</p>\n"),
    ("escaped dollar", "\\$a_b$", "<p>$a_b$</p>\n"),
    ("unclosed", "$a_b", "<p>$a_b</p>\n"),
]


@pytest.mark.parametrize(("name", "text", "expected"), MATH, ids=[name for name, _, _ in MATH])
def test_math_survives_as_text(name: str, text: str, expected: str) -> None:
    assert render_comment(text) == expected


PREVIEW = [
    ("markup removed", "Hello *world*, see [this](https://example.org).", 200, "Hello world, see this."),
    ("blocks joined", "> quoted\n\n- one\n- two\n\n```\ncode\n```", 200, "quoted one two code"),
    ("math kept", "We get $a_b * c_d$ here", 200, "We get $a_b * c_d$ here"),
    ("html not rendered", "<b>x</b> &amp;", 200, "<b>x</b> &"),
    ("cut at a word", "alpha beta gamma delta", 15, "alpha beta…"),
    ("one long word", "x" * 50, 10, "x" * 9 + "…"),
    ("exactly the limit", "abcde", 5, "abcde"),
    ("empty", "", 10, ""),
]


@pytest.mark.parametrize(("name", "text", "limit", "expected"), PREVIEW, ids=[p[0] for p in PREVIEW])
def test_comment_preview(name: str, text: str, limit: int, expected: str) -> None:
    preview = comment_preview(text, limit)
    assert preview == expected
    assert len(preview) <= limit


CHECKS = [
    ("stripped", "  hi  \n", "hi"),
    ("CRLF", "a\r\nb\rc", "a\nb\nc"),
    ("controls dropped", "a\x00b\x1bc\td", "abc\td"),
    ("at the limit", "x" * MAX_COMMENT_CHARS, "x" * MAX_COMMENT_CHARS),
    ("limit counts after stripping", " " + "x" * MAX_COMMENT_CHARS + " ", "x" * MAX_COMMENT_CHARS),
]


@pytest.mark.parametrize(("name", "text", "expected"), CHECKS, ids=[c[0] for c in CHECKS])
def test_check_comment_accepts(name: str, text: str, expected: str) -> None:
    assert check_comment(text) == expected


REFUSALS = [
    ("empty", "", "comment is empty"),
    ("blank", " \n\t ", "comment is empty"),
    ("only controls", "\x00\x01", "comment is empty"),
    ("too long", "x" * (MAX_COMMENT_CHARS + 1), "comment is longer than 5000 characters"),
]


@pytest.mark.parametrize(("name", "text", "reason"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_check_comment_refuses(name: str, text: str, reason: str) -> None:
    with pytest.raises(BadInput) as info:
        check_comment(text)
    assert info.value.reason == reason
    assert info.value.where == "body"


@pytest.mark.parametrize(
    "text",
    ["$a " * 1666, "$" * 5000, "$$a " * 1250, "\\$a " * 1250, "[" * 5000, "*a " * 1666, "https:// " * 555],
    ids=["openers", "dollars", "display-openers", "escaped", "brackets", "stars", "schemes"],
)
def test_worst_case_comments_render_inert(text: str) -> None:
    html = render_comment(check_comment(text[:MAX_COMMENT_CHARS]))
    assert_inert(html)


@pytest.mark.parametrize("text", ["\u200b", "\u200b\u200c\u200d", " \ufeff\u2060 \u00ad\n\u200e", "\u202e\u202c"])
def test_a_comment_of_only_invisible_characters_is_empty(text: str) -> None:
    with pytest.raises(BadInput, match="comment is empty"):
        check_comment(text)


def test_bidi_controls_are_dropped_and_joiners_kept() -> None:
    assert check_comment("see \u202eevil\u202c and \u2067x\u2069") == "see evil and x"
    assert check_comment("family 👨\u200d👩\u200d👧") == "family 👨\u200d👩\u200d👧"  # zero-width joiners in emoji
    assert "\u202e" not in render_comment("stored \u202e before")


def test_a_comment_that_is_not_unicode_is_refused() -> None:
    with pytest.raises(BadInput, match="not valid text") as refused:
        check_comment("x \ud800 y")
    assert refused.value.where == "body"
