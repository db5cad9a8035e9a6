"""Feed documents: a list of papers as RSS 2.0, Atom 1.0 or JSON Feed 1.1 bytes, plus their HTTP validators.

This module owns what a feed entry says about a paper (ids, links, authors, categories, dates, the HTML content)
and keeps the three formats saying the same thing. It is pure: the caller picks the papers and the URLs, this turns
them into bytes. Output is deterministic (no clock reads, stable order) so that the ETag of a feed only changes when
its content does and conditional GETs from feed readers stay cheap.

feedgen writes RSS and Atom; orjson writes JSON Feed (feedgen has no JSON Feed support).
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson
from feedgen.feed import FeedGenerator

from paperfeed.errors import BadInput
from paperfeed.papers import Paper

FORMATS = ("rss", "atom", "json")
MEDIA_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
MAX_AUTHORS = 20
ET_AL = "et al."
GENERATOR = "paperfeed"
NO_ABSTRACT = "No abstract available."
LANGUAGE = "en"
# An empty feed with no explicit date still needs one, and it must not be "now" (that would change the ETag).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ATOM_NS = "http://www.w3.org/2005/Atom"
# Characters XML 1.0 cannot carry at all (lxml refuses them) and lone surrogates (not encodable as UTF-8). A stray
# control character in one abstract must not take the whole feed down.
_NOT_XML_CHAR_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class FeedMeta:
    """The feed as a whole. ``updated`` (tz-aware) defaults to the newest item time."""

    title: str
    page_url: str
    feed_url: str
    description: str
    updated: datetime | None = None


@dataclass(frozen=True)
class FeedItem:
    """One paper in a feed: ``published`` (tz-aware) is when it entered this feed; ``reason`` why it is there."""

    paper: Paper
    url: str
    published: datetime
    reason: str = ""


def render_feed(fmt: str, meta: FeedMeta, items: Sequence[FeedItem]) -> bytes:
    """The feed document in ``fmt`` (one of ``FORMATS``) as UTF-8 bytes; same input, same bytes."""
    renderer = _RENDERERS.get(fmt)
    if renderer is None:
        raise BadInput(f"unknown feed format {fmt!r} (expected one of {', '.join(FORMATS)})", "format")
    return renderer(meta, items)


def feed_etag(body: bytes) -> str:
    """A strong ETag for a feed body, quoted as the header wants it."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def last_modified(meta: FeedMeta, items: Sequence[FeedItem]) -> datetime:
    """When the feed last changed (UTC, whole seconds as HTTP dates are): ``meta.updated``, else the newest item."""
    if meta.updated is not None:
        return _utc(meta.updated)
    return max((_item_updated(item) for item in items), default=EPOCH)


# --- what an entry says, shared by the three formats ---------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"feed times must be timezone-aware, got {moment!r}")
    return moment.astimezone(UTC).replace(microsecond=0)


def _text(value: str | None) -> str:
    return _NOT_XML_CHAR_RE.sub("", value) if value else ""


def _paper_updated(paper: Paper) -> datetime | None:
    """arXiv's ``updated`` day (a new version) as midnight UTC; None when absent or not a date."""
    if not paper.updated:
        return None
    try:
        day = date.fromisoformat(paper.updated[:10])
    except ValueError:
        return None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _item_updated(item: FeedItem) -> datetime:
    # A new version announced after the paper entered the feed is a change readers may want to see again.
    published = _utc(item.published)
    revised = _paper_updated(item.paper)
    return max(published, revised) if revised is not None else published


def _authors(paper: Paper) -> list[str]:
    names = [n for n in (_text(a).strip() for a in paper.authors) if n]
    return [*names[:MAX_AUTHORS], ET_AL] if len(names) > MAX_AUTHORS else names


def _categories(paper: Paper) -> list[str]:
    return list(dict.fromkeys(c for c in (_text(c).strip() for c in paper.categories) if c))


def _abstract_paragraphs(paper: Paper) -> list[str]:
    # Never empty: an Atom entry with empty content reads as broken, and some sources carry titles only.
    paragraphs = [p.strip() for p in _text(paper.abstract).split("\n\n") if p.strip()]
    return paragraphs or [NO_ABSTRACT]


def _content_html(item: FeedItem) -> str:
    """Abstract, reason, authors and the arXiv link as HTML; every piece of paper text escaped."""
    paper = item.paper
    parts = [f"<p>{html.escape(p)}</p>" for p in _abstract_paragraphs(paper)]
    if item.reason:
        parts.append(f"<p><em>{html.escape(_text(item.reason))}</em></p>")
    authors = _authors(paper)
    if authors:
        parts.append(f"<p>Authors: {html.escape(', '.join(authors))}</p>")
    abs_url = paper.abs_url
    if abs_url:
        parts.append(f'<p>arXiv: <a href="{html.escape(abs_url)}">{html.escape(paper.id)}</a></p>')
    return "\n".join(parts)


def _content_text(item: FeedItem) -> str:
    parts = _abstract_paragraphs(item.paper)
    if item.reason:
        parts.append(_text(item.reason))
    authors = _authors(item.paper)
    if authors:
        parts.append("Authors: " + ", ".join(authors))
    abs_url = item.paper.abs_url
    if abs_url:
        parts.append(f"arXiv: {abs_url}")
    return "\n\n".join(parts)


# --- RSS and Atom through feedgen ----------------------------------------------------------------------------------


class _EntryLinks:
    """feedgen entry extension writing the entry links itself.

    feedgen 1.0 drops ``rel`` and ``type`` of entry links in Atom (a shadowed loop variable), which would make the
    arXiv link a second ``rel="alternate"`` (invalid Atom); and RSS items have a single ``<link>``, so the arXiv
    link goes in as ``<atom:link rel="related">``, which feedparser and most readers understand.
    """

    def __init__(self) -> None:
        self.page_url = ""
        self.abs_url: str | None = None

    def extend_ns(self) -> dict[str, str]:
        return {}

    def extend_atom(self, entry: Any) -> Any:
        self._add(entry, "link", "alternate", self.page_url)
        if self.abs_url:
            self._add(entry, "link", "related", self.abs_url)
        return entry

    def extend_rss(self, item: Any) -> Any:
        if self.abs_url:
            self._add(item, f"{{{_ATOM_NS}}}link", "related", self.abs_url)
        return item

    @staticmethod
    def _add(parent: Any, tag: str, rel: str, href: str) -> None:
        parent.append(parent.makeelement(tag, {"rel": rel, "type": "text/html", "href": href}))


def _rss_html(text: str) -> str:
    """RSS has no type attribute and readers render <description> as HTML: paper text goes in escaped, so an
    abstract's ``<img onerror=…>`` reads as text (Atom says type="text"; JSON Feed's summary is plain text)."""
    return html.escape(text, quote=False)


def _generator(fmt: str, meta: FeedMeta, items: Sequence[FeedItem]) -> Any:
    fg = FeedGenerator()
    title = _text(meta.title) or GENERATOR
    fg.id(_text(meta.feed_url))
    fg.title(title)
    # feedgen takes the channel <link> of RSS from the last link, so the page comes after the self link.
    fg.link(href=_text(meta.feed_url), rel="self", type=MEDIA_TYPES[fmt].split(";")[0])
    fg.link(href=_text(meta.page_url), rel="alternate", type="text/html")
    description = _text(meta.description) or title  # RSS requires a non-empty description
    fg.description(_rss_html(description) if fmt == "rss" else description)
    fg.language(LANGUAGE)
    fg.generator(GENERATOR)
    fg.updated(last_modified(meta, items))  # also lastBuildDate; feedgen would put the build time there
    if fmt == "atom":
        # Atom wants an author on the feed or on every entry; papers without authors get this one.
        fg.author({"name": GENERATOR})
    else:
        fg.load_extension("dc", atom=False, rss=True)
    for item in items:
        _add_entry(fg, fmt, item)
    return fg


def _add_entry(fg: Any, fmt: str, item: FeedItem) -> None:
    paper = item.paper
    fe = fg.add_entry(order="append")
    url = _text(item.url)
    fe.guid(url, permalink=True)
    fe.title(_text(paper.title) or paper.id)
    links = _EntryLinks()
    links.page_url = url
    links.abs_url = paper.abs_url
    fe.register_extension("paperfeed_links", lambda: links, atom=True, rss=True)
    if fmt == "rss":
        fe.link(href=url)  # the RSS <link>; Atom entry links come from the extension
    fe.content(_content_html(item), type="html")
    # RSS gets a description even without an abstract: feedgen writes content:encoded only next to one.
    summary = _text(paper.abstract) or (NO_ABSTRACT if fmt == "rss" else "")
    if summary:
        fe.summary(_rss_html(summary) if fmt == "rss" else summary)
    authors = _authors(paper)
    if authors:
        fe.author([{"name": name} for name in authors])
        if fmt == "rss":
            # RSS <author> must be an e-mail address (feedgen skips authors without one); dc:creator takes names.
            fe.dc.dc_creator(authors)
    categories = _categories(paper)
    if categories:
        fe.category([{"term": term} for term in categories])
    fe.published(_utc(item.published))
    fe.updated(_item_updated(item))


def _render_rss(meta: FeedMeta, items: Sequence[FeedItem]) -> bytes:
    body: bytes = _generator("rss", meta, items).rss_str(pretty=True, encoding="UTF-8")
    return body


def _render_atom(meta: FeedMeta, items: Sequence[FeedItem]) -> bytes:
    body: bytes = _generator("atom", meta, items).atom_str(pretty=True, encoding="UTF-8")
    return body


# --- JSON Feed -----------------------------------------------------------------------------------------------------


def _json_item(item: FeedItem) -> dict[str, Any]:
    paper = item.paper
    url = _text(item.url)
    entry: dict[str, Any] = {"id": url, "url": url}
    abs_url = paper.abs_url
    if abs_url:
        entry["external_url"] = abs_url
    entry["title"] = _text(paper.title) or paper.id
    entry["content_html"] = _content_html(item)
    entry["content_text"] = _content_text(item)
    abstract = _text(paper.abstract)
    if abstract:
        entry["summary"] = abstract
    entry["date_published"] = _utc(item.published).isoformat()
    entry["date_modified"] = _item_updated(item).isoformat()
    authors = _authors(paper)
    if authors:
        entry["authors"] = [{"name": name} for name in authors]
    categories = _categories(paper)
    if categories:
        entry["tags"] = categories
    return entry


def _render_json(meta: FeedMeta, items: Sequence[FeedItem]) -> bytes:
    title = _text(meta.title) or GENERATOR
    doc: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": title,
        "home_page_url": _text(meta.page_url),
        "feed_url": _text(meta.feed_url),
        "description": _text(meta.description) or title,
        "language": LANGUAGE,
        "items": [_json_item(item) for item in items],
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2)


_RENDERERS: dict[str, Callable[[FeedMeta, Sequence[FeedItem]], bytes]] = {
    "rss": _render_rss,
    "atom": _render_atom,
    "json": _render_json,
}
