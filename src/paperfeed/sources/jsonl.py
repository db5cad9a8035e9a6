"""JSON Lines sources: the Kaggle arXiv snapshot, the daily-listings archive and paperfeed's own export.

All three are one JSON object per line and can be huge (the Kaggle snapshot has 2.7M lines), so parsing streams
line by line and keeps the per-record work small: one ``orjson.loads``, a dict lookup per field, no regex beyond
what text normalisation needs. A line that is not JSON, or a record without an id or title, becomes a
``Rejection("file:line", reason)`` and parsing goes on. ``export_record`` writes paperfeed's own format, which
``parse_jsonl`` reads back field for field.
"""

from __future__ import annotations

import datetime
import email.utils
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson

from paperfeed.errors import BadInput
from paperfeed.papers import (
    LISTING_KIND_NAMES,
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
from paperfeed.sources import Head
from paperfeed.sources.announcements import derived_days, parse_moment

JSONL_FORMATS = ("paperfeed", "kaggle", "listings", "beir")
# BEIR documents get content-style ids (not arXiv ids, so no arXiv links are made for them).
BEIR_ID_PREFIX = "pf-beir-"
# Standard BEIR collections hold a few documents with neither title nor text (Cranfield has two): the evaluation
# skips them by this reason rather than refusing the collection.
EMPTY_DOCUMENT = "empty document (no title or text)"

_MONTHS = {
    m: f"{i:02d}"
    for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)
}
_URL_VERSION_RE = re.compile(r"(?<=\d)v(\d+)(?:\.pdf)?$")
_BOM = b"\xef\xbb\xbf"
# Longer than any record within the field limits (papers.MAX_TEXT and friends); readers pass at most one byte more
# of such a line, so a hostile file cannot make a reader hold an unbounded line.
MAX_LINE = 32 * 2**20
_PAPER_LIST_FIELDS = ("authors", "categories", "code_urls", "project_urls")
_PAPER_DICT_FIELDS = ("listing_days", "signals", "sightings")
_PAPER_TEXT_FIELDS = ("abstract", "source")
_PAPER_NULLABLE_TEXT_FIELDS = ("submitted", "updated", "announced", "comments", "journal_ref", "doi", "license")

Converter = Callable[[dict[str, Any], str, int], ParsedItem]


def detect_jsonl_format(record: dict[str, Any]) -> str | None:
    """Which JSON Lines format a record belongs to, judged by its keys; None when none fits."""
    if "listing_days" in record and "source" in record and "title" in record:
        return "paperfeed"
    if "id" in record and ("versions" in record or "authors_parsed" in record or "update_date" in record):
        return "kaggle"
    if "listing_dates" in record and "summary" in record:
        return "listings"
    if "_id" in record and "text" in record:
        return "beir"
    return None


def sniffer(fmt: str) -> Callable[[Head], bool]:
    """The sniffer of one JSON Lines format: judged by the head's first object, else by a long first line's keys."""

    def sniff(head: Head) -> bool:
        shown = head.record if head.record is not None else head.cut_line_keys
        return shown is not None and detect_jsonl_format(shown) == fmt

    return sniff


def reader(fmt: str) -> Callable[[Iterable[bytes], str], Iterator[ParsedItem]]:
    """The streaming parser of one JSON Lines format (files of these formats run to gigabytes: never read whole)."""

    def read(lines: Iterable[bytes], where: str) -> Iterator[ParsedItem]:
        return parse_jsonl(lines, where, fmt)

    return read


def parse_jsonl(lines: Iterable[bytes], where: str, fmt: str | None = None) -> Iterator[ParsedItem]:
    """Parse JSON Lines (``fmt`` one of ``JSONL_FORMATS``; None = detect from the first record's keys).

    Line numbers start at 1. Raises ``BadInput`` only when the format cannot be told (unknown ``fmt``, or the
    first JSON object matches no format); everything else is localised to a ``Rejection``.
    """
    convert: Converter | None = None
    if fmt is not None:
        if fmt not in _CONVERTERS:
            raise BadInput(f"unknown JSON Lines format {fmt!r} (expected one of {', '.join(JSONL_FORMATS)})", where)
        convert = _CONVERTERS[fmt]
    loads = orjson.loads
    for lineno, line in enumerate(lines, 1):
        if len(line) > MAX_LINE:
            yield Rejection(f"{where}:{lineno}", f"line longer than {MAX_LINE // 2**20} MB")
            continue
        try:
            record = loads(line)
        except orjson.JSONDecodeError as exc:
            # The exception path is the cheap place to look for blank lines and a BOM: the hot path stays one call.
            if not line.strip():
                continue
            if lineno == 1 and line.startswith(_BOM):
                try:
                    record = loads(line[len(_BOM) :])
                except orjson.JSONDecodeError as exc2:
                    yield Rejection(f"{where}:{lineno}", f"broken JSON: {exc2}")
                    continue
            else:
                yield Rejection(f"{where}:{lineno}", f"broken JSON: {exc}")
                continue
        if type(record) is not dict:
            yield Rejection(f"{where}:{lineno}", f"expected a JSON object, got {type(record).__name__}")
            continue
        if convert is None:
            detected = detect_jsonl_format(record)
            if detected is None:
                keys = ", ".join(sorted(record)[:12])
                raise BadInput(f"JSON record of unknown format (keys: {keys})", f"{where}:{lineno}")
            convert = _CONVERTERS[detected]
        yield checked(convert(record, where, lineno), f"{where}:{lineno}")


def export_record(paper: Paper) -> bytes:
    """One line of paperfeed's export (``Paper.to_dict()`` as JSON, no trailing newline)."""
    # orjson serialises dataclasses natively, field for field like dataclasses.asdict but without its deep copy,
    # which matters when exporting millions of papers.
    return orjson.dumps(paper)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _title(value: Any) -> str:
    # Kaggle titles wrap with an indented continuation line, which clean_text would read as a paragraph break.
    return one_line(value) if isinstance(value, str) else ""


def _line(value: Any) -> str | None:
    """Short free text (comments, journal refs): hard wraps and indentation collapsed to single spaces."""
    return (one_line(value) or None) if isinstance(value, str) else None


def _links(paper: Paper) -> Paper:
    # A URL needs "://": most abstracts have none, and skipping with_links for them saves a regex scan.
    if "://" in paper.abstract or (paper.comments is not None and "://" in paper.comments):
        return with_links(paper)
    return paper


def _arxiv_id(record: dict[str, Any], where: str, lineno: int) -> tuple[str, int | None] | Rejection:
    raw = record.get("id")
    if not isinstance(raw, str) or not raw.strip():
        return Rejection(f"{where}:{lineno}", "record without id")
    parsed = split_arxiv_id(raw)
    if parsed is None:
        return Rejection(f"{where}:{lineno}", f"not an arXiv id: {raw!r}")
    return parsed


def _rfc2822_day(text: Any) -> str | None:
    """``'Mon, 2 Apr 2007 19:18:42 GMT'`` → ``'2007-04-02'`` (the day as written, in the stamp's own zone)."""
    if not isinstance(text, str):
        return None
    parts = text.split()
    if parts and parts[0].endswith(","):
        parts = parts[1:]
    if len(parts) >= 3 and parts[1] in _MONTHS and parts[0].isdigit() and parts[2].isdigit() and len(parts[2]) == 4:
        return f"{parts[2]}-{_MONTHS[parts[1]]}-{int(parts[0]):02d}"
    try:  # the fast path above covers every stamp in the snapshot; this is for odd spellings
        return email.utils.parsedate_to_datetime(text).date().isoformat()
    except (TypeError, ValueError, IndexError):
        return None


def _rfc2822_moment(text: Any) -> datetime.datetime | None:
    """``'Mon, 2 Apr 2007 19:18:42 GMT'`` → that moment (UTC); the snapshot's stamps are all GMT, read by hand
    because ``email.utils`` is ten times slower and this runs once per record of a 2.7M-line file."""
    if not isinstance(text, str):
        return None
    parts = text.split()
    if len(parts) == 6 and parts[5] in ("GMT", "UTC", "+0000") and parts[2] in _MONTHS:
        clock = parts[4].split(":")
        if parts[1].isdigit() and parts[3].isdigit() and len(clock) == 3 and all(c.isdigit() for c in clock):
            try:
                hour, minute, second = (int(c) for c in clock)
                year, month, day = int(parts[3]), int(_MONTHS[parts[2]]), int(parts[1])
                return datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.UTC)
            except ValueError:
                return None
    return parse_moment(text)


def _kaggle_authors(record: dict[str, Any]) -> list[str]:
    parsed = record.get("authors_parsed")
    if isinstance(parsed, list) and parsed:
        names = []
        for entry in parsed:
            if isinstance(entry, list) and entry:
                # [last, first, suffix, (affiliation…)]: the name is the first three, in reading order.
                parts = [p.strip() if isinstance(p, str) else "" for p in entry[:3]]
                parts += [""] * (3 - len(parts))
                name = " ".join(p for p in (parts[1], parts[0], parts[2]) if p)
                if name:
                    names.append(name)
        if names:
            return names
    raw = record.get("authors")
    return split_authors(raw) if isinstance(raw, str) else []


def _id_and_title(record: dict[str, Any], where: str, lineno: int) -> tuple[tuple[str, int | None], str] | Rejection:
    """The arXiv id (with version) and title every arXiv record needs, or why the record is refused."""
    ident = _arxiv_id(record, where, lineno)
    if isinstance(ident, Rejection):
        return ident
    title = _title(record.get("title"))
    if not title:
        return Rejection(f"{where}:{lineno}", f"record {ident[0]} without title")
    return ident, title


def _list(value: Any) -> list[Any]:
    """A field that should hold a JSON array, as a list: anything else (true, a string, an object) holds nothing."""
    return value if isinstance(value, list) else []


def _from_kaggle(record: dict[str, Any], where: str, lineno: int) -> ParsedItem:
    head = _id_and_title(record, where, lineno)
    if isinstance(head, Rejection):
        return head
    (pid, version), title = head
    submitted = updated = None
    numbered = []
    for entry in _list(record.get("versions")):
        tag = entry.get("version") if isinstance(entry, dict) else None
        if isinstance(tag, str) and tag[1:].isdigit():
            numbered.append((int(tag[1:]), entry.get("created")))
    listing_days: dict[str, str] = {}
    if numbered:
        numbered.sort(key=lambda v: v[0])
        version = numbered[-1][0]
        submitted = _rfc2822_day(numbered[0][1])
        updated = _rfc2822_day(numbered[-1][1])
        # The snapshot does not say when a paper was announced; the first version's time says when it was due.
        listing_days = derived_days(_rfc2822_moment(numbered[0][1]))
    update_date = _text(record.get("update_date"))
    categories = record.get("categories")
    paper = Paper(
        id=pid,
        title=title,
        abstract=clean_text(_text(record.get("abstract"))),
        version=version,
        authors=_kaggle_authors(record),
        categories=categories.split() if isinstance(categories, str) else [],
        submitted=submitted,
        # Without a versions list the snapshot's own update_date is the best "last changed" day we have.
        updated=updated or update_date,
        comments=_line(record.get("comments")),
        journal_ref=_line(record.get("journal-ref")),
        doi=_text(record.get("doi")),
        license=_text(record.get("license")),
        listing_days=listing_days,
        source="kaggle",
    )
    return _links(paper)


def _from_listings(record: dict[str, Any], where: str, lineno: int) -> ParsedItem:
    head = _id_and_title(record, where, lineno)
    if isinstance(head, Rejection):
        return head
    (pid, version), title = head
    if version is None:
        for url in (record.get("abs"), record.get("pdf")):
            # rfind gate: most URLs carry no version, and two rfinds are cheaper than a regex search.
            if isinstance(url, str) and url.rfind("v") > url.rfind("/") and (m := _URL_VERSION_RE.search(url)):
                version = int(m.group(1))
                break
    dates = sorted({d for d in _list(record.get("listing_dates")) if isinstance(d, str) and d})
    listing_days = {dates[0]: "new"} if len(dates) == 1 else listing_runs(dates)
    authors = record.get("authors")
    categories = record.get("categories")
    paper = Paper(
        id=pid,
        title=title,
        abstract=clean_text(_text(record.get("summary"))),
        version=version,
        authors=[a.strip() for a in authors if isinstance(a, str) and a.strip()] if isinstance(authors, list) else [],
        categories=[c for c in categories if isinstance(c, str) and c] if isinstance(categories, list) else [],
        announced=dates[0] if dates else None,
        comments=_line(record.get("comment")),
        listing_days=listing_days,
        source="listings",
    )
    return _links(paper)


def listing_runs(dates: list[str]) -> dict[str, str]:
    """Listing days of the archive's sorted ``listing_dates``: the first run ``"new"``, later runs ``"replace"``.

    The archive's dates are the days its collector ran, not arXiv announcement days: arXiv announces nothing on
    weekends and holidays, and on those days the collector saved the last listing again (the Saturday and Sunday
    files repeat Friday's; 9,431 papers are dated exactly Fri, Sat, Sun). So a run of consecutive days is one
    announcement, dated by its first day; a Sunday also continues a run that ended on the Friday (the collector
    missed some Saturdays). A later run is a paper listed again: the archive does not say why, and
    we call it "replace" — a guess, but the likeliest reason a paper reappears in a new-submissions feed, and
    calling every run "new" would certainly be wrong.
    """
    days: dict[str, str] = {}
    previous: datetime.date | None = None
    for text in dates:
        try:
            day: datetime.date | None = datetime.date.fromisoformat(text)
        except ValueError:
            day = None
        if day is None or previous is None or not _continues(previous, day):
            days[text] = "replace" if days else "new"
        previous = day
    return days


def _continues(previous: datetime.date, day: datetime.date) -> bool:
    gap = (day - previous).days
    # weekday(): Saturday 5, Sunday 6; either may follow Friday directly.
    return gap == 1 or (day.weekday() >= 5 and 0 < gap <= day.weekday() - 4)


def _from_paperfeed(record: dict[str, Any], where: str, lineno: int) -> ParsedItem:
    ident, title = record.get("id"), record.get("title")
    if not isinstance(ident, str) or not ident:
        return Rejection(f"{where}:{lineno}", "record without id")
    if not isinstance(title, str) or not title:
        return Rejection(f"{where}:{lineno}", f"record {ident} without title")
    # The export is already normalised: taken as is, so that export → import is the identity.
    for name in _PAPER_LIST_FIELDS:
        value = record.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return Rejection(f"{where}:{lineno}", f"record {ident}: {name} must be a list of strings")
    for name in _PAPER_DICT_FIELDS:
        if not isinstance(record.get(name, {}), dict):
            return Rejection(f"{where}:{lineno}", f"record {ident}: {name} must be an object")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in record.get("listing_days", {}).items()):
        return Rejection(f"{where}:{lineno}", f"record {ident}: listing_days must map days to listing kinds")
    unknown = sorted(set(record.get("listing_days", {}).values()) - LISTING_KIND_NAMES)
    if unknown:
        return Rejection(
            f"{where}:{lineno}",
            f"record {ident}: unknown listing kind {unknown[0]!r} (known: {', '.join(sorted(LISTING_KIND_NAMES))})",
        )
    if not all(isinstance(v, dict) for v in record.get("sightings", {}).values()):
        return Rejection(f"{where}:{lineno}", f"record {ident}: each of the sightings must be an object")
    for name in (*_PAPER_TEXT_FIELDS, *_PAPER_NULLABLE_TEXT_FIELDS):
        value = record.get(name)
        if (
            name in record
            and not isinstance(value, str)
            and not (value is None and name in _PAPER_NULLABLE_TEXT_FIELDS)
        ):
            return Rejection(f"{where}:{lineno}", f"record {ident}: {name} must be text")
    version = record.get("version")
    if version is not None and type(version) is not int:
        return Rejection(f"{where}:{lineno}", f"record {ident}: version must be an integer")
    return Paper.from_dict(record)


def _from_beir(record: dict[str, Any], where: str, lineno: int) -> ParsedItem:
    """A BEIR corpus document (retrieval test collections): ``_id``, ``title``, ``text``, optional authors."""
    ident = record.get("_id")
    title = one_line(_text(record.get("title"))) or one_line(_text(record.get("text")))[:200]
    if ident is None or str(ident) == "":
        return Rejection(f"{where}:{lineno}", "record without _id")
    if not title:
        return Rejection(f"{where}:{lineno}", f"record {ident}: {EMPTY_DOCUMENT}")
    metadata = record.get("metadata")
    names = metadata.get("authors", []) if isinstance(metadata, dict) else []
    authors = [a for a in names if isinstance(a, str) and a]
    return Paper(
        id=f"{BEIR_ID_PREFIX}{ident}",
        title=title,
        abstract=clean_text(_text(record.get("text"))),
        authors=authors,
        source="beir",
    )


_CONVERTERS: dict[str, Converter] = {
    "paperfeed": _from_paperfeed,
    "kaggle": _from_kaggle,
    "listings": _from_listings,
    "beir": _from_beir,
}
