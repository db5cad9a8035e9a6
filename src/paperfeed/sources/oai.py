"""arXiv OAI-PMH responses → papers: a pure parser over one response page (no I/O).

OAI-PMH is arXiv's bulk metadata feed and the only source that can backfill a whole category or catch every
metadata update since a date. This module owns reading one page of it: ``GetRecord``, ``ListRecords`` and
``ListIdentifiers`` responses in the ``arXiv`` and ``arXivRaw`` metadata formats, the page's resumption token,
records marked deleted, and OAI error replies. Paging, politeness and checkpoints live in ``harvest.py``.

Elements are matched by local name rather than by namespace: arXiv has always sent its documented namespaces,
but test suites and mirrors in the wild drop the ``arXiv`` element's ``xmlns``, and there is no ambiguity to
guard against within one record.
"""

from __future__ import annotations

import email.utils
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date

from paperfeed.errors import BadInput, SourceError
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
from paperfeed.sources.announcements import derived_days, parse_moment
from paperfeed.sources.xmlbody import load_xml

SOURCE = "arxiv-oai"
OAI_ID_PREFIX = "oai:arXiv.org:"
# The one OAI error that is not a failure: an incremental harvest with nothing new since ``from``.
NO_RECORDS_MATCH = "noRecordsMatch"
_LIST_VERBS = ("GetRecord", "ListRecords", "ListIdentifiers")
# Valid OAI-PMH answers that carry no records; reading one as an empty page is better than refusing it.
_OTHER_VERBS = ("Identify", "ListSets", "ListMetadataFormats")
_DOI_SPLIT_RE = re.compile(r"[\s,;]+")


class OaiError(SourceError):
    """The repository answered with an OAI-PMH ``<error code="…">`` (badArgument, badResumptionToken, …)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"OAI-PMH error {code}: {message}" if message else f"OAI-PMH error {code}")


def sniff(head: Head) -> bool:
    """Does a file start like an OAI-PMH response?"""
    return head.xml_root == "OAI-PMH"


def parse_oai_page(data: bytes, where: str = "oai") -> ParsedPage:
    """Parse one OAI-PMH response body (``deleted`` holds versionless arXiv ids; other repositories' identifiers
    are kept verbatim). Raises ``OaiError`` for error replies (except noRecordsMatch, which is an
    empty page) and ``BadInput`` (``where`` = ``"{where}:{line}"``) when the body is not well-formed OAI-PMH."""
    root = load_xml(data, where)
    if _local(root.tag) != "OAI-PMH":
        raise BadInput(f"not an OAI-PMH response (root element <{_local(root.tag)}>)", f"{where}:1")
    page = ParsedPage(response_date=_child_text(root, "responseDate") or None)
    error = _child(root, "error")
    if error is not None:
        code = error.get("code") or "unknown"
        if code == NO_RECORDS_MATCH:
            return page
        raise OaiError(code, " ".join((error.text or "").split()))
    body = next((el for el in root if _local(el.tag) in _LIST_VERBS + _OTHER_VERBS), None)
    if body is None:
        raise BadInput("OAI-PMH response holds neither records nor an error", f"{where}:1")
    for element in body:
        name = _local(element.tag)
        if name == "record":
            _read_record(element, where, page)
        elif name == "header":  # ListIdentifiers: headers only, no metadata
            _read_header(element, page)
        elif name == "resumptionToken":
            page.resumption_token = (element.text or "").strip() or None
            page.total = _int_or_none(element.get("completeListSize"))
            page.start = _int_or_none(element.get("cursor"))
    return page


def _read_header(header: ET.Element, page: ParsedPage) -> bool:
    """Record a deleted header in ``page.deleted``; True when the header was a deletion."""
    if header.get("status") != "deleted":
        return False
    identifier = _child_text(header, "identifier")
    parsed = split_arxiv_id(identifier.removeprefix(OAI_ID_PREFIX))
    page.deleted.append(parsed[0] if parsed else identifier)
    return True


def _read_record(record: ET.Element, where: str, page: ParsedPage) -> None:
    header = _child(record, "header")
    if header is not None and _read_header(header, page):
        return
    identifier = _child_text(header, "identifier").removeprefix(OAI_ID_PREFIX) if header is not None else ""
    container = _child(record, "metadata")
    metadata = next(iter(container), None) if container is not None else None
    if metadata is None:
        page.items.append(Rejection(f"{where}:{identifier or '?'}", "record has no metadata"))
    elif _local(metadata.tag) == "arXiv":
        page.items.append(_from_arxiv(metadata, where, identifier))
    elif _local(metadata.tag) == "arXivRaw":
        page.items.append(_from_arxiv_raw(metadata, where, identifier))
    else:
        reason = f"unsupported metadata format <{_local(metadata.tag)}>"
        page.items.append(Rejection(f"{where}:{identifier or '?'}", reason))


def _from_arxiv(metadata: ET.Element, where: str, identifier: str) -> ParsedItem:
    """``metadataPrefix=arXiv``: structured authors, ISO ``created``/``updated``, no version number."""
    fields = _simple_fields(metadata)
    authors: list[str] = []
    for author in _children(_child(metadata, "authors"), "author"):
        parts = [_child_text(author, "forenames")]
        parts += [_text(k) for k in _children(author, "keyname")]
        parts.append(_child_text(author, "suffix"))
        name = " ".join(" ".join(parts).split())
        # arXiv keeps separators such as ":" (between "BICEP2 Collaboration" and its members) as authors.
        if any(ch.isalnum() for ch in name):
            authors.append(name)
    submitted = _iso_date(fields.get("created"))
    # <updated> is only present once there is a second version, so the latest version date is otherwise v1's
    # (the same as arXivRaw and the arXiv API report).
    updated = _iso_date(fields.get("updated")) or submitted
    return _paper(fields, where, identifier, authors, version=None, submitted=submitted, updated=updated)


def _from_arxiv_raw(metadata: ET.Element, where: str, identifier: str) -> ParsedItem:
    """``metadataPrefix=arXivRaw``: one author string, and every version with its submission date."""
    fields = _simple_fields(metadata)
    stamps: dict[int, str] = {}
    for element in _children(metadata, "version"):
        number = _int_or_none((element.get("version") or "").lstrip("vV"))
        if number is not None:
            stamps[number] = _child_text(element, "date")
    versions = {number: _rfc822_date(stamp) for number, stamp in stamps.items()}
    latest = max(versions) if versions else None
    submitted = versions[min(versions)] if versions else None
    updated = versions[latest] if latest is not None else None
    authors = split_authors(fields.get("authors", ""))
    paper = _paper(fields, where, identifier, authors, version=latest, submitted=submitted, updated=updated)
    if isinstance(paper, Paper) and stamps:
        # OAI-PMH does not say when a paper was announced; the first version's time says when it was due.
        paper.listing_days = derived_days(parse_moment(stamps[min(stamps)]))
    return paper


def _paper(
    fields: dict[str, str],
    where: str,
    identifier: str,
    authors: list[str],
    *,
    version: int | None,
    submitted: str | None,
    updated: str | None,
) -> ParsedItem:
    raw_id = fields.get("id", "").strip() or identifier
    parsed = split_arxiv_id(raw_id) if raw_id else None
    if parsed is None:
        return Rejection(f"{where}:{raw_id or '?'}", f"no arXiv id in record ({raw_id!r})")
    arxiv_id, id_version = parsed
    # clean_text keeps a line that starts with two spaces as a new paragraph, which is right for abstracts but
    # arXiv also indents the continuation lines of long titles and comments that way: those become one line.
    title = one_line(fields.get("title"))
    if not title:
        return Rejection(f"{where}:{arxiv_id}", "record has no title")
    paper = Paper(
        id=arxiv_id,
        title=title,
        abstract=clean_text(fields.get("abstract")),
        version=version if version is not None else id_version,
        authors=authors,
        categories=list(dict.fromkeys(fields.get("categories", "").split())),
        submitted=submitted,
        updated=updated,
        comments=one_line(fields.get("comments")) or None,
        journal_ref=one_line(fields.get("journal-ref")) or None,
        doi=_first_doi(fields.get("doi")),
        license=fields.get("license", "").strip() or None,
        source=SOURCE,
    )
    return checked(with_links(paper), f"{where}:{arxiv_id}")


def _simple_fields(metadata: ET.Element) -> dict[str, str]:
    """Text of the metadata's leaf children by local name (first occurrence wins)."""
    fields: dict[str, str] = {}
    for child in metadata:
        if len(child) == 0:
            fields.setdefault(_local(child.tag), child.text or "")
    return fields


def _first_doi(value: str | None) -> str | None:
    # arXiv separates several DOIs (article + erratum) with spaces; the first is the article's own.
    dois = [d for d in _DOI_SPLIT_RE.split(value or "") if d]
    return dois[0] if dois else None


def _iso_date(value: str | None) -> str | None:
    try:
        return date.fromisoformat((value or "").strip()[:10]).isoformat()
    except ValueError:
        return None


def _rfc822_date(value: str) -> str | None:
    """``'Fri, 8 Feb 2013 21:00:01 GMT'`` → ``'2013-02-08'`` (the UTC day)."""
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return _iso_date(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date().isoformat()


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _children(parent: ET.Element | None, name: str) -> list[ET.Element]:
    return [] if parent is None else [el for el in parent if _local(el.tag) == name]


def _child(parent: ET.Element | None, name: str) -> ET.Element | None:
    found = _children(parent, name)
    return found[0] if found else None


def _text(element: ET.Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _child_text(parent: ET.Element | None, name: str) -> str:
    return _text(_child(parent, name))
