"""The arXiv API (``export.arxiv.org/api/query``): its Atom parser and the id-lookup / search fetchers.

This module owns reading one API response page into papers (both the current 2026 layout and the legacy one, which
differ in namespaces, title style and link schemes but not in the entry fields we use) and the paging rules of the
API. The API is the only arXiv door that answers "give me these ids" or "search for this" on demand; bulk
harvesting goes through OAI-PMH instead. arXiv asks for one request every 3 seconds (``MIN_INTERVAL``).

It also holds the small XML helpers (``child_text``, ``iso_date``) that the
listing-feed parser (``arxiv_rss``) shares, since both read arXiv's Atom dialect.
"""

from __future__ import annotations

import email.utils
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from datetime import datetime

from paperfeed.errors import BadInput
from paperfeed.papers import Paper, ParsedItem, Rejection, checked, clean_text, one_line, split_arxiv_id, with_links
from paperfeed.sources import Batch, Head, ParsedPage
from paperfeed.sources.announcements import derived_days, parse_moment
from paperfeed.sources.http import PoliteClient
from paperfeed.sources.xmlbody import load_xml

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"

BASE_URL = "https://export.arxiv.org/api/query"
MIN_INTERVAL = 3.0
# arXiv serves at most 2000 entries per call; id lookups go in chunks small enough to keep the URL short.
MAX_PAGE_SIZE = 2000
LOOKUP_CHUNK = 100
# What tells an API response from other Atom feeds in a file's first few KB (the legacy feed has no opensearch
# up front, but names the query).
_MARKERS = (b"opensearch", b"arxiv.org/api", b"arxiv query")


def iso_date(text: str | None) -> str | None:
    """An ISO 8601 or RFC 822 timestamp → its calendar date as written (``YYYY-MM-DD``); None if unreadable.

    The date is taken in the timestamp's own zone on purpose: arXiv stamps announcements at midnight US Eastern,
    and a conversion to UTC would push any evening timestamp onto the next day.
    """
    if not text or not text.strip():
        return None
    text = text.strip()
    try:
        return datetime.fromisoformat(text).date().isoformat()
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(text).date().isoformat()
    except (TypeError, ValueError):
        return None


def child_text(element: ET.Element, tag: str) -> str | None:
    """The stripped text of the first ``tag`` child; None when absent or blank."""
    found = element.findtext(tag)
    return (found.strip() or None) if found is not None else None


def _int(root: ET.Element, tag: str, default: int) -> int:
    raw = child_text(root, tag)
    return int(raw) if raw is not None and raw.isdigit() else default


def sniff(head: Head) -> bool:
    """Does a file start like an API response? An Atom feed that names the API or OpenSearch."""
    return head.xml_root == "feed" and any(marker in head.folded for marker in _MARKERS)


def parse_api_feed(data: bytes, where: str = "arxiv-api") -> ParsedPage:
    """Parse one API response. Raises BadInput for malformed XML and for arXiv's own error entry."""
    root = load_xml(data, where)
    if root.tag != f"{ATOM}feed":
        raise BadInput(f"not an Atom feed (root element {root.tag})", where)
    entries = root.findall(f"{ATOM}entry")
    for entry in entries:
        # arXiv reports a bad query (e.g. a malformed id) as a feed with a single entry titled "Error".
        entry_id = child_text(entry, f"{ATOM}id") or ""
        if child_text(entry, f"{ATOM}title") == "Error" and "/api/errors" in entry_id:
            raise BadInput(one_line(entry.findtext(f"{ATOM}summary")) or "arXiv API error", where)
    items = [_entry(entry, index, where) for index, entry in enumerate(entries)]
    return ParsedPage(
        items=items,
        total=_int(root, f"{OPENSEARCH}totalResults", len(items)),
        start=_int(root, f"{OPENSEARCH}startIndex", 0),
        page_size=_int(root, f"{OPENSEARCH}itemsPerPage", len(items)),
    )


def _entry(entry: ET.Element, index: int, where: str) -> ParsedItem:
    raw_id = child_text(entry, f"{ATOM}id")
    parsed = split_arxiv_id(raw_id) if raw_id else None
    if parsed is None:
        return Rejection(f"{where}:entry[{index}]", f"no arXiv id in <id> {raw_id!r}")
    arxiv_id, version = parsed
    title = one_line(entry.findtext(f"{ATOM}title"))
    if not title:
        return Rejection(f"{where}:{arxiv_id}", "entry has no title")

    categories: list[str] = []
    primary = entry.find(f"{ARXIV}primary_category")
    for element in [primary, *entry.findall(f"{ATOM}category")]:
        term = (element.get("term") or "").strip() if element is not None else ""
        if term and term not in categories:
            categories.append(term)

    doi = child_text(entry, f"{ARXIV}doi")
    if doi is None:
        # Legacy responses sometimes carry the DOI only as a <link title="doi"> to a resolver.
        for link in entry.findall(f"{ATOM}link"):
            href = link.get("href") or ""
            if link.get("title") == "doi" and "doi.org/" in href:
                doi = href.split("doi.org/", 1)[1]
                break

    published = child_text(entry, f"{ATOM}published")
    paper = Paper(
        id=arxiv_id,
        title=title,
        abstract=clean_text(entry.findtext(f"{ATOM}summary")),
        version=version,
        authors=[name for a in entry.findall(f"{ATOM}author") if (name := one_line(a.findtext(f"{ATOM}name")))],
        categories=categories,
        submitted=iso_date(published),
        updated=iso_date(child_text(entry, f"{ATOM}updated")),
        comments=one_line(entry.findtext(f"{ARXIV}comment")) or None,
        journal_ref=one_line(entry.findtext(f"{ARXIV}journal_ref")) or None,
        doi=doi,
        # The API does not say when the paper was announced: its first version's time says when it was due.
        listing_days=derived_days(parse_moment(published)),
        source="arxiv-api",
    )
    # The first version's submission time, to the second (``submitted`` keeps only its day): HF's publishedAt.
    if published:
        paper.signals["submitted_at"] = published
    return checked(with_links(paper), f"{where}:{arxiv_id}")


def _query(client: PoliteClient, base_url: str, params: Mapping[str, str | int], where: str) -> ParsedPage:
    # 400 is arXiv's answer to a bad query; its body names the problem, so parse it rather than fail blind.
    response = client.get(base_url, params=params, ok=(200, 400))
    page = parse_api_feed(response.body, where)
    if response.status == 400:
        raise BadInput("arXiv refused the query (HTTP 400)", where)
    return page


def _normalise_id(raw: str) -> str:
    parsed = split_arxiv_id(raw)
    if parsed is None:
        return raw.strip()  # let arXiv judge it: its error names the bad id
    arxiv_id, version = parsed
    return f"{arxiv_id}v{version}" if version else arxiv_id


def lookup_ids(client: PoliteClient, ids: list[str], base_url: str = BASE_URL) -> list[ParsedItem]:
    """Fetch these papers (ids with or without version). Ids arXiv does not know simply yield nothing.

    A malformed id makes arXiv refuse the whole request: that raises BadInput naming the id.
    """
    wanted = list(dict.fromkeys(_normalise_id(raw) for raw in ids if raw.strip()))
    items: list[ParsedItem] = []
    for offset in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = ",".join(wanted[offset : offset + LOOKUP_CHUNK])
        params: dict[str, str | int] = {"id_list": chunk, "start": 0, "max_results": LOOKUP_CHUNK}
        items.extend(_query(client, base_url, params, f"arxiv-api id_list={chunk}").items)
    return items


def search_api(
    client: PoliteClient,
    query: str,
    *,
    max_results: int = 100,
    page_size: int = 100,
    base_url: str = BASE_URL,
    sort_by: str = "relevance",
    sort_order: str = "descending",
) -> Iterator[Batch]:
    """Run an API search (``search_query`` syntax, e.g. ``cat:cs.LG AND ti:diffusion``), one Batch per page.

    Stops at ``max_results`` items, at the reported total, or at a page with no entries (arXiv sometimes returns
    an empty page before the total is reached; asking again later is the caller's choice).
    """
    if not query.strip():
        raise BadInput("empty search query", "query")
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    start = 0
    fetched = 0
    while fetched < max_results:
        want = min(page_size, max_results - fetched)
        params: dict[str, str | int] = {
            "search_query": query,
            "start": start,
            "max_results": want,
            "sortBy": sort_by,
            "sortOrder": sort_order,
        }
        page = _query(client, base_url, params, f"arxiv-api search_query={query} start={start}")
        if not page.items:
            break
        items = page.items[: max_results - fetched]
        total = page.total if page.total is not None else start + len(page.items)
        yield Batch(items, meta={"query": query, "start": start, "total_results": total})
        fetched += len(items)
        # Advance by what arrived, not by what was asked: a short page then gets its missing tail re-requested.
        start += len(page.items)
        if start >= total:
            break
