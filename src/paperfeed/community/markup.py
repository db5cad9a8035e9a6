"""Comment text: the checks a comment must pass and its rendering to safe HTML.

Comments are a small Markdown subset (paragraphs, line breaks, emphasis, code, fenced code, links, lists,
blockquotes) and never raw HTML. Two layers keep them safe: markdown-it runs with ``html=False`` and only those
rules enabled (so ``<script>`` is text, ``javascript:`` links are refused), then nh3 sanitises the result with an
allow-list of exactly the tags the renderer produces, so a bug or a new markdown-it feature cannot widen it.

TeX math (``$…$``, ``$$…$$``) is left as literal text for KaTeX to render in the page: a math rule runs before
emphasis and escapes, so ``$a_b * c_d$`` keeps its ``_`` and ``*`` (and ``\\{`` its backslash). This is the
"protect, then restore escaped" idea done inside the parser, where code spans and link labels are already known.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

from paperfeed.errors import BadInput

MAX_COMMENT_CHARS = 5000
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener"
# Exactly what the enabled rules emit; nh3 drops anything else (keeping its text).
ALLOWED_TAGS = frozenset({"p", "br", "em", "strong", "code", "pre", "a", "ul", "ol", "li", "blockquote"})
# "*": nothing, or nh3 keeps its default generic attributes (lang, title) on every tag.
_ATTRIBUTES: dict[str, set[str]] = {"*": set(), "a": {"href", "title"}, "ol": {"start"}}

_BLOCK_RULES = ("fence", "blockquote", "list", "paragraph")
_INLINE_RULES = ("text", "newline", "escape", "backticks", "emphasis", "link", "autolink", "entity")
_INLINE2_RULES = ("balance_pairs", "emphasis", "fragments_join")
_CORE_RULES = ("normalize", "block", "inline", "text_join")

# Control characters other than tab and newline: invisible, and PostgreSQL text cannot hold NUL.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Bidi embeddings, overrides and isolates: a comment could reverse how the text after it reads ("Trojan Source");
# comments render with dir="auto" instead, so right-to-left writing still displays as written.
_BIDI_RE = re.compile("[\u202a-\u202e\u2066-\u2069]")
# What a comment of nothing but "invisible" characters is made of: whitespace and format characters (zero-width
# spaces and joiners, soft hyphens, word joiners, BOMs), which are kept inside a real comment (emoji, scripts).
_INVISIBLE_RE = re.compile(
    "[\\s\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u2060-\u2064\u3164\ufeff\uffa0]+"
)
_SCHEME_AT_END_RE = re.compile(r"(?<![A-Za-z0-9])(https?)$", re.IGNORECASE)
# Brackets end a bare URL so that "[https://a.org](https://a.org)" stays a markdown link.
_URL_REST_RE = re.compile(r"://[^\s<>\"'`\[\]]+")
_URL_TRAILING = ".,;:!?*_~'\""
_WS_RE = re.compile(r"\s+")


def check_comment(text: str) -> str:
    """The comment as it will be stored: CRLF → LF, control characters and bidi controls dropped, stripped;
    BadInput if unusable (empty, or nothing but invisible characters; not Unicode; too long)."""
    if not text.isascii() and not _is_unicode(text):
        raise BadInput("comment is not valid text (an unpaired surrogate)", where="body")
    cleaned = _BIDI_RE.sub("", _CONTROL_RE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))).strip()
    if not _INVISIBLE_RE.sub("", cleaned):
        raise BadInput("comment is empty", where="body")
    if len(cleaned) > MAX_COMMENT_CHARS:
        raise BadInput(f"comment is longer than {MAX_COMMENT_CHARS} characters", where="body")
    return cleaned


def render_comment(text: str) -> str:
    """Safe HTML for a comment's Markdown (math spans left as escaped text for KaTeX); bidi controls are dropped
    here too, for comments stored before check_comment dropped them."""
    return _sanitise(_MD.render(_BIDI_RE.sub("", text)))


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def comment_preview(text: str, limit: int = 200) -> str:
    """The comment as one line of plain text (not HTML-escaped), cut at a word boundary to ``limit`` characters."""
    parts: list[str] = []
    for token in _MD.parse(text):
        if token.type in ("fence", "code_block"):
            parts.append(token.content)
        elif token.type == "inline":
            parts.extend(_inline_text(token.children or []))
        parts.append(" ")
    plain = _WS_RE.sub(" ", "".join(parts)).strip()
    if len(plain) <= limit:
        return plain
    cut = plain[: max(limit - 1, 0)]
    space = cut.rfind(" ")
    # Cut at the last word boundary unless that throws away most of the text (one very long word).
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def _inline_text(children: Iterable[Token]) -> Iterable[str]:
    for child in children:
        if child.type in ("text", "code_inline", "math_inline"):
            yield child.content
        elif child.type in ("softbreak", "hardbreak"):
            yield " "


def _allowed_link(url: str) -> bool:
    scheme, colon, _ = url.strip().partition(":")
    return bool(colon) and scheme.lower() in LINK_SCHEMES and "/" not in scheme


def _math(state: StateInline, silent: bool) -> bool:
    """``$…$`` / ``$$…$$`` as one verbatim token, pandoc's rule for what counts as math.

    The opener must be followed by a non-space, the closer preceded by one, and a single ``$`` closer must not be
    followed by a digit: so "costs $5 and $10" stays text. Backslash-escaped dollars neither open nor close.
    """
    src, pos, end = state.src, state.pos, state.posMax
    if src[pos] != "$":
        return False
    delim = "$$" if src.startswith("$$", pos) else "$"
    start = pos + len(delim)
    if start >= end or src[start].isspace() or src[start] == "$":
        return False
    closers = _closers(state, delim)
    index = bisect.bisect_left(closers, start)
    if index == len(closers) or closers[index] + len(delim) > end:
        return False
    close = closers[index] + len(delim)
    if not silent:
        token = state.push("math_inline", "", 0)
        token.content = src[pos:close]
        token.markup = delim
    state.pos = close
    return True


def _closers(state: StateInline, delim: str) -> list[int]:
    """Where a ``delim`` could close math in this inline text, computed once per text and render.

    Scanning forward from every opener instead would be quadratic: "$a $a $a …" has thousands of openers and no
    closer, which made one 5,000-character comment take half a second.
    """
    cache: dict[tuple[str, str], list[int]] = state.env.setdefault("paperfeed_math_closers", {})
    key = (state.src, delim)
    if key not in cache:
        src = state.src
        found: list[int] = []
        for m in re.finditer(r"(?=\$\$)" if delim == "$$" else r"\$", src):
            i = before = m.start()
            while before and src[before - 1] == "\\":
                before -= 1
            escaped = (i - before) % 2 == 1
            after = i + len(delim)
            digit_after = delim == "$" and after < len(src) and src[after].isdigit()
            if i and not escaped and not src[i - 1].isspace() and not digit_after:
                found.append(i)
        cache[key] = found
    return cache[key]


def _bare_url(state: StateInline, silent: bool) -> bool:
    """Autolink ``http(s)://…`` in running text (markdown-it's own linkify needs linkify-it-py; this is enough).

    Like markdown-it's rule it fires on the ``:`` with the scheme already in the pending text, so the URL is one
    token before emphasis could split it at a ``_`` or ``*``.
    """
    if state.linkLevel > 0 or state.src[state.pos] != ":":
        return False
    scheme = _SCHEME_AT_END_RE.search(state.pending)
    rest = _URL_REST_RE.match(state.src, state.pos, state.posMax)
    if scheme is None or rest is None:
        return False
    tail = rest.group().rstrip(_URL_TRAILING)
    # A closing parenthesis belongs to the URL only when it has a partner inside it: "(see https://a.org/x)".
    while tail.endswith(")") and tail.count(")") > tail.count("("):
        tail = tail[:-1].rstrip(_URL_TRAILING)
    if len(tail) <= 3:
        return False
    url = scheme.group(1) + tail
    href = state.md.normalizeLink(url)
    if not state.md.validateLink(href):
        return False
    if not silent:
        state.pending = state.pending[: -len(scheme.group(1))]
        opening = state.push("link_open", "a", 1)
        opening.attrs = {"href": href}
        opening.markup = "linkify"
        opening.info = "auto"
        label = state.push("text", "", 0)
        label.content = state.md.normalizeLinkText(url)
        closing = state.push("link_close", "a", -1)
        closing.markup = "linkify"
        closing.info = "auto"
    state.pos += len(tail)
    return True


def _render_math(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return escapeHtml(tokens[idx].content)


def _build() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False, "typographer": False})
    enabled = {*_BLOCK_RULES, *_INLINE_RULES, *_INLINE2_RULES, *_CORE_RULES}
    every = {name for names in md.get_all_rules().values() for name in names}
    md.disable(sorted(every - enabled))
    # Both run before "escape" and "emphasis": the earliest rule that matches at a position wins.
    md.inline.ruler.before("newline", "math_inline", _math)
    md.inline.ruler.before("newline", "bare_url", _bare_url)
    md.add_render_rule("math_inline", _render_math)
    md.validateLink = _allowed_link  # type: ignore[method-assign]
    return md


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    # Second line of defence: nh3's url_schemes allows relative URLs, and comments have no business with those.
    if tag == "a" and attribute == "href":
        return value if _allowed_link(value) else None
    if tag == "ol" and attribute == "start":
        return value if value.isdigit() and len(value) <= 9 else None
    return value


def _sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in _ATTRIBUTES.items()},
        attribute_filter=_attribute_filter,
        url_schemes=set(LINK_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


_MD = _build()
