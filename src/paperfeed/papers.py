"""The paper: paperfeed's one data record, its identity rules and how two sightings of it merge.

Every source parser produces ``Paper`` values (or ``Rejection`` values for input it refuses); the store persists
them; everything else reads them. Identity is the arXiv id without version (``2503.01234``, ``hep-th/9901001``);
papers with no arXiv id get a stable id derived from their normalised title, so the same paper seen twice gets the
same id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

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


@dataclass
class Paper:
    """One paper as a source saw it. ``id`` is the versionless arXiv id or a content id (``pf-…``).

    Dates are ISO strings (``YYYY-MM-DD``); ``listing_days`` are the announcement days the paper appeared on
    (with the kind of listing: new / cross / replace / replace-cross / hf-daily / seed); ``source`` names where
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


def with_links(paper: Paper) -> Paper:
    """Fill ``code_urls`` / ``project_urls`` from the abstract and comments, keeping any the source gave."""
    code, project = find_links(paper.abstract, paper.comments)
    paper.code_urls = list(dict.fromkeys([*paper.code_urls, *code]))
    paper.project_urls = list(dict.fromkeys([*paper.project_urls, *project]))
    return paper


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


def content_hash(paper: Paper) -> str:
    """A digest of what the paper says (not where it was seen): equal hashes mean an upsert changes nothing."""
    h = hashlib.blake2b(digest_size=16)
    for name in CONTENT_FIELDS:
        value = getattr(paper, name)
        if isinstance(value, dict):
            value = sorted(value.items())
        h.update(repr(value).encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()


def _is_newer(new: Paper, old: Paper) -> bool:
    if new.version is not None and (old.version is None or new.version > old.version):
        return True
    if new.version == old.version and new.updated and old.updated:
        return new.updated > old.updated
    return False


def merge(old: Paper | None, new: Paper) -> Paper:
    """The paper after a new sighting: a newer version replaces what it says, any sighting fills gaps.

    When ``new`` is a newer version (higher version number, or a later ``updated`` at the same version) its
    non-empty fields win; otherwise the stored values stay and ``new`` only fills what is missing. Listing days and
    links are unions, so a paper seen through several sources accumulates what each one knows.
    """
    if old is None:
        return dataclasses.replace(new)
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
    merged.listing_days = {**new.listing_days, **old.listing_days}
    # The earliest announcement is the announcement; later listings are replacements or cross-lists.
    days = sorted(d for d in (old.announced, new.announced) if d)
    merged.announced = days[0] if days else None
    merged.sightings = old.sightings
    return merged
