"""The paper: paperfeed's one data record, its identity rules and how two sightings of it merge.

Every source parser produces ``Paper`` values (or ``Rejection`` values for input it refuses); the store persists
them; everything else reads them. Identity is the arXiv id without version (``2503.01234``, ``hep-th/9901001``);
papers with no arXiv id get a stable id derived from their normalised title, so the same paper seen twice gets the
same id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import operator
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import orjson

# New-style ids (0704.0001 … 2503.01234, 5 digits after the dot since 2015) and old-style (hep-th/9901001,
# math.GT/0309136), with an optional version suffix.
_NEW_ID = r"\d{4}\.\d{4,5}"
_OLD_ID = r"[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7}"
ARXIV_ID_RE = re.compile(rf"^(?P<id>{_NEW_ID}|{_OLD_ID})(?:v(?P<version>\d+))?$")
# An id or URL somewhere in free text (arxiv.org/abs/…, arxiv.org/pdf/….pdf, "arXiv:2503.01234v2").
_ID_IN_TEXT_RE = re.compile(
    rf"(?:arxiv\.org/(?:abs|pdf|html)/|arxiv:\s*|^)(?P<id>{_NEW_ID}|{_OLD_ID})(?:v(?P<version>\d+))?(?:\.pdf)?\b",
    re.IGNORECASE,
)
_URL_RE = re.compile(r"https?://[^\s<>\"'{}|\\^`\]\)]+", re.IGNORECASE)
_CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "huggingface.co", "codeberg.org", "sourceforge.net")
CONTENT_ID_PREFIX = "pf-"


@dataclass(frozen=True)
class ListingKind:
    """One way a paper comes to be listed on a day: its name as ``listing_days`` and the store spell it, and where
    it puts the paper in that day's feed."""

    name: str
    feed_rank: int | None  # among papers with equal votes, lower ranks first; None: not news, left out of the feed
    meaning: str


# The kind of a listing day worked out from the first version's submission time by arXiv's schedule
# (sources/announcements.py) rather than read from a listing: a real listing replaces it.
DERIVED_KIND = "derived"
SUBMITTED_KIND = "submitted"
# Every listing kind, written once: the store builds the feed's filter and order from this table, so a new source
# that lists papers adds its kind here and nowhere else. A member's submission comes first (someone chose it), then
# first announcements, then papers that were only cross-listed or seen on a saved page.
LISTING_KINDS: tuple[ListingKind, ...] = (
    ListingKind(SUBMITTED_KIND, 0, "submitted by a member of this site"),
    ListingKind("new", 1, "a new submission in an arXiv listing"),
    ListingKind(DERIVED_KIND, 1, "announced on this day by arXiv's schedule (no listing seen)"),
    ListingKind("hf-daily", 1, "posted to Hugging Face Daily Papers"),
    ListingKind("cross", 2, "cross-listed from another category in an arXiv listing"),
    ListingKind("seed", 2, "listed on a saved Daily Papers page"),
    ListingKind("replace", None, "a new version in an arXiv listing"),
    ListingKind("replace-cross", None, "a new version of a cross-listed paper in an arXiv listing"),
)
FEED_KINDS: tuple[str, ...] = tuple(k.name for k in LISTING_KINDS if k.feed_rank is not None)
LISTING_KIND_NAMES = frozenset(k.name for k in LISTING_KINDS)
# Listing kinds that say when a paper was announced, and so make a derived day redundant.
ANNOUNCED_KINDS = frozenset({"new", "cross"})


@dataclass
class Paper:
    """One paper as a source saw it. ``id`` is the versionless arXiv id or a content id (``pf-…``).

    Dates are ISO strings (``YYYY-MM-DD``); ``listing_days`` are the announcement days the paper appeared on
    (with the kind of listing: new / cross / replace / replace-cross / hf-daily / seed, or ``derived`` when worked
    out from the submission time by arXiv's schedule); ``source`` names where
    this sighting came from and ``signals`` carries that source's external signals (e.g. Hugging Face upvotes).
    """

    id: str
    title: str
    abstract: str = ""
    version: int | None = None
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    submitted: str | None = None
    updated: str | None = None
    announced: str | None = None
    comments: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    license: str | None = None
    code_urls: list[str] = field(default_factory=list)
    project_urls: list[str] = field(default_factory=list)
    listing_days: dict[str, str] = field(default_factory=dict)
    source: str = "unknown"
    signals: dict[str, Any] = field(default_factory=dict)
    # Only paperfeed's own export carries this: every source the paper was seen in, with first/last seen times
    # and that source's signals, so that an export re-imports losslessly.
    sightings: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def is_arxiv(self) -> bool:
        return not self.id.startswith(CONTENT_ID_PREFIX)

    @property
    def abs_url(self) -> str | None:
        return f"https://arxiv.org/abs/{self.id}" if self.is_arxiv else None

    @property
    def pdf_url(self) -> str | None:
        return f"https://arxiv.org/pdf/{self.id}" if self.is_arxiv else None

    @property
    def primary_category(self) -> str | None:
        return self.categories[0] if self.categories else None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Paper:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Rejection:
    """Input a parser refused: ``where`` is ``file:line`` or a record id, ``reason`` says why."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


ParsedItem = Paper | Rejection


def split_arxiv_id(raw: str) -> tuple[str, int | None] | None:
    """``'2503.01234v2'`` → ``('2503.01234', 2)``; also accepts ``arXiv:`` prefixes and abs/pdf URLs.

    Returns None when the text holds no arXiv id.
    """
    text = raw.strip()
    m = ARXIV_ID_RE.match(text)
    if m is None:
        m = _ID_IN_TEXT_RE.search(text)
        if m is None:
            return None
    version = m.group("version")
    return m.group("id"), int(version) if version else None


def canonical_id(text: str) -> str:
    """The id a paper is stored under, for an id as people write it: ``2606.13008v1`` and ``arXiv:2606.13008`` →
    ``2606.13008``; anything that is not a whole arXiv id (a content id, a typo) is returned unchanged."""
    stripped = text.strip()
    bare = stripped[len("arxiv:") :].lstrip() if stripped.lower().startswith("arxiv:") else stripped
    found = ARXIV_ID_RE.match(bare)
    return found.group("id") if found else text


def content_id(title: str) -> str:
    """A stable id for a paper with no arXiv id: a hash of its normalised title."""
    digest = hashlib.sha1(normalise_title(title).encode("utf-8")).hexdigest()
    return CONTENT_ID_PREFIX + digest[:12]


def normalise_title(title: str) -> str:
    folded = unicodedata.normalize("NFKC", title).casefold()
    return " ".join(re.sub(r"[^\w]+", " ", folded).split())


def clean_text(text: str | None) -> str:
    """Collapse arXiv's hard-wrapped lines and indentation into single spaces, keeping paragraph breaks.

    Most arXiv abstracts are ASCII with nothing but hard-wrap newlines to fix: those take a shortcut that gives the
    same result ten times faster (this is on the ingest hot path). The chain of ``in`` tests is deliberate: a loop
    over the patterns costs more than the scans themselves.
    """
    if (
        text
        and text.isascii()
        and text[0] not in " \n"
        and text[-1] not in " \n"
        and "  " not in text
        and "\n " not in text
        and " \n" not in text
        and "\n\n" not in text
        and "\t" not in text
        and "\r" not in text
        and "\x0b" not in text
        and "\x0c" not in text
        and "\x1c" not in text
        and "\x1d" not in text
        and "\x1e" not in text
        and "\x1f" not in text
    ):
        return text.replace("\n", " ")
    return _clean_text_general(text)


def _clean_text_general(text: str | None) -> str:
    if not text:
        return ""
    paragraphs = re.split(r"\n\s*\n|\n(?=\s{2,}\S)", text.strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def one_line(text: str | None) -> str:
    """Titles, comments, names: all whitespace (arXiv's indented continuation lines too) becomes single spaces."""
    return " ".join(text.split()) if text else ""


def split_authors(text: str) -> list[str]:
    """arXiv author strings: ``'A. One, B. Two and C. Three'`` → names. Keeps ``'Jr.'`` suffixes attached."""
    text = " ".join(text.replace("\n", " ").split())
    if not text:
        return []
    parts = re.split(r",\s*(?:and\s+)?|\s+and\s+", text)
    names: list[str] = []
    for part in parts:
        part = part.strip()
        if not part:
            continue
        if names and re.fullmatch(r"(?:Jr|Sr|II|III|IV)\.?", part):
            names[-1] = f"{names[-1]}, {part}"
        else:
            names.append(part)
    return names


def find_links(*texts: str | None) -> tuple[list[str], list[str]]:
    """Code and project URLs mentioned in an abstract or comments: ``(code_urls, project_urls)``.

    Code means a repository host (GitHub, GitLab, Hugging Face, …); any other http(s) URL except arXiv's own and
    DOI resolvers counts as a project page.
    """
    code: list[str] = []
    project: list[str] = []
    for text in texts:
        if not text:
            continue
        for raw in _URL_RE.findall(text):
            url = raw.rstrip(".,;:")
            host = url.split("/")[2].lower() if url.count("/") >= 2 else ""
            host = host.removeprefix("www.")
            if host.endswith("arxiv.org") or host.endswith("doi.org"):
                continue
            target = code if any(host == h or host.endswith("." + h) for h in _CODE_HOSTS) else project
            if url not in target:
                target.append(url)
    return code, project


def is_web_url(url: object) -> bool:
    """An absolute http(s) URL with a host: the only links paperfeed makes live (``javascript:``, ``data:`` and
    relative URLs from a source never become links)."""
    if not isinstance(url, str) or len(url) > MAX_URL or any(c <= " " or c in '<>"' for c in url):
        return False
    scheme, sep, rest = url.partition("://")
    return bool(sep) and scheme.lower() in ("http", "https") and bool(rest.split("/", 1)[0].strip(".@:"))


def with_links(paper: Paper) -> Paper:
    """Fill ``code_urls`` / ``project_urls`` from the abstract and comments, keeping any the source gave."""
    code, project = find_links(paper.abstract, paper.comments)
    paper.code_urls = list(dict.fromkeys([*paper.code_urls, *code]))
    paper.project_urls = list(dict.fromkeys([*paper.project_urls, *project]))
    return paper


# -- what a record may hold ----------------------------------------------------------------------------------------
# Generous bounds (10x and more the largest real arXiv values: abstracts stop at 1,920 characters today, titles at a
# few hundred, author lists at ~3,000 names) that keep a hostile record from filling the store, the indexes and every
# page it appears on. docs/security.md lists them.
MAX_TEXT = {"title": 2_000, "abstract": 20_000, "comments": 10_000, "journal_ref": 2_000, "doi": 500, "license": 500}
MAX_ID = 100
MAX_AUTHORS, MAX_AUTHOR = 10_000, 1_000
MAX_CATEGORIES, MAX_CATEGORY = 100, 2_000  # arXiv puts MSC and ACM classes here: up to 153 characters today
MAX_LINKS, MAX_URL = 100, 2_000
MAX_LISTING_DAYS = 10_000
MAX_RECORD = 16 * 2**20  # the whole record as JSON (bounds signals and sightings, which have no field limits)
MAX_WALK = 100_000  # values looked at when naming the field of unstorable text


def record_problem(paper: Paper) -> str | None:
    """Why the store must not take this record, or None: a field over its limit, or text that is not storable
    (a NUL byte, which PostgreSQL refuses in text and jsonb alike; an unpaired surrogate, which is not Unicode).

    This runs on every parsed record, so the common case is one expression and one serialisation in C; only a record
    that fails takes the slow path that names the field.
    """
    p = paper
    if (
        len(p.id) > MAX_ID
        or len(p.title) > MAX_TEXT["title"]
        or len(p.abstract) > MAX_TEXT["abstract"]
        or (p.comments is not None and len(p.comments) > MAX_TEXT["comments"])
        or (p.journal_ref is not None and len(p.journal_ref) > MAX_TEXT["journal_ref"])
        or (p.doi is not None and len(p.doi) > MAX_TEXT["doi"])
        or (p.license is not None and len(p.license) > MAX_TEXT["license"])
        or len(p.authors) > MAX_AUTHORS
        or (p.authors and max(map(len, p.authors)) > MAX_AUTHOR)
        or len(p.categories) > MAX_CATEGORIES
        or (p.categories and max(map(len, p.categories)) > MAX_CATEGORY)
        or len(p.code_urls) > MAX_LINKS
        or len(p.project_urls) > MAX_LINKS
        or (p.code_urls and max(map(len, p.code_urls)) > MAX_URL)
        or (p.project_urls and max(map(len, p.project_urls)) > MAX_URL)
        or len(p.listing_days) > MAX_LISTING_DAYS
    ):
        return _over_limit(p)
    # orjson refuses surrogates and writes NUL as \u0000 (a false alarm on a literal "\\u0000" costs a slow walk).
    try:
        blob = orjson.dumps(p)
    except TypeError:
        return _unstorable(p) or "not storable (values of unknown types, or nested too deeply)"
    if len(blob) > MAX_RECORD:
        return f"larger than {MAX_RECORD // 2**20} MB"
    return _unstorable(p) if b"\\u0000" in blob else None


def _over_limit(paper: Paper) -> str:
    if len(paper.id) > MAX_ID:
        return f"id longer than {MAX_ID} characters"
    for name, limit in MAX_TEXT.items():
        value = getattr(paper, name)
        if value is not None and len(value) > limit:
            return f"{name} longer than {limit:,} characters"
    for name, count, each in (
        ("authors", MAX_AUTHORS, MAX_AUTHOR),
        ("categories", MAX_CATEGORIES, MAX_CATEGORY),
        ("code_urls", MAX_LINKS, MAX_URL),
        ("project_urls", MAX_LINKS, MAX_URL),
    ):
        values: list[str] = getattr(paper, name)
        if len(values) > count:
            return f"more than {count:,} {name}"
        if values and max(map(len, values)) > each:
            return f"one of the {name} is longer than {each:,} characters"
    return f"more than {MAX_LISTING_DAYS:,} listing days"


def _unstorable(paper: Paper) -> str | None:
    for name, text in _strings(paper):
        if "\x00" in text:
            return f"{name} holds a NUL character"
        if not text.isascii() and not _encodes(text):
            return f"{name} is not valid Unicode (an unpaired surrogate)"
    return None


def checked(item: ParsedItem, where: str) -> ParsedItem:
    """A parsed item ready for the store: a ``Rejection`` at ``where`` when it breaks a limit, else the paper with
    any link that is not an http(s) URL dropped."""
    if isinstance(item, Rejection):
        return item
    problem = record_problem(item)
    if problem is not None:
        return Rejection(where, f"record {item.id[:MAX_ID]}: {problem}")
    if not all(map(is_web_url, item.code_urls)) or not all(map(is_web_url, item.project_urls)):
        item.code_urls = [u for u in item.code_urls if is_web_url(u)]
        item.project_urls = [u for u in item.project_urls if is_web_url(u)]
    return item


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _strings(paper: Paper) -> list[tuple[str, str]]:
    """The record's strings with the field each is in (signals and sightings: the first MAX_WALK values)."""
    found: list[tuple[str, str]] = [("id", paper.id), ("source", paper.source)]
    for name in ("submitted", "updated", "announced", *MAX_TEXT):
        value = getattr(paper, name)
        if isinstance(value, str):
            found.append((name, value))
    for name in ("authors", "categories", "code_urls", "project_urls"):
        found.extend((name, v) for v in getattr(paper, name) if isinstance(v, str))
    found.extend(("listing_days", f"{k}{v}") for k, v in paper.listing_days.items())
    pending: list[tuple[str, Any]] = [("signals", paper.signals), ("sightings", paper.sightings)]
    seen = 0
    while pending:
        name, value = pending.pop()
        seen += 1
        if seen > MAX_WALK:
            break
        if isinstance(value, str):
            found.append((name, value))
        elif isinstance(value, dict):
            pending.extend((name, k) for k in value)
            pending.extend((name, v) for v in value.values())
        elif isinstance(value, list | tuple):
            pending.extend((name, v) for v in value)
    return found


CONTENT_FIELDS = (
    "title",
    "abstract",
    "version",
    "authors",
    "categories",
    "submitted",
    "updated",
    "announced",
    "comments",
    "journal_ref",
    "doi",
    "license",
    "code_urls",
    "project_urls",
    "listing_days",
)


_content_fields = operator.attrgetter(*CONTENT_FIELDS)


def content_hash(paper: Paper) -> str:
    """A digest of what the paper says (not where it was seen): equal hashes mean an upsert changes nothing.

    The fields go through one orjson serialisation (dict keys sorted), which is C; hashing them one ``repr`` at a
    time was a tenth of ingest. The store compares an incoming paper's digest with the one it stored to skip
    unchanged papers without reading them; changing how it is made is safe all the same (every stored paper then
    takes the slower path of being read and merged, which finds it unchanged too)."""
    values = _content_fields(paper)
    try:
        blob = orjson.dumps(values, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # text orjson refuses (an unpaired surrogate): the store refuses such records anyway
        blob = repr(values).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(blob, digest_size=16).hexdigest()


def _is_newer(new: Paper, old: Paper) -> bool:
    if new.version is not None and (old.version is None or new.version > old.version):
        return True
    if new.version == old.version and new.updated and old.updated:
        return new.updated > old.updated
    return False


def merge_listing_days(old: dict[str, str], new: dict[str, str]) -> dict[str, str]:
    """The union of two sightings' listing days (the stored kind wins on a day both have), except that a derived
    day gives way to a real announcement: it is dropped once a ``new`` or ``cross`` listing is known, and only the
    earliest derived day is kept."""
    days = {**new, **old}
    for day, kind in new.items():
        if days[day] == DERIVED_KIND and kind != DERIVED_KIND:
            days[day] = kind
    derived = sorted(day for day, kind in days.items() if kind == DERIVED_KIND)
    if not derived:
        return days
    announced = any(kind in ANNOUNCED_KINDS for kind in days.values())
    drop = set(derived) if announced else set(derived[1:])
    return {day: kind for day, kind in days.items() if day not in drop}


def merge(old: Paper | None, new: Paper) -> Paper:
    """The paper after a new sighting: a newer version replaces what it says, any sighting fills gaps.

    When ``new`` is a newer version (higher version number, or a later ``updated`` at the same version) its
    non-empty fields win; otherwise the stored values stay and ``new`` only fills what is missing. Listing days and
    links are unions, so a paper seen through several sources accumulates what each one knows (a derived listing
    day gives way to a real one: ``merge_listing_days``).
    """
    if old is None:
        # A shallow copy, as dataclasses.replace(new) made (Paper has no __post_init__), at a tenth of its cost:
        # ingest copies every new paper.
        fresh = object.__new__(Paper)
        fresh.__dict__.update(new.__dict__)
        return fresh
    newer = _is_newer(new, old)
    first, second = (new, old) if newer else (old, new)
    merged = Paper(id=old.id, title=first.title or second.title, source=new.source, signals=new.signals)
    for name in ("abstract", "submitted", "updated", "announced", "comments", "journal_ref", "doi", "license"):
        setattr(merged, name, getattr(first, name) or getattr(second, name))
    merged.version = max((v for v in (old.version, new.version) if v is not None), default=None)
    merged.authors = first.authors or second.authors
    merged.categories = first.categories or second.categories
    merged.code_urls = list(dict.fromkeys([*old.code_urls, *new.code_urls]))
    merged.project_urls = list(dict.fromkeys([*old.project_urls, *new.project_urls]))
    merged.listing_days = merge_listing_days(old.listing_days, new.listing_days)
    # The earliest announcement is the announcement; later listings are replacements or cross-lists.
    days = sorted(d for d in (old.announced, new.announced) if d)
    merged.announced = days[0] if days else None
    merged.sightings = old.sightings
    return merged
