"""How paper text looks in the templates: shortened abstracts, author lists, arXiv links, dates, static URLs.

Every filter returns plain text (the template escapes it) unless its name ends in ``_html``; paper text is never
trusted. Math (``$…$``) is left as text for KaTeX to typeset in the browser, inside elements of class ``math``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from urllib.parse import quote, urlencode

import jinja2
from markupsafe import Markup, escape

from paperfeed.papers import CONTENT_ID_PREFIX, is_web_url


def shorten(text: str, limit: int = 300) -> str:
    """Cut at a word boundary, never inside a ``$…$`` math span (which would no longer typeset)."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    cut = cut if cut > limit // 2 else limit
    if text[:cut].count("$") % 2:
        cut = text.rfind("$", 0, cut)
        cut = text.rfind(" ", 0, cut) if cut > 0 else cut
        if cut <= 0:
            return text[:limit].replace("$", "") + "…"
    return text[:cut].rstrip(" ,;:") + "…"


# Text-mode LaTeX that arXiv abstracts carry outside math ("\\emph{bridge vectors}"): KaTeX only typesets math
# between delimiters, so these become HTML; anything else is left as the author wrote it.
_TEX_TEXT_RE = re.compile(r"\\(emph|textit|textbf|texttt|underline)\{([^{}$]*)\}")
_TEX_TAGS = {"emph": "em", "textit": "em", "textbf": "strong", "texttt": "code", "underline": "u"}


def tex_html(html_text: str) -> Markup:
    """Already-escaped HTML with ``\\emph{…}``-style commands turned into tags."""
    return Markup(_TEX_TEXT_RE.sub(lambda m: f"<{_TEX_TAGS[m[1]]}>{m[2]}</{_TEX_TAGS[m[1]]}>", str(html_text)))


def tex_text(text: str) -> Markup:
    """Plain paper text, escaped, with text-mode LaTeX commands as HTML."""
    return tex_html(str(escape(text)))


def authors_short(authors: list[str], limit: int = 6) -> str:
    if len(authors) <= limit:
        return ", ".join(authors)
    return f"{', '.join(authors[:limit])} et al. ({len(authors)} authors)"


def arxiv_abs(paper_id: str) -> str | None:
    return None if paper_id.startswith(CONTENT_ID_PREFIX) else f"https://arxiv.org/abs/{paper_id}"


def arxiv_pdf(paper_id: str) -> str | None:
    return None if paper_id.startswith(CONTENT_ID_PREFIX) else f"https://arxiv.org/pdf/{paper_id}"


def nice_date(value: str | None) -> str:
    if not value:
        return ""
    try:
        return date.fromisoformat(value[:10]).strftime("%-d %b %Y")
    except ValueError:
        return value


def host(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0].removeprefix("www.") + ("/" + rest.split("/", 1)[1] if "/" in rest else "")


def web_urls(urls: list[str]) -> list[str]:
    """Only http(s) links become ``href``s, whatever the store holds (records stored before ingest checked)."""
    return [url for url in urls if is_web_url(url)]


def query_url(path: str, **params: object) -> str:
    # Empty values and the first page are the defaults: leave them out so every page has one canonical URL.
    kept = {k: v for k, v in params.items() if v not in (None, "") and not (k == "page" and v == 1)}
    return path + ("?" + urlencode(kept) if kept else "")


def install(env: jinja2.Environment, versions: Callable[[], dict[str, str]]) -> None:
    def static(name: str) -> str:
        version = versions().get(name)
        return f"/static/{name}" + (f"?v={version}" if version else "")

    env.filters.update(
        shorten=shorten,
        tex_text=tex_text,
        tex_html=tex_html,
        authors_short=authors_short,
        nice_date=nice_date,
        host=host,
        web_urls=web_urls,
        urlpart=lambda value: quote(str(value), safe=""),
    )
    env.globals.update(
        static=static,
        arxiv_abs=arxiv_abs,
        arxiv_pdf=arxiv_pdf,
        query_url=query_url,
        now=lambda: datetime.now().astimezone(),
    )
