"""arXiv's daily listing feeds (``rss.arxiv.org/atom/<cat>`` and ``/rss/<cat>``): parser and fetcher.

This module owns reading one day's listing into papers. The feeds are the cheapest way to learn what was announced
today and *how* (``new``, ``cross``, ``replace``, ``replace-cross``), which the API and OAI-PMH do not say; that kind
goes into ``listing_days``. arXiv serves the same content in two flavours, Atom and RSS 2.0, and both are read here.
The feed carries no submission dates, comments or journal refs: those come from the other arXiv sources.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from paperfeed.errors import BadInput
from paperfeed.papers import (
    Paper,
    ParsedItem,
    Rejection,
    checked,
    clean_text,
    one_line,
    split_arxiv_id,
    split_authors,
    with_links,
)
from paperfeed.sources import Head, ParsedPage
from paperfeed.sources.arxiv_api import ARXIV, ATOM, child_text, iso_date
from paperfeed.sources.http import PoliteClient
from paperfeed.sources.xmlbody import load_xml

DC = "{http://purl.org/dc/elements/1.1/}"
_MARKERS = (b"announce_type", b"rss.arxiv.org")

BASE_URL = "https://rss.arxiv.org/atom"
# Every abstract starts "arXiv:2509.12345v1 Announce Type: new \nAbstract: "; the rest is the real abstract.
_PREFIX_RE = re.compile(
    r"^\s*arXiv:(?P<id>\S+)\s+Announce\s+Type:\s*(?P<kind>[\w-]+)\s*(?:Abstract:\s*)?", re.IGNORECASE
)
_OAI_PREFIX_RE = re.compile(r"^oai:arXiv\.org:", re.IGNORECASE)
_CATEGORY_RE = re.compile(r"^[A-Za-z][A-Za-z.\-]*(?:\+[A-Za-z][A-Za-z.\-]*)*$")


@dataclass
class _Fields:
    """One entry's raw fields, whichever flavour they came from."""

    guid: str | None
    link: str | None
    title: str | None
    summary: str | None
    published: str | None
    kind: str | None
    rights: str | None
    creators: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)


def _atom_fields(entry: ET.Element) -> _Fields:
    link = next((e.get("href") for e in entry.findall(f"{ATOM}link") if e.get("rel", "alternate") == "alternate"), None)
    return _Fields(
        guid=child_text(entry, f"{ATOM}id"),
        link=link,
        title=entry.findtext(f"{ATOM}title"),
        summary=entry.findtext(f"{ATOM}summary"),
        published=child_text(entry, f"{ATOM}published") or child_text(entry, f"{ATOM}updated"),
        kind=child_text(entry, f"{ARXIV}announce_type"),
        rights=child_text(entry, f"{DC}rights"),
        creators=[e.text for e in entry.findall(f"{DC}creator") if e.text],
        categories=[term for e in entry.findall(f"{ATOM}category") if (term := (e.get("term") or "").strip())],
    )


def _rss_fields(item: ET.Element) -> _Fields:
    return _Fields(
        guid=child_text(item, "guid"),
        link=child_text(item, "link"),
        title=item.findtext("title"),
        summary=item.findtext("description"),
        published=child_text(item, "pubDate"),
        kind=child_text(item, f"{ARXIV}announce_type"),
        rights=child_text(item, f"{DC}rights"),
        creators=[e.text for e in item.findall(f"{DC}creator") if e.text],
        categories=[term for e in item.findall("category") if (term := (e.text or "").strip())],
    )


def sniff(head: Head) -> bool:
    """Does a file start like a listing feed? RSS 2.0, arXiv's older RSS 1.0 (rdf:RDF), or an Atom feed that
    carries the listing's marks (API responses are told apart first, by their registry entry's sniffer)."""
    if head.xml_root in ("rss", "RDF"):
        return True
    return head.xml_root == "feed" and any(marker in head.folded for marker in _MARKERS)


def parse_listing_feed(data: bytes, where: str = "arxiv-rss") -> ParsedPage:
    """Parse one listing feed (Atom or RSS 2.0). An empty listing (weekends, holidays) gives no items."""
    root = load_xml(data, where)
    if root.tag == f"{ATOM}feed":
        fields = [_atom_fields(e) for e in root.findall(f"{ATOM}entry")]
        feed_date = iso_date(child_text(root, f"{ATOM}published")) or iso_date(child_text(root, f"{ATOM}updated"))
    elif root.tag == "rss":
        channel = root.find("channel")
        if channel is None:
            raise BadInput("RSS feed without <channel>", where)
        fields = [_rss_fields(e) for e in channel.findall("item")]
        feed_date = iso_date(child_text(channel, "pubDate")) or iso_date(child_text(channel, "lastBuildDate"))
    else:
        raise BadInput(f"not an Atom or RSS feed (root element {root.tag})", where)
    return ParsedPage([_paper(f, index, where, feed_date) for index, f in enumerate(fields)])


def _paper(f: _Fields, index: int, where: str, feed_date: str | None) -> ParsedItem:
    summary = f.summary or ""
    prefix = _PREFIX_RE.match(summary)
    # The guid is "oai:arXiv.org:<id>v<n>", which split_arxiv_id does not read by itself; the abstract prefix and
    # the link are fallbacks (the link has no version).
    candidates = [_OAI_PREFIX_RE.sub("", f.guid or ""), prefix.group("id") if prefix else "", f.link or ""]
    parsed = next((p for c in candidates if c and (p := split_arxiv_id(c)) is not None), None)
    if parsed is None:
        return Rejection(f"{where}:entry[{index}]", f"no arXiv id in entry (id {f.guid!r}, link {f.link!r})")
    arxiv_id, version = parsed
    title = one_line(f.title)
    if not title:
        return Rejection(f"{where}:{arxiv_id}", "entry has no title")

    # An entry without announce_type is not in arXiv's current format; "listed" says we saw it without guessing.
    kind = (f.kind or (prefix.group("kind") if prefix else "") or "listed").lower()
    day = iso_date(f.published) or feed_date
    authors = [name for creator in f.creators for name in split_authors(creator)]
    paper = Paper(
        id=arxiv_id,
        title=title,
        abstract=clean_text(summary[prefix.end() :] if prefix else summary),
        version=version,
        authors=authors,
        categories=list(dict.fromkeys(f.categories)),
        # Only a "new" listing is the paper's first announcement; cross/replace entries are older papers.
        announced=day if kind == "new" else None,
        license=f.rights,
        listing_days={day: kind} if day else {},
        source="arxiv-rss",
    )
    return checked(with_links(paper), f"{where}:{arxiv_id}")


def fetch_listing(client: PoliteClient, category: str, base_url: str = BASE_URL) -> list[ParsedItem]:
    """Today's listing for ``category`` (e.g. ``cs.LG``, or ``cs.LG+stat.ML`` for several at once)."""
    category = category.strip()
    if not _CATEGORY_RE.match(category):
        raise BadInput(f"not an arXiv category: {category!r}", "category")
    response = client.get(f"{base_url.rstrip('/')}/{category}")
    return parse_listing_feed(response.body, f"arxiv-rss {category}").items
