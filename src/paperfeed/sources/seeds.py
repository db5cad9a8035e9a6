"""The "Daily Papers" page saved as text: the document format paperfeed is modelled on, and its demo corpus.

A page is blank-line separated blocks: a header (``New`` / ``Get trending papers in your email inbox!`` /
``Subscribe`` / sometimes ``Daily Papers`` / ``byAK and the research community``), a date line (``Mar 14``), then
title and abstract blocks in turn. No arXiv id is given, so each paper gets ``papers.content_id(title)``: the
same paper on two pages gets the same id, and its sightings merge.

The year: the pages print ``Mar 14`` with no year, so ``year`` defaults to ``DEFAULT_SEED_YEAR`` = 2025, the
earliest year consistent with the bundled pages' content. The ``Jul 29`` page lists ten papers that are also in
the arXiv listings archive (Mar 2025 – Jul 2026), the newest first announced on 2025-07-11 (arXiv 2507.07995); a
``Mar 14`` page announces a data set "to support an AAPM 2025 challenge"; and the ``Mar`` pages share none of
their papers with the archive, which starts on 2025-03-18, as pages from early March 2025 would. A date line
that carries a year (``Mar 14, 2025``) wins over both the default and ``year``.
"""

from __future__ import annotations

import datetime
import re

from paperfeed.errors import BadInput
from paperfeed.papers import Paper, ParsedItem, Rejection, checked, clean_text, content_id, one_line, with_links
from paperfeed.sources import Head, ParsedPage

DEFAULT_SEED_YEAR = 2025

# Header lines as the saved pages spell them (compared case-folded: the pages say "new" where the site says "New").
HEADER_LINES = frozenset(
    {"new", "get trending papers in your email inbox!", "subscribe", "daily papers", "byak and the research community"}
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DATE_RE = re.compile(r"^(?P<month>[A-Za-z]{3})[a-z]*\.?\s+(?P<day>\d{1,2})(?:,?\s+(?P<year>\d{4}))?$")
# Real titles on these pages are at most ~200 characters and abstracts at least ~1,300; a "title" block longer
# than this is an abstract whose title went missing, and pairing must resynchronise rather than shift by one.
MAX_TITLE_CHARS = 400


def looks_like_seed_page(text: str) -> bool:
    """True when the text opens with the Daily Papers header (used by format detection)."""
    for line in text.splitlines():
        if line.strip():
            return line.strip().casefold() in HEADER_LINES
    return False


def sniff(head: Head) -> bool:
    """Does a file start like a saved page? Plain text (not JSON or XML) that opens with the page header."""
    if head.text[:1] in (b"{", b"[", b"<"):
        return False
    return looks_like_seed_page(head.text.decode("utf-8", errors="replace"))


def parse_seed_page(data: bytes, where: str, year: int | None = None) -> ParsedPage:
    """Parse one saved page into papers (``source="seeds"``, ``listing_days={page date: "seed"}``).

    Raises ``BadInput`` when the page is not a Daily Papers page (undecodable, no header, no date line). A title
    with no abstract after it, or an abstract-sized block where a title belongs, becomes a ``Rejection``.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BadInput(f"not UTF-8 text ({exc.reason})", f"{where}:{line}") from exc
    blocks = _blocks(text)
    day: str | None = None
    body = 0
    for body, (lineno, block) in enumerate(blocks):  # noqa: B007 - body is used after the loop
        day = _page_date(block, year)
        if day is not None:
            break
        if block.casefold() not in HEADER_LINES:
            raise BadInput(
                f"not a Daily Papers page: expected the page header, found {block[:60]!r}", f"{where}:{lineno}"
            )
    if day is None:
        raise BadInput("Daily Papers page without a date line", f"{where}:{blocks[-1][0] if blocks else 1}")

    items: list[ParsedItem] = []
    i = body + 1
    while i < len(blocks):
        lineno, title = blocks[i]
        # A page may cover several days: a later date line switches the day for the papers below it.
        next_day = _page_date(title, year)
        if next_day is not None:
            day = next_day
            i += 1
            continue
        if len(title) > MAX_TITLE_CHARS:
            items.append(Rejection(f"{where}:{lineno}", f"expected a title, found a {len(title)}-character paragraph"))
            i += 1
            continue
        if i + 1 >= len(blocks):
            items.append(Rejection(f"{where}:{lineno}", f"title without abstract: {title[:80]!r}"))
            break
        abstract = blocks[i + 1][1]
        paper = Paper(
            id=content_id(title),
            title=one_line(title),
            abstract=clean_text(abstract),
            listing_days={day: "seed"},
            source="seeds",
        )
        items.append(checked(with_links(paper), f"{where}:{lineno}"))
        i += 2
    return ParsedPage(items)


def _blocks(text: str) -> list[tuple[int, str]]:
    """Blank-line separated blocks as ``(first line number, text)``, lines stripped."""
    blocks: list[tuple[int, str]] = []
    current: list[str] = []
    start = 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line:
            if not current:
                start = lineno
            current.append(line)
        elif current:
            blocks.append((start, "\n".join(current)))
            current = []
    if current:
        blocks.append((start, "\n".join(current)))
    return blocks


def _page_date(block: str, year: int | None) -> str | None:
    m = _DATE_RE.match(block)
    if m is None or m.group("month").casefold() not in _MONTHS:
        return None
    page_year = int(m.group("year")) if m.group("year") else (year if year is not None else DEFAULT_SEED_YEAR)
    try:
        return datetime.date(page_year, _MONTHS.index(m.group("month").casefold()) + 1, int(m.group("day"))).isoformat()
    except ValueError:  # "Feb 30" is not a date line, whatever else it is
        return None
